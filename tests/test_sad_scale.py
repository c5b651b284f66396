"""SAD at scale (issue 13): the HDF5 SAD file, shards joined in VCF order, rejects, chromosome names, N alleles,
duplicates. Expected values come from the VCF text written here and from plain h5py/pandas reads of the files."""

from __future__ import annotations

import gzip

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from basset.errors import InputError
from basset.sadfile import STATUSES, read_sad, write_sad_tsv
from basset.sequence import one_hot
from basset.stages.variants import gather_sad, score_variants
from basset.vcf import RecordDeduper

TARGETS = ["t0", "t1", "t2", "t3"]
L = 12


class Centre(nn.Module):
    """Logits from the 4 bases around the window centre (position-dependent: a window centred one base off
    scores differently), 4 targets."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.w = nn.Parameter(torch.randn(len(TARGETS), 4, 4, generator=g))

    def forward(self, x):
        c = x.shape[-1] // 2
        return torch.einsum("bkl,tkl->bt", x[:, :, c - 2 : c + 2], self.w)


def _genome(path, names=("chr1", "chr2")):
    rng = np.random.default_rng(5)
    seqs = {n: "".join(rng.choice(list("ACGT"), 300)) for n in names}
    path.write_text("".join(f">{n}\n{s}\n" for n, s in seqs.items()))
    return path, seqs


def _records(seqs, chrom_out=lambda c: c):
    """VCF lines of every kind, in file order: (line text)."""
    s1, s2 = seqs["chr1"], seqs["chr2"]
    other = {b: next(x for x in "ACGT" if x != b) for b in "ACGT"}
    third = {b: next(x for x in "ACGT" if x not in (b, other[b])) for b in "ACGT"}
    recs = []
    for i, pos in enumerate(range(20, 280, 9)):  # SNVs on both chromosomes
        for chrom, s in (("chr1", s1), ("chr2", s2)):
            ref = s[pos - 1]
            recs.append((chrom_out(chrom), pos, f"rs{chrom[-1]}_{i}", ref, other[ref]))
    ref = s1[49]
    recs += [
        (chrom_out("chr1"), 50, "swap", other[ref], ref),                    # genome shows ALT: swapped
        (chrom_out("chr1"), 50, "mismatch", third[ref], other[ref]),         # neither allele
        (chrom_out("chr1"), 50, "multi", ref, f"{other[ref]},{third[ref]}"),  # two rows; the first repeats 'dup0'
        (chrom_out("chr1"), 51, "refN", "N", "A"),                           # N alleles: skipped, never swapped
        (chrom_out("chr1"), 52, "altN", s1[51], "N"),
        ("chrUn", 5, "unknown", "A", "C"),
        (chrom_out("chr2"), 299, "outside", s2[298:300] + "A", "A"),         # REF runs past the end
        (chrom_out("chr1"), 60, "del", s1[59:63], s1[59]),                   # indels, centred
        (chrom_out("chr1"), 70, "ins", s1[69], s1[69] + "GT"),
        (chrom_out("chr1"), 80, "bad", "A", "X"),                            # malformed: bad ALT
        (chrom_out("chr1"), "abc", "badpos", "A", "C"),                      # malformed: POS
        (chrom_out("chr1"), 90, "sym", s1[89], "<DEL>"),                     # symbolic: skipped
    ]
    # a record repeating the first SNV (same chrom, pos, ref, alt), far away in the file: another chunk/shard
    recs.insert(3, (chrom_out("chr1"), 50, "dup0", ref, other[ref]))
    recs.append(recs[0][:2] + ("dup_first",) + recs[0][3:])
    return recs


def _vcf(path, recs, gz=False):
    text = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + "".join(
        f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\t.\n" for c, p, i, r, a in recs)
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture()
def data(tmp_path):
    fa, seqs = _genome(tmp_path / "g.fa")
    recs = _records(seqs)
    return fa, seqs, recs, _vcf(tmp_path / "v.vcf", recs)


def _score(fa, vcf, folder, **kw):
    folder.mkdir(exist_ok=True)
    out = {"out_path": folder / "sad.h5", "table": folder / "sad.tsv.gz", "rejects": folder / "sad.rejects.tsv.gz"}
    summary = score_variants(Centre(), fa, vcf, target_names=TARGETS, seq_len=L, batch_size=5, **out, **kw)
    return summary, out


def _h5(path) -> dict:
    """Every dataset and attribute of an HDF5 file, read with plain h5py."""
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        out["attrs"] = {k: v for k, v in f.attrs.items()}
    return out


def test_sad_file_layout_with_plain_h5py(data, tmp_path):
    """The layout the docs promise: one row per split record read (not the malformed or symbolic ones), in VCF
    order, with its status; the SAD matrix chunked, shuffled and deflated float16, NaN where not scored."""
    fa, seqs, recs, vcf = data
    summary, out = _score(fa, vcf, tmp_path / "a", chunk_size=7)
    with h5py.File(out["out_path"]) as f:
        assert f["sad"].dtype == np.float16 and f["sad"].compression == "gzip" and f["sad"].shuffle
        assert f["sad"].chunks[1] == len(TARGETS)
        assert f.attrs["format"] == "basset-sad" and f.attrs["targets"] == 4 and f.attrs["seq_len"] == L
        assert [t.decode() for t in f["target_names"][()]] == TARGETS
        status_names = h5py.check_enum_dtype(f["variants/status"].dtype)
        assert status_names == {s: i for i, s in enumerate(STATUSES)}
        status = np.array(STATUSES)[f["variants/status"][()]]
        ids = f["variants/id"].asstr()[()]
        lines = f["variants/line"][()]
        sad = f["sad"][()]
    # expected rows from the VCF text: every record but the malformed (bad, badpos) and symbolic (sym) ones,
    # the multi-allelic record twice
    want_ids = []
    for c, p, i, r, a in recs:
        if i in ("bad", "badpos", "sym"):
            continue
        want_ids += [i] * len(a.split(","))
    assert ids.tolist() == want_ids
    assert (np.diff(lines) >= 0).all() and lines[0] == 3  # VCF order, 1-based lines after 2 header lines
    by_id = dict(zip(ids, status))
    assert by_id["swap"] == "swapped" and by_id["mismatch"] == "ref_mismatch" and by_id["unknown"] == "unknown_chrom"
    assert by_id["refN"] == by_id["altN"] == "n_allele" and by_id["outside"] == "outside_chrom"
    assert by_id["dup_first"] == "duplicate" and by_id["del"] == by_id["ins"] == "ok"
    multi = status[ids == "multi"].tolist()
    assert multi == ["duplicate", "ok"]  # its first ALT repeats dup0 (same chrom, pos, ref, alt)
    scored = np.isin(status, ["ok", "swapped"])
    assert np.isnan(sad[~scored]).all() and not np.isnan(sad[scored]).any()
    assert summary["scored"] == int(scored.sum()) and summary["duplicate_skipped"] == 2
    assert summary["n_allele_skipped"] == 2 and summary["malformed_rejected"] == 2 and summary["symbolic_skipped"] == 1


def test_hdf5_reads_back_as_the_tsvs_to_float16_precision(data, tmp_path):
    """read_sad of the HDF5 file, of the summary TSV and of the per-target TSV give the same rows; the SAD to
    3 significant digits (float16), the summaries to 6."""
    fa, _, _, vcf = data
    _, out = _score(fa, vcf, tmp_path / "a")
    h5 = read_sad(out["out_path"])
    table = read_sad(out["table"])
    write_sad_tsv(out["out_path"], tmp_path / "targets.tsv")
    targets = read_sad(tmp_path / "targets.tsv")
    assert len(h5) == len(table) == len(targets) > 50
    for col in ("chrom", "pos", "id", "ref", "alt", "swapped", "top_target"):
        assert h5[col].tolist() == table[col].tolist() == targets[col].tolist(), col
    np.testing.assert_allclose(table["mean_sad"], h5["mean_sad"], rtol=1e-5, atol=1e-9)
    _score(fa, vcf, tmp_path / "b", dtype="float32")
    full = read_sad(tmp_path / "b" / "sad.h5")
    np.testing.assert_allclose(targets[TARGETS].to_numpy(), full[TARGETS].to_numpy(), rtol=2.0**-11, atol=1e-7)
    assert targets.attrs["target_names"] == TARGETS


def test_sharded_scoring_equals_unsharded(data, tmp_path):
    """Scoring in 3 shards (chunks of 5 records in turn) and gathering gives the same SAD file, summary TSV,
    rejects and counts as one job, with a duplicate whose first record sits in another shard and malformed
    records in several shards."""
    fa, _, _, vcf = data
    whole, out = _score(fa, vcf, tmp_path / "whole", chunk_size=5)
    parts = [_score(fa, vcf, tmp_path / f"s{k}", chunk_size=5, shard=(k, 3)) for k in range(3)]
    assert sum(p[0]["scored"] for p in parts) == whole["scored"]
    from basset.tables import write_summary

    for k, (summary, _) in enumerate(parts):
        write_summary(tmp_path / f"s{k}" / "summary.tsv", summary)
    gathered = {"sad": tmp_path / "g" / "sad.h5", "table": tmp_path / "g" / "sad.tsv.gz",
                "rejects": tmp_path / "g" / "sad.rejects.tsv.gz", "summary": tmp_path / "g" / "summary.tsv"}
    total = gather_sad([p[1]["out_path"] for p in reversed(parts)], rejects=[p[1]["rejects"] for p in parts],
                       summary=[tmp_path / f"s{k}" / "summary.tsv" for k in range(3)], fasta=str(fa), out=gathered)
    a, b = _h5(out["out_path"]), _h5(gathered["sad"])
    assert sorted(a) == sorted(b)
    for key in a:
        if key == "attrs":
            continue
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert {k: v for k, v in a["attrs"].items() if k != "shard"} == {k: v for k, v in b["attrs"].items() if k != "shard"}
    assert gzip.open(out["table"]).read() == gzip.open(gathered["table"]).read()
    assert gzip.open(out["rejects"]).read() == gzip.open(gathered["rejects"]).read()
    for key in ("variants_read", "scored", "duplicate_skipped", "malformed_rejected", "swapped", "n_allele_skipped"):
        assert total[key] == whole[key], key


def test_rejects_name_file_line_id_and_reason(data, tmp_path):
    """Malformed and skipped records are listed with the VCF, the 1-based line, the ID and why, in line order;
    strict makes the first malformed one fatal."""
    fa, _, recs, vcf = data
    _, out = _score(fa, vcf, tmp_path / "a")
    rej = pd.read_csv(out["rejects"], sep="\t", dtype=str, keep_default_na=False)
    assert list(rej.columns) == ["file", "line", "id", "chrom", "pos", "ref", "alt", "reason"]
    assert (rej["file"] == str(vcf)).all() and rej["line"].astype(int).is_monotonic_increasing
    line_of = {r[2]: n + 3 for n, r in enumerate(recs)}
    by_id = {i: row for i, row in zip(rej["id"], rej.itertuples())}
    assert by_id["bad"].reason == "expected ALT alleles of A, C, G, T, N (or a symbolic allele), got 'X'"
    assert by_id["badpos"].reason == "expected an integer POS, got 'abc'" and by_id["badpos"].pos == "abc"
    assert by_id["sym"].reason.startswith("symbolic")
    for i in ("bad", "badpos", "sym", "mismatch", "unknown", "outside", "refN", "altN", "dup_first"):
        assert int(by_id[i].line) == line_of[i], i
    assert "N" in by_id["refN"].reason and "duplicate" not in by_id["refN"].reason
    assert by_id["dup_first"].reason.startswith("repeats an earlier record")
    with pytest.raises(InputError, match=rf"v.vcf:{line_of['bad']}: expected ALT alleles"):
        _score(fa, vcf, tmp_path / "strict", strict=True)
    assert not (tmp_path / "strict" / "sad.h5").exists()


def test_chr_less_vcf_scores_every_variant_after_mapping(tmp_path, caplog):
    """A VCF naming 1, 2 against a genome of chr1, chr2 scores exactly what the chr-named VCF scores, and the
    mapping is logged; M is matched to chrM."""
    fa, seqs = _genome(tmp_path / "g.fa", names=("chr1", "chr2", "chrM"))
    named = _score(fa, _vcf(tmp_path / "named.vcf", _records(seqs)), tmp_path / "a")[0]
    recs = _records(seqs, chrom_out=lambda c: c.removeprefix("chr")) + [("M", 10, "mito", seqs["chrM"][9], "N")]
    with caplog.at_level("INFO"):
        bare, out = _score(fa, _vcf(tmp_path / "bare.vcf.gz", recs, gz=True), tmp_path / "b")
    assert bare["scored"] == named["scored"] > 50 and bare["unknown_chrom_skipped"] == 1  # chrUn only
    assert bare["chroms_mapped"] == "1->chr1,2->chr2,M->chrM"
    assert "mapped onto the genome's: 1->chr1, 2->chr2, M->chrM" in caplog.text
    table = read_sad(out["out_path"])
    assert set(table["chrom"]) == {"1", "2"}  # the VCF's own names are kept


def test_a_vcf_matching_no_chromosome_fails_with_names_from_both(tmp_path):
    fa, seqs = _genome(tmp_path / "g.fa")
    vcf = _vcf(tmp_path / "v.vcf", [("scaffold_1", 10, "a", "A", "C"), ("scaffold_2", 10, "b", "A", "C")])
    with pytest.raises(InputError, match=r"v.vcf: no variant is on a chromosome of the genome .*g.fa: the VCF names "
                                         r"scaffold_1, scaffold_2; the genome has chr1, chr2"):
        _score(fa, vcf, tmp_path / "a")
    assert not any((tmp_path / "a").iterdir())


def test_ref_n_is_skipped_not_swapped(tmp_path):
    """REF N where the genome shows the ALT base would be 'swapped' by the allele check; it is skipped instead."""
    fa, seqs = _genome(tmp_path / "g.fa")
    here, nxt = seqs["chr1"][99], seqs["chr1"][100]
    vcf = _vcf(tmp_path / "v.vcf", [("chr1", 100, "refN", "N", here),
                                    ("chr1", 101, "ok", nxt, "A" if nxt != "A" else "C")])
    summary, out = _score(fa, vcf, tmp_path / "a")
    assert summary["n_allele_skipped"] == 1 and summary["swapped"] == 0 and summary["scored"] == 1
    assert read_sad(out["out_path"])["id"].tolist() == ["ok"]


def test_one_hot_reverse_complement_is_the_flipped_one_hot():
    codes = np.random.default_rng(0).integers(0, 5, (6, 9)).astype(np.uint8)
    t = torch.from_numpy(codes)
    np.testing.assert_array_equal(one_hot(t, reverse_complement=True).numpy(), one_hot(t).flip(dims=(1, 2)).numpy())
    np.testing.assert_array_equal(one_hot(codes, reverse_complement=True), one_hot(codes)[:, ::-1, ::-1])
    assert one_hot(t, dtype=torch.bfloat16).dtype == torch.bfloat16


def test_record_deduper_against_a_python_set():
    """Across chunks of uneven size (several levels merged), a row is a duplicate exactly when the same
    (chrom, pos, ref, alt) came earlier, by a Python set."""
    rng = np.random.default_rng(1)
    dedup, seen = RecordDeduper(), set()
    for size in [1, 5, 2, 40, 3, 3, 100, 7, 250, 1]:
        df = pd.DataFrame({"chrom": rng.choice(["1", "2"], size), "pos": rng.integers(1, 30, size),
                           "ref": rng.choice(list("AC"), size), "alt": rng.choice(list("GT"), size)})
        got = dedup(df)
        want = []
        for key in zip(df["chrom"], df["pos"], df["ref"], df["alt"]):
            want.append(key in seen)
            seen.add(key)
        assert got.tolist() == want
    assert len(dedup.levels) < 10


def test_bf16_scoring_moves_the_sad_a_little(data, tmp_path):
    """bfloat16 autocast (an option meant for CUDA; autocast runs on the CPU too) changes the SAD by about
    bfloat16's precision, no more: the same rows, values within 2e-2 of float32, not all identical."""
    fa, _, _, vcf = data

    class Conv(nn.Module):  # a layer that autocast really runs in bfloat16
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = nn.Conv1d(4, 8, 5)
            self.lin = nn.Linear(8, len(TARGETS))

        def forward(self, x):
            return self.lin(torch.relu(self.conv(x)).amax(dim=-1))

    def run(folder, bf16):
        score_variants(Conv(), fa, vcf, folder / "sad.h5", TARGETS, seq_len=L, bf16=bf16, dtype="float32")
        return read_sad(folder / "sad.h5")

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    full, half = run(tmp_path / "a", False), run(tmp_path / "b", True)
    assert full["id"].tolist() == half["id"].tolist()
    diff = np.abs(full[TARGETS].to_numpy() - half[TARGETS].to_numpy())
    assert 0 < diff.max() < 2e-2
    with h5py.File(tmp_path / "b" / "sad.h5") as f:
        assert bool(f.attrs["bf16"]) is True

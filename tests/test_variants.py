"""VCF reading and variant windows (basset.vcf), SAD scoring (basset.sad, basset.stages.variants), PICS tables,
allele selection and enrichment (basset.pics), and the stage functions of the variants rules."""

import gzip
import http.server
import json
import re
import warnings
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SHARED_REFERENCE, loopback_server, run_script
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import basset.vcf
from basset.cli import main as cli_main
from basset.download import DownloadError
from basset.errors import ConfigError, InputError
from basset.models import build_model, load_model, save_model
from basset.pics import (
    CODING_ANNOTATIONS,
    enrichment,
    fraction_ratio,
    join_pics,
    read_pics,
    sad_scores,
    select_vcf_records,
    top_snp,
)
from basset.sad import (
    SAD_COLUMNS,
    check_target_names,
    input_length,
    predict_codes_pair,
    score_windows,
    weight_vector,
)
from basset.sadfile import (
    STATUSES,
    SUMMARY_COLUMNS,
    _tsv_rows,
    merge_sad_files,
    sad_target_columns,
    summaries,
    write_sad_tsv,
)
from basset.sequence import (
    ChromosomeMatcher,
    Genome,
    decode,
    encode,
    one_hot,
    reverse_complement,
)
from basset.stages.variants import gather_sad, read_sad, score_variants
from basset.vcf import RecordDeduper, iter_vcf, read_vcf, variant_sequences

MOTIF = "GATTACA"
L = 21  # window of the motif model
TARGETS = ["up", "down", "flat"]
FARH_EXCERPT = SHARED_REFERENCE / "pics_farh2015_excerpt.tsv"


class MotifModel(nn.Module):
    """Logit of target ``up`` rises with the best match to GATTACA (either strand) anywhere in the window;
    ``down`` is its negative and ``flat`` is constant. Strand-symmetric, so rc averaging changes nothing."""

    def __init__(self):
        super().__init__()
        fwd = one_hot(encode(MOTIF)[None])[0]
        rev = one_hot(reverse_complement(encode(MOTIF))[None])[0]
        self.conv = nn.Conv1d(4, 2, len(MOTIF), bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.from_numpy(np.stack([fwd, rev])))

    def forward(self, x):
        z = 2.0 * (self.conv(x).amax(dim=(1, 2)) - (len(MOTIF) - 0.5))
        return torch.stack([z, -z, torch.zeros_like(z)], dim=1)


#: chr1 of :func:`_genome`: 100 bp of C with GATTACA at 0-based 40-46 and the near-motif GATTCCA at 70-76
CHR1 = "C" * 40 + MOTIF + "C" * 23 + "GATTCCA" + "C" * 23


def _genome(tmp_path) -> Path:
    """chr1 (:data:`CHR1`, in two lines). chr2: 30 bp of ACGT."""
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + CHR1[:60] + "\n" + CHR1[60:] + "\n>chr2\n" + "ACGT" * 7 + "AC\n")
    return fa


HEADER = "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
RECORDS = [
    ("chr1", 44, "destroy", "T", "C"),     # 0-based 43 is the second T of GATTACA
    ("chr1", 75, "create", "C", "A"),      # GATTCCA -> GATTACA
    ("chr1", 75, "swapped", "A", "C"),     # genome shows the ALT: scored as C -> A
    ("chr1", 44, "mismatch", "G", "C"),    # genome shows T: neither allele
    ("chrUn", 5, "unknown", "A", "C"),
    ("chr1", 44, "multi", "T", "G,A"),     # two ALTs, neither repeating destroy's T>C
    ("chr1", 2, "edge", "C", "G"),         # window runs off the start: N padding
    ("chr1", 44, "deletion", "TA", "T"),   # GATTACA -> GATTCA
    ("chr1", 30, "symbolic", "C", "<DEL>"),
    ("chr1", 150, "outside", "C", "G"),
]


def _vcf_text(records=RECORDS, header=HEADER) -> str:
    return header + "".join(f"{c}\t{p}\t{i}\t{r}\t{a}\t.\tPASS\t.\n" for c, p, i, r, a in records)


def _write_vcf(path: Path, text: str, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


@pytest.fixture()
def scored(tmp_path):
    fa = _genome(tmp_path)
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text())
    out = tmp_path / "sad.h5"
    summary = score_variants(MotifModel(), fa, vcf, out, TARGETS, seq_len=L, batch_size=4)
    return summary, read_sad(out), tmp_path


# ------------------------------------------------------------------------------------------ VCF
def test_iter_vcf_splits_multiallelic_skips_symbolic_and_numbers_lines(tmp_path):
    counts = {}
    df = read_vcf(_write_vcf(tmp_path / "v.vcf", _vcf_text()), counts=counts)
    assert list(df.columns) == ["chrom", "pos", "id", "ref", "alt", "line"]
    multi = df[df["id"] == "multi"]
    assert multi["alt"].tolist() == ["G", "A"] and multi["line"].tolist() == [9, 9]  # 3 header lines
    assert "symbolic" not in set(df["id"])
    assert df["line"].iloc[0] == 4 and df["pos"].dtype == np.int64
    assert counts == {"variants_read": 10, "multiallelic_records": 1, "multiallelic_extra_rows": 1,
                      "symbolic_skipped": 1, "malformed_rejected": 0}


def test_iter_vcf_headerless_gzip_by_magic_and_small_chunks(tmp_path):
    text = _vcf_text(header="")
    plain = read_vcf(_write_vcf(tmp_path / "a.vcf", text))
    gz = read_vcf(_write_vcf(tmp_path / "b.txt", text, gz=True))  # gzip without a .gz suffix
    pd.testing.assert_frame_equal(plain, gz)
    assert plain["line"].iloc[0] == 1
    chunks = list(iter_vcf(tmp_path / "a.vcf", chunk_size=3))
    assert len(chunks) == 4
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), plain)


def test_iter_vcf_crlf_blank_lines_and_lower_case(tmp_path):
    text = "chr1\t44\tx\tt\tc\r\n\r\nchr1\t75\ty\tC\ta\r\n"
    df = read_vcf(_write_vcf(tmp_path / "v.vcf", text))
    assert df[["ref", "alt"]].values.tolist() == [["T", "C"], ["C", "A"]]
    assert df["line"].tolist() == [1, 3]


@pytest.mark.parametrize(
    "bad, line, message",
    [
        ("chr1\tabc\tx\tA\tC", 5, "integer POS"),
        ("chr1\t0\tx\tA\tC", 5, ">= 1"),
        ("chr1\t-3\tx\tA\tC", 5, ">= 1"),
        ("chr1\t10\tx\tA", 5, "at least 5"),
        ("chr1\t10\tx\t\tC", 5, "empty CHROM, REF or ALT"),
        ("chr1\t10\tx\tR\tC", 5, "REF allele"),
        ("chr1\t10\tx\tA\tC,Z", 5, "ALT alleles"),
    ],
)
def test_vcf_errors_name_file_and_line(tmp_path, bad, line, message):
    text = _vcf_text(RECORDS[:1]) + bad + "\t.\n" * (bad.count("\t") >= 4) + "\n" * (bad.count("\t") < 4)
    text += "chr1\t44\tlater\tT\tC\n"
    vcf = _write_vcf(tmp_path / "bad.vcf", text)
    with pytest.raises(InputError, match=message) as err:
        read_vcf(vcf)
    assert err.value.line == line and err.value.path == str(vcf)
    assert f"bad.vcf:{line}:" in str(err.value)


def test_vcf_short_first_line_is_an_input_error(tmp_path):
    vcf = _write_vcf(tmp_path / "bad.vcf.gz", "#CHROM\tPOS\nchr1\t10\tx\nchr1\t44\ty\tT\tC\n", gz=True)
    with pytest.raises(InputError, match="at least 5 tab-separated columns.*got 3") as err:
        read_vcf(vcf)
    assert err.value.line == 2


# ------------------------------------------------------------------------------------------ windows
def test_variant_sequences_centre_swap_indels_and_padding(tmp_path):
    fa = tmp_path / "g.fa"
    fa.write_text(">c\n" + "AACCGGTTAC" * 3 + "\n")  # 30 bp
    df = pd.DataFrame({"chrom": ["c", "c", "c", "c", "c", "c", "x"], "pos": [11, 11, 11, 11, 2, 11, 1],
                       "ref": ["A", "G", "AA", "A", "A", "T", "A"], "alt": ["G", "A", "A", "ATT", "C", "G", "C"]})
    with Genome(fa) as g:
        vs = variant_sequences(g, df, 9)
    assert vs.status.tolist() == ["ok", "swapped", "ok", "ok", "ok", "ref_mismatch", "unknown_chrom"]
    assert vs.kept.tolist() == [True] * 5 + [False, False]
    ref = [decode(r) for r in vs.ref]
    alt = [decode(a) for a in vs.alt]
    # 0-based 10 is the A of "AACC...", at index 9 // 2 = 4 of each window
    assert ref[0] == "TTACAACCG" and alt[0] == "TTACGACCG"
    assert vs.swapped.tolist()[:2] == [False, True]
    assert (vs.ref_allele[1], vs.alt_allele[1]) == ("A", "G")  # scored as the genome's allele -> VCF REF
    assert ref[1] == ref[0] and alt[1] == "TTACGACCG"
    assert ref[2] == ref[0] and alt[2] == "TTACACCGG"  # deletion of the second A: the right flank moves left
    # insertion of TT after the A: ALT ATT centred (its middle T at 4), the flanks pushed out on both sides
    assert alt[3] == "TACATTACC"
    assert ref[4] == "NNNAACCGG" and alt[4] == "NNNACCCGG" and vs.off_end.tolist()[4]
    assert vs.indel.tolist()[2:4] == [True, True]
    # the types the SAD stage writes and indexes with: uint8 codes, boolean flags
    assert vs.ref.dtype == vs.alt.dtype == np.uint8
    assert vs.swapped.dtype == vs.kept.dtype == vs.off_end.dtype == vs.indel.dtype == np.bool_


def test_iter_vcf_not_strict_drops_each_record_with_a_bad_alt_whole_and_lists_it_once(tmp_path):
    """Not strict: a record with a bad ALT character loses every ALT (also its good ones), is listed once on its
    line naming its first bad ALT, and the good rows come out in file order with a fresh 0..n-1 index."""
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
                   "c\t10\tok1\tA\tC\n"        # line 3
                   "c\t20\tbad1\tA\tG,Z,Q\n"   # line 4: Z is its first bad ALT; G goes with it
                   "c\t30\tok2\tA\tT,G\n"      # line 5
                   "c\t40\tbad2\tC\tJ\n"       # line 6
                   "c\t50\tok3\tG\tA\n")       # line 7
    frames, counts = [], Counter()
    chunks = list(iter_vcf(vcf, chunk_size=100, counts=counts, strict=False, rejects=frames.append))
    assert len(chunks) == 1
    df = chunks[0]
    assert list(df.columns) == ["chrom", "pos", "id", "ref", "alt", "line"]
    assert df.index.tolist() == [0, 1, 2, 3]
    assert df["id"].tolist() == ["ok1", "ok2", "ok2", "ok3"] and df["alt"].tolist() == ["C", "T", "G", "A"]
    assert df["line"].tolist() == [3, 5, 5, 7]
    rej = pd.concat(frames, ignore_index=True)
    assert rej["line"].astype(int).tolist() == [4, 6] and rej["id"].tolist() == ["bad1", "bad2"]
    assert rej["reason"].tolist() == [
        "expected ALT alleles of A, C, G, T, N (or a symbolic allele), got 'Z'",
        "expected ALT alleles of A, C, G, T, N (or a symbolic allele), got 'J'"]
    assert counts["malformed_rejected"] == 2


# hand-built references: plain string slicing of the genome text, never basset's window code
GENOME_C = "TCCCTAAGACCAAAGTTGTCGGCCGCGAAAGTTTTATCGAACCGTGTACGAGCCGCGTAA"  # 60 bp
GENOME_D = "CACCACCGTGAGGTAAA"  # 17 bp
GENOMES = {"c": GENOME_C, "d": GENOME_D}
_RC = str.maketrans("ACGTN", "TGCAN")


def want_ref(g: str, pos: int, L: int, ref_len: int = 1) -> str:
    """The reference window: ``L`` bp of ``g`` with the REF allele (``ref_len`` bases from the 1-based ``pos``)
    centred: its middle base (the left one of two) at 0-based index ``L // 2``; N outside."""
    padded = "N" * L + g + "N" * L
    start = pos - 1 - (L // 2 - (ref_len - 1) // 2) + L
    return padded[start : start + L]


def want_alt(g: str, pos: int, ref: str, alt: str, L: int, centre: int | None = None) -> str:
    """The alternative window, ``alt`` centred: its middle base (the left one of two) at ``centre`` (``L // 2``),
    so the genome's left flank is ``centre - (len(alt) - 1) // 2`` bases, then ``alt``, then the genome after
    ``ref``, cut to ``L``. With ``alt == ref`` it is the reference window."""
    c = (L // 2 if centre is None else centre) - max(len(alt) - 1, 0) // 2
    padded = "N" * L + g + "N" * L
    p0 = pos - 1
    left = padded[p0 - c + L : p0 + L] if c > 0 else ""  # c < 0: the allele itself starts left of the window
    return (left + alt[max(-c, 0) :] + g[p0 + len(ref) :] + "N" * L)[:L]


@pytest.fixture(scope="module")
def genome_cd(tmp_path_factory):
    """The FASTA of GENOME_C (as chromosome ``c``, in lines of 25, the second soft-masked: lower case matches
    upper-case alleles) and GENOME_D (``d``), opened once."""
    fa = tmp_path_factory.mktemp("genome") / "cd.fa"
    lines = [GENOME_C[i : i + 25] for i in range(0, len(GENOME_C), 25)]
    lines[1] = lines[1].lower()
    fa.write_text(">c\n" + "\n".join(lines) + "\n>d\n" + GENOME_D + "\n")
    with Genome(fa) as g:
        yield g


def _variants(rows) -> pd.DataFrame:
    chrom, pos, ref, alt = zip(*rows) if rows else ((), (), (), ())
    return pd.DataFrame({"chrom": list(chrom), "pos": np.array(pos, dtype=np.int64), "ref": list(ref),
                         "alt": list(alt), "id": [f"v{i}" for i in range(len(rows))]})


@pytest.mark.parametrize(
    "pos, L, ref_window, n_pad",
    [
        (1, 8, "NNNNTCCC", 4),   # first base of the chromosome: L // 2 N on the left
        (1, 7, "NNNTCCC", 3),
        (2, 8, "NNNTCCCT", 3),
        (2, 7, "NNTCCCT", 2),
        (60, 8, "CGTAANNN", 3),  # last base: L - L // 2 - 1 N on the right
        (60, 7, "GTAANNN", 3),
        (59, 8, "GCGTAANN", 2),
        (30, 8, "CGAAAGTT", 0),  # inside: first REF base (the A at 0-based 29) at index 4 of 8 ...
        (30, 7, "GAAAGTT", 0),   # ... and at index 3 of 7
        (30, 1, "A", 0),
        (30, 2, "AA", 0),        # index 1 of 2: the base before it (A too) at 0, not the one after (G)
        (31, 2, "AG", 0),
    ],
)
def test_snv_window_centre_and_padding_even_and_odd(genome_cd, pos, L, ref_window, n_pad):
    """Written-out windows for even and odd L: an off-by-one in the centre (Basset's ``L // 2 - 1``, or
    ``(L - 1) // 2`` for even L) or in the N padding at either chromosome end changes them."""
    g = GENOME_C
    assert want_ref(g, pos, L) == ref_window  # the hand reference agrees with the written-out window
    here = g[pos - 1]
    alt = "G" if here != "G" else "T"
    vs = variant_sequences(genome_cd, _variants([("c", pos, here, alt)]), L)
    assert vs.status.tolist() == ["ok"] and vs.kept.tolist() == [True]
    c = L // 2
    assert decode(vs.ref[0]) == ref_window
    assert decode(vs.alt[0]) == ref_window[:c] + alt + ref_window[c + 1 :]
    assert decode(vs.ref[0]).count("N") == n_pad
    assert vs.off_end.tolist() == [n_pad > 0]
    assert vs.tally()["off_end_padded"] == int(n_pad > 0)


@pytest.mark.parametrize(
    "L, ref, alt, ref_window, alt_window",
    [
        (8, "GA", "G", "CCGCGAAA", "CCGCGAAG"),     # deletion: the right flank moves left by one
        (7, "GA", "G", "CGCGAAA", "CGCGAAG"),
        (8, "GAAA", "G", "CGCGAAAG", "CCGCGGTT"),   # deletion of 3: REF's middle A at 4, three bases pulled in
        (8, "G", "GTT", "CCGCGAAA", "CGCGTTAA"),    # insertion: ALT's middle T at 4, the flanks pushed out
        (7, "G", "GTT", "CGCGAAA", "GCGTTAA"),      # both sides
        (8, "G", "GTTTTTT", "CCGCGAAA", "CGTTTTTT"),  # ALT longer than the right half: cut at L
        (8, "GA", "TCC", "CCGCGAAA", "CGCTCCAA"),   # complex: REF replaced by a longer ALT, centred
    ],
)
def test_indel_windows_centre_each_allele(genome_cd, L, ref, alt, ref_window, alt_window):
    """Indels at 1-based 27 (the G of ...CCGC|GAAAGTT...), written out by hand: each window centres its own
    allele (middle base, the left one of two, at L // 2), so an insertion pushes the flanks out on both sides and
    a deletion pulls bases in from both; the slicing reference agrees."""
    assert want_ref(GENOME_C, 27, L, len(ref)) == ref_window and want_alt(GENOME_C, 27, ref, alt, L) == alt_window
    vs = variant_sequences(genome_cd, _variants([("c", 27, ref, alt)]), L)
    assert vs.status.tolist() == ["ok"] and vs.indel.tolist() == [True] and not vs.off_end.any()
    assert decode(vs.ref[0]) == ref_window and decode(vs.alt[0]) == alt_window


def test_windows_statuses_swaps_and_tally(genome_cd):
    """Every status at once, chromosomes interleaved (windows stay in input order), against written-out values:
    the last base is inside, one past it or a REF running past it is outside_chrom; a swap exchanges the
    alleles; an indel or MNP matching only in part is ref_mismatch (indels are never swapped)."""
    rows = [
        ("c", 60, "A", "C"),      # 0 ok: last base, padded
        ("c", 60, "AA", "A"),     # 1 outside_chrom: REF runs past the end
        ("c", 61, "A", "C"),      # 2 outside_chrom: one past the end
        ("d", 1, "C", "A"),       # 3 ok on chromosome d, first base
        ("c", 59, "AA", "A"),     # 4 ok deletion ending at the last base
        ("zz", 5, "A", "C"),      # 5 unknown_chrom
        ("c", 1, "G", "C"),       # 6 ref_mismatch: genome T
        ("c", 1, "G", "T"),       # 7 swapped: genome shows the ALT
        ("c", 27, "CT", "GA"),    # 8 swapped MNP
        ("c", 27, "GT", "CC"),    # 9 ref_mismatch: first REF base matches only
        ("c", 27, "GAC", "GA"),   # 10 ref_mismatch indel although ALT matches the genome
        ("d", 17, "A", "G"),      # 11 ok: last base of d
        ("c", 30, "A", "G"),      # 12 ok, inside
        ("c", 21, "GG", "TC"),    # 13 ok MNP
    ]
    df = _variants(rows)
    vs = variant_sequences(genome_cd, df, 6)
    assert vs.status.tolist() == ["ok", "outside_chrom", "outside_chrom", "ok", "ok", "unknown_chrom",
                                  "ref_mismatch", "swapped", "swapped", "ref_mismatch", "ref_mismatch", "ok", "ok",
                                  "ok"]
    kept = [0, 3, 4, 7, 8, 11, 12, 13]
    assert np.flatnonzero(vs.kept).tolist() == kept
    assert np.flatnonzero(vs.swapped).tolist() == [7, 8]
    assert np.flatnonzero(vs.off_end).tolist() == [0, 3, 4, 7, 11]
    assert [(vs.ref_allele[i], vs.alt_allele[i]) for i in (7, 8)] == [("T", "G"), ("GA", "CT")]
    want = {
        0: ("GTAANN", "GTACNN"),
        3: ("NNNCAC", "NNNAAC"),
        4: ("CGTAAN", "CGTANN"),    # deletion of the second-last A: one more N pulled in
        7: ("NNNTCC", "NNNGCC"),    # swapped: the reference is the genome, the alternative carries VCF REF
        8: ("CGCGAA", "CGCCTA"),
        11: ("TAAANN", "TAAGNN"),
        12: ("GAAAGT", "GAAGGT"),
        13: ("GTCGGC", "GTCTCC"),
    }
    got = {i: (decode(r), decode(a)) for i, r, a in zip(kept, vs.ref, vs.alt)}
    assert got == want
    for i in kept:  # and the slicing reference agrees with the written-out windows
        chrom, pos, ref, alt = rows[i]
        r, a = (alt, ref) if vs.swapped[i] else (ref, alt)
        assert (want_ref(GENOMES[chrom], pos, 6, len(r)), want_alt(GENOMES[chrom], pos, r, a, 6)) == want[i]
    tally = vs.tally()
    assert {k: tally[k] for k in ("ok", "swapped", "ref_mismatch", "unknown_chrom", "outside_chrom",
                                  "indel_ref_mismatch_skipped", "indels_scored", "mnps_scored", "snvs_scored",
                                  "off_end_padded")} == {
        "ok": 6, "swapped": 2, "ref_mismatch": 3, "unknown_chrom": 1, "outside_chrom": 2,
        "indel_ref_mismatch_skipped": 1, "indels_scored": 1, "mnps_scored": 2, "snvs_scored": 5, "off_end_padded": 5}
    scored = vs.scored(df)
    assert scored["id"].tolist() == [f"v{i}" for i in kept]
    assert scored[["ref", "alt"]].values.tolist()[3:5] == [["T", "G"], ["GA", "CT"]]
    assert scored["swapped"].tolist() == [False, False, False, True, True, False, False, False]


_OTHER = {b: [x for x in "ACGT" if x != b] for b in "ACGT"}


@st.composite
def variant_batches(draw):
    """A window length (even or odd) and a batch of variants of every kind on both chromosomes, as
    ``(chrom, pos, vcf_ref, vcf_alt, kind)``."""
    L = draw(st.integers(1, 25))
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["snv", "swap", "mnp", "del", "ins", "complex", "mismatch", "unknown",
                                     "outside"]))
        chrom = "zz" if kind == "unknown" else draw(st.sampled_from(["c", "d"]))
        g = GENOMES.get(chrom, GENOME_D)
        k = draw(st.integers(2, 4))
        long_ref = kind in ("mnp", "del", "complex")
        p0 = draw(st.integers(0, len(g) - (k if long_ref else 1)))
        here = g[p0]
        if kind in ("snv", "unknown"):
            ref, alt = here, draw(st.sampled_from(_OTHER[here]))
        elif kind == "swap":
            ref, alt = draw(st.sampled_from(_OTHER[here])), here
        elif kind == "mismatch":
            ref = draw(st.sampled_from(_OTHER[here]))
            alt = draw(st.sampled_from([b for b in _OTHER[here] if b != ref]))
        elif kind == "mnp":
            ref = g[p0 : p0 + k]
            i = draw(st.integers(0, k - 1))
            alt = ref[:i] + draw(st.sampled_from(_OTHER[ref[i]])) + ref[i + 1 :]
        elif kind == "del":
            ref, alt = g[p0 : p0 + k], here
        elif kind == "ins":
            ref, alt = here, here + draw(st.text("ACGT", min_size=1, max_size=4))
        elif kind == "complex":
            ref = g[p0 : p0 + k]
            alt = draw(st.text("ACGT", min_size=1, max_size=6).filter(lambda a, k=k: len(a) != k))
        else:  # outside: the REF ends past the chromosome end
            p0 = len(g) - 1 + draw(st.integers(0, 3))
            ref, alt = "AC", "A"
        rows.append((chrom, p0 + 1, ref, alt, kind))
    return L, rows


@settings(max_examples=200, deadline=None)
@given(variant_batches())
def test_windows_match_plain_slicing(genome_cd, batch):
    """Property: for any window length and any mix of variants (SNVs, swaps, MNPs, deletions, insertions,
    complex indels, near either end of either chromosome, mismatches, unknown and outside chromosomes), every
    kept window equals the slicing reference, in input order, with its status, swap, indel and padding flags."""
    L, rows = batch
    df = _variants([r[:4] for r in rows])
    vs = variant_sequences(genome_cd, df, L)
    status = {"snv": "ok", "mnp": "ok", "del": "ok", "ins": "ok", "complex": "ok", "swap": "swapped",
              "mismatch": "ref_mismatch", "unknown": "unknown_chrom", "outside": "outside_chrom"}
    assert vs.status.tolist() == [status[r[4]] for r in rows]
    assert vs.swapped.tolist() == [r[4] == "swap" for r in rows]
    assert vs.indel.tolist() == [len(r[2]) != len(r[3]) for r in rows]
    k = 0
    for i, (chrom, pos, ref, alt, kind) in enumerate(rows):
        if vs.status[i] not in ("ok", "swapped"):
            assert not vs.kept[i] and not vs.off_end[i]
            continue
        g = GENOMES[chrom]
        r, a = (alt, ref) if kind == "swap" else (ref, alt)
        assert (vs.ref_allele[i], vs.alt_allele[i]) == (r, a)
        ref_w, alt_w = want_ref(g, pos, L, len(r)), want_alt(g, pos, r, a, L)
        assert (decode(vs.ref[k]), decode(vs.alt[k])) == (ref_w, alt_w), (i, kind)
        assert vs.off_end[i] == ("N" in ref_w + alt_w)  # the genome and the alleles hold no N
        k += 1
    assert k == vs.ref.shape[0] == vs.alt.shape[0] == int(vs.kept.sum())


def test_multiallelic_and_symbolic_alts_split_as_documented(tmp_path):
    """``A -> C,G,T`` gives three rows with the same ID and line, one ALT each, in order; a symbolic allele
    (``*``, ``<DEL>``, ``.``, a breakend) is dropped and counted per allele, its siblings kept."""
    text = ("c\t30\tm3\tA\tC,G,T\n"       # line 1: 3 rows
            "c\t31\tspan\tG\tC,*\n"       # line 2: C kept, * dropped
            "c\t32\tsym\tT\t<DEL>\n"      # line 3: dropped
            "c\t33\tmissing\tC\t.\n"      # line 4: dropped
            "c\t34\tbnd\tA\tG]c:5]\n"     # line 5: dropped
            "c\t35\tlow\ta\tc,<ins>\n")   # line 6: lower case, c kept
    counts = {}
    df = read_vcf(_write_vcf(tmp_path / "m.vcf", text), counts=counts)
    assert df[["id", "alt", "line"]].values.tolist() == [
        ["m3", "C", 1], ["m3", "G", 1], ["m3", "T", 1], ["span", "C", 2], ["low", "C", 6]]
    assert df["ref"].tolist() == ["A", "A", "A", "G", "A"] and df["pos"].tolist() == [30, 30, 30, 31, 35]
    assert counts == {"variants_read": 6, "multiallelic_records": 3, "multiallelic_extra_rows": 4,
                      "symbolic_skipped": 5, "malformed_rejected": 0}


# ------------------------------------------------------------------------------------------ SAD
def test_sad_signs_swap_and_counts(scored):
    summary, sad, _ = scored
    assert summary["variants_read"] == 10
    assert summary["scored"] == 7  # destroy, create, swapped, multi x2, edge, deletion
    assert summary["swapped"] == 1
    assert summary["ref_mismatch_skipped"] == 1
    assert summary["unknown_chrom_skipped"] == 1 and summary["unknown_chroms"] == "chrUn"
    assert summary["outside_chrom_skipped"] == 1
    assert summary["symbolic_skipped"] == 1 and summary["multiallelic_records"] == 1
    assert summary["indels_scored"] == 1 and summary["off_end_padded"] == 1
    assert list(sad.columns[:9]) == ["chrom", "pos", "id", "ref", "alt", "swapped", "mean_sad", "max_abs_sad",
                                     "top_target"]
    assert sad.attrs["target_names"] == TARGETS
    by = sad.set_index(["id", "alt"])
    assert by.loc[("destroy", "C"), "up"] < -0.1 and by.loc[("destroy", "C"), "down"] > 0.1
    assert by.loc[("create", "A"), "up"] > 0.1
    assert by.loc[("deletion", "T"), "up"] < -0.1
    assert (by.loc[("multi", "G"), "up"] < -0.1) and (by.loc[("multi", "A"), "up"] < -0.1)
    assert by.loc[("destroy", "C"), "flat"] == 0 and abs(by.loc[("edge", "G"), "up"]) < 0.01
    # the swapped record is scored from the genome's allele: same pair of sequences as 'create'
    sw = sad[sad["id"] == "swapped"].iloc[0]
    assert bool(sw["swapped"]) and (sw["ref"], sw["alt"]) == ("C", "A")
    assert sw["up"] == by.loc[("create", "A"), "up"] > 0  # VCF orientation (A -> C) would be negative
    assert not sad.loc[sad["id"] != "swapped", "swapped"].any()
    assert by.loc[("destroy", "C"), "top_target"] in ("up", "down")
    # max_abs_sad from the full-precision SAD, the stored SAD float16 (3 significant digits)
    assert by.loc[("destroy", "C"), "max_abs_sad"] == pytest.approx(abs(by.loc[("destroy", "C"), "up"]), rel=5e-4)


def test_sad_streaming_gzip_and_weights_give_the_same_table(scored):
    _, ref_table, tmp_path = scored
    fa = tmp_path / "g.fa"
    vcf_gz = _write_vcf(tmp_path / "v.vcf.gz", _vcf_text(), gz=True)
    out, table = tmp_path / "sad_small_chunks.h5", tmp_path / "sad_small_chunks.tsv.gz"
    score_variants(MotifModel(), fa, vcf_gz, out, TARGETS, seq_len=L, chunk_size=3, rc_average=False,
                   weights={"up": 2.0}, table=table)
    with gzip.open(table, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    assert header == ["chrom", "pos", "id", "ref", "alt", "swapped", "mean_sad", "max_abs_sad", "top_target",
                      "delta_class", "weighted"]
    small = read_sad(out)
    np.testing.assert_allclose(small["weighted"], 2 * small["up"].abs(), rtol=1e-3)
    pd.testing.assert_frame_equal(small.drop(columns="weighted"), ref_table, check_like=False, check_exact=False,
                                  rtol=1e-6)
    text = read_sad(table)  # the summary TSV: the same rows and summaries, no target columns
    assert text.attrs["target_names"] == [] and len(text) == len(small)
    assert text["id"].tolist() == small["id"].tolist() and text["top_target"].tolist() == small["top_target"].tolist()
    np.testing.assert_allclose(text["max_abs_sad"], small["max_abs_sad"], rtol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


# ------------------------------------------------------------------------------------------ SAD, by hand
class PositionLinear(nn.Module):
    """A position-dependent toy model: logit_t = b_t + sum_i W[t, base_i, i] (N adds nothing), so each base
    counts with the weight of its exact index and a window shifted by one base scores differently."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray):
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(np.asarray(weight, dtype=np.float32)))
        self.bias = nn.Parameter(torch.from_numpy(np.asarray(bias, dtype=np.float32)))

    def forward(self, x):
        return torch.einsum("nbl,tbl->nt", x, self.weight) + self.bias


def linear_weights(L: int, T: int = 3, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.6, (T, 4, L)).astype(np.float32), rng.normal(0, 0.3, T).astype(np.float32))


def hand_prob(window: str, weight: np.ndarray, bias: np.ndarray, rc_average: bool) -> np.ndarray:
    """``(T,)`` probabilities of the toy model on a window string, from its weights (float64 sums)."""
    def prob(w: str) -> np.ndarray:
        logit = bias.astype(np.float64).copy()
        for i, base in enumerate(w):
            if base != "N":
                logit += weight[:, "ACGT".index(base), i]
        return 1 / (1 + np.exp(-logit))

    p = prob(window)
    return 0.5 * (p + prob(window.translate(_RC)[::-1])) if rc_average else p


SAD_RECORDS = [  # (id, pos, REF, ALT) on GENOME_C; the A at 1-based 30 is inside, 1 and 60 are the ends
    ("inner", 29, "A", "G"),    # not 30: multi's A>G there would repeat it
    ("first", 1, "T", "A"),
    ("last", 60, "A", "T"),
    ("multi", 30, "A", "C,G,T"),
    ("swap", 30, "C", "A"),     # genome shows A: scored A -> C
    ("del", 27, "GA", "G"),
    ("ins", 27, "G", "GTT"),
    ("mnp", 21, "GG", "TC"),
]
LINEAR_TARGETS = ["t0", "t1", "t2"]


def _sad_rows():
    """The scored rows of SAD_RECORDS: (id, pos, scored ref, scored alt, swapped)."""
    out = []
    for vid, pos, ref, alt in SAD_RECORDS:
        for a in alt.split(","):
            swapped = GENOME_C[pos - 1 : pos - 1 + len(ref)] != ref
            out.append((vid, pos, a, ref, True) if swapped else (vid, pos, ref, a, False))
    return out


@pytest.mark.parametrize("L", [10, 11])
@pytest.mark.parametrize("rc_average", [False, True])
def test_sad_with_a_position_dependent_model_matches_hand_computation(genome_cd, tmp_path, L, rc_average):
    """End to end (VCF file -> TSV): each target's SAD equals p(alt) - p(ref) computed by hand from the toy
    model's weights on slicing-built windows, for even and odd L, with and without rc averaging; the three
    ALTs of one record get three different SADs; mean_sad, max_abs_sad, top_target and weighted follow."""
    weight, bias = linear_weights(L)
    vcf = _write_vcf(tmp_path / "v.vcf", "".join(f"c\t{p}\t{i}\t{r}\t{a}\t.\t.\t.\n" for i, p, r, a in SAD_RECORDS))
    out = tmp_path / "sad.h5"
    summary = score_variants(PositionLinear(weight, bias), genome_cd, vcf, out, LINEAR_TARGETS, seq_len=L,
                             batch_size=3, rc_average=rc_average, weights={"t0": 2.0, "t2": 0.5}, dtype="float32")
    sad = read_sad(out)
    rows = _sad_rows()
    assert summary["scored"] == len(rows) == 10 and summary["swapped"] == 1
    assert sad[["id", "pos", "ref", "alt", "swapped"]].values.tolist() == [list(r) for r in rows]

    def expected(centre):
        return np.array([hand_prob(want_alt(GENOME_C, p, r, a, L, centre), weight, bias, rc_average)
                         - hand_prob(want_alt(GENOME_C, p, r, r, L, centre), weight, bias, rc_average)
                         for _, p, r, a, _ in rows])

    want = expected(L // 2)
    # the test's power: the same hand computation with the window centred one base off differs in every row
    assert (np.abs(expected(L // 2 - 1) - want).max(axis=1) > 1e-3).all()
    got = sad[LINEAR_TARGETS].to_numpy()
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    multi = want[[i for i, r in enumerate(rows) if r[0] == "multi"]]
    assert np.abs(multi[:, None, :] - multi[None, :, :]).max(axis=2)[np.triu_indices(3, 1)].min() > 1e-3
    np.testing.assert_allclose(sad["mean_sad"], want.mean(axis=1), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(sad["max_abs_sad"], np.abs(want).max(axis=1), rtol=2e-5, atol=2e-6)
    assert sad["top_target"].tolist() == [LINEAR_TARGETS[t] for t in np.abs(want).argmax(axis=1)]
    np.testing.assert_allclose(sad["weighted"], 2.0 * np.abs(want[:, 0]) + 0.5 * np.abs(want[:, 2]),
                               rtol=2e-5, atol=2e-6)
    # the default float16 file: the same SAD to float16's precision (half a unit in the 11th bit), the summaries
    # (computed before rounding) as exact as float32's
    half = read_sad(score_variants(PositionLinear(weight, bias), genome_cd, vcf, tmp_path / "half.h5",
                                   LINEAR_TARGETS, seq_len=L, rc_average=rc_average, table=tmp_path / "half.tsv")
                    and tmp_path / "half.h5")
    np.testing.assert_allclose(half[LINEAR_TARGETS].to_numpy(), want, rtol=2.0**-11, atol=2.0**-25)
    assert not np.array_equal(half[LINEAR_TARGETS].to_numpy(), got)  # really rounded
    np.testing.assert_allclose(half["mean_sad"], want.mean(axis=1), rtol=2e-5, atol=2e-6)
    text = read_sad(tmp_path / "half.tsv")  # the summary TSV reads back as the HDF5 file, to 6 digits
    np.testing.assert_allclose(text["mean_sad"], half["mean_sad"], rtol=1e-5)
    assert text["top_target"].tolist() == half["top_target"].tolist()


def test_score_windows_is_alt_minus_ref_of_the_given_windows():
    """score_windows on hand windows: p(alt) - p(ref) per target (not ref - alt), rc average of both strands."""
    L = 8
    weight, bias = linear_weights(L, T=2, seed=11)
    ref_w, alt_w = ["ACGTTGCA", "NNNNACGT"], ["ACGTAGCA", "NNNNCCGT"]
    model = PositionLinear(weight, bias)
    for rc in (False, True):
        sad = score_windows(model, np.stack([encode(w) for w in ref_w]), np.stack([encode(w) for w in alt_w]), 2,
                            batch_size=1, rc_average=rc)
        want = [hand_prob(a, weight, bias, rc) - hand_prob(r, weight, bias, rc) for r, a in zip(ref_w, alt_w)]
        assert sad.dtype == np.float32 and sad.shape == (2, 2)
        np.testing.assert_allclose(sad, want, rtol=1e-5, atol=1e-6)
        assert np.abs(sad).min() > 1e-3
    with pytest.raises(ValueError, match="predicts 2 targets but 3"):
        score_windows(model, encode("ACGTTGCA")[None], encode("ACGTAGCA")[None], 3)


SUMMARY_TARGETS = ["a", "b", "c"]
SUMMARY_SAD = np.array([
    [0.1, -0.4, 0.0],    # top b (negative): max_abs 0.4, not the signed max 0.1
    [0.5, -0.5, 0.25],   # tie between a and b: the first target in order
    [-0.2, 0.1, 0.0],    # top a, negative
    [0.0, 0.0, 0.0],     # all zero: the first target
])


def _summary_variants(n: int) -> pd.DataFrame:
    return pd.DataFrame({"chrom": "chr1", "pos": np.arange(n, dtype=np.int64) + 5, "id": [f"rs{i}" for i in range(n)],
                         "ref": "A", "alt": "C", "swapped": [False, True, False, False][:n]})


def test_summaries_by_hand():
    """mean_sad is the signed mean, max_abs_sad the largest |SAD| (positive), top_target the target of
    largest |SAD| (ties: the first in target order), weighted = sum_t w_t |SAD_t| (unnamed targets weigh 0);
    stored as float32 (top_target as the target's index)."""
    w = weight_vector({"a": 1.0, "c": 4.0}, SUMMARY_TARGETS)
    assert w.tolist() == [1.0, 0.0, 4.0]
    got = summaries(SUMMARY_SAD, w)
    assert sorted(got) == ["delta_class", "max_abs_sad", "mean_sad", "top_target", "weighted"]
    assert got["mean_sad"].dtype == np.float32 and got["top_target"].dtype == np.int16
    np.testing.assert_allclose(got["mean_sad"], [-0.1, 0.25 / 3, -0.1 / 3, 0.0], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got["max_abs_sad"], [0.4, 0.5, 0.2, 0.0], rtol=1e-7)
    assert [SUMMARY_TARGETS[t] for t in got["top_target"]] == ["b", "a", "a", "a"]
    np.testing.assert_allclose(got["weighted"], [0.1, 0.5 + 1.0, 0.2, 0.0], rtol=1e-6)
    only_b = summaries(SUMMARY_SAD, weight_vector({"b": 2.0}, SUMMARY_TARGETS))
    np.testing.assert_allclose(only_b["weighted"], [0.8, 1.0, 0.2, 0.0], rtol=1e-6)
    assert "weighted" not in summaries(SUMMARY_SAD, None)
    assert weight_vector(None, SUMMARY_TARGETS) is None
    with pytest.raises(ValueError, match="does not have: x, z"):
        weight_vector({"a": 1, "z": 1, "x": 2}, SUMMARY_TARGETS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from([-0.5, -0.25, 0.0, 0.125, 0.25, 0.5]), min_size=3, max_size=3),
                min_size=1, max_size=6),
       st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=3, max_size=3))
def test_summaries_property(rows, weights):
    """Property against a per-row loop: the summaries for any SAD values (ties frequent), any weights."""
    got = summaries(np.array(rows, dtype=np.float64), np.array(weights))
    for i, row in enumerate(rows):
        absolute = [abs(v) for v in row]
        assert got["mean_sad"][i] == pytest.approx(sum(row) / 3, abs=1e-7)
        assert got["max_abs_sad"][i] == max(absolute)
        assert SUMMARY_TARGETS[got["top_target"][i]] == SUMMARY_TARGETS[absolute.index(max(absolute))]
        assert got["weighted"][i] == pytest.approx(sum(w * v for w, v in zip(weights, absolute)), abs=1e-6)


def test_delta_classes_at_their_bounds():
    """DeepSEA's classes of |Delta|: below 0.2 weak, 0.2 to 0.5 moderate (both bounds included), above 0.5 strong,
    in the float32 precision of the SAD file's max_abs_sad (float32(0.2) is moderate, the float32 just below
    weak); NaN (not scored) none. Written out by hand, not from the thresholds."""
    from basset.sadfile import DELTA_CLASSES, delta_class

    below = np.nextafter(np.float32(0.2), np.float32(0))
    above = np.nextafter(np.float32(0.5), np.float32(1))
    x = np.array([0.0, 0.1, below, 0.2, 0.35, 0.5, above, 0.9, 1.0, np.nan], dtype=np.float32)
    assert [DELTA_CLASSES[c] for c in delta_class(x)] == [
        "weak", "weak", "weak", "moderate", "moderate", "moderate", "strong", "strong", "strong", "none"]
    assert [DELTA_CLASSES[c] for c in summaries(np.array([[-0.6, 0.1], [0.2, -0.05], [0.0, 0.0]]), None)[
        "delta_class"]] == ["strong", "moderate", "weak"]  # of the largest |SAD|, whatever its sign


def test_weights_by_target_or_by_assay():
    """variants.weights may name assays: every target of that assay takes the assay's weight, unless the target is
    named itself; a name that is neither is an error that lists the assays."""
    from basset.samples import resolve_weights

    targets = ["ery_dnase", "ery_GATA1", "ery_H3K27ac", "hep_H3K27ac"]
    assays = ["dnase", "tf", "histone", "histone"]
    assert resolve_weights({"histone": 1.0, "ery_GATA1": 2.0}, targets, assays) == {
        "ery_GATA1": 2.0, "ery_H3K27ac": 1.0, "hep_H3K27ac": 1.0}
    assert resolve_weights({"histone": 1.0, "hep_H3K27ac": 0.5}, targets, assays) == {
        "ery_H3K27ac": 1.0, "hep_H3K27ac": 0.5}
    assert resolve_weights({"ery_dnase": 3}, targets) == {"ery_dnase": 3.0}
    assert resolve_weights(None, targets, assays) is None
    w = weight_vector(resolve_weights({"histone": 1.0, "ery_GATA1": 2.0}, targets, assays), targets)
    assert w.tolist() == [0.0, 2.0, 1.0, 1.0]
    with pytest.raises(ValueError, match=r"does not have: atac, chip \(nor assays: the targets' are dnase, histone, "
                                         r"tf\)"):
        resolve_weights({"chip": 1.0, "atac": 2.0}, targets, assays)
    with pytest.raises(ValueError, match="^3 assays for 4 targets$"):
        resolve_weights({"histone": 1.0}, targets, assays[:3])
    with pytest.raises(ValueError, match="does not have: histone$"):
        resolve_weights({"histone": 1.0}, targets)  # no assays known: only target names


def test_assays_of_a_sheet():
    """An empty, missing (None, NaN) or blank assay is dnase, others lower-cased; a sheet without the column is all
    dnase, one entry per row."""
    from basset.samples import assay_of, sample_assays

    assert [assay_of(v) for v in ("TF", " Histone ", "", None, float("nan"), "atac")] == [
        "tf", "histone", "dnase", "dnase", "dnase", "atac"]
    assert sample_assays(pd.DataFrame({"name": ["a", "b", "c"]})) == ["dnase", "dnase", "dnase"]
    assert sample_assays(pd.DataFrame({"name": ["a", "b"], "assay": ["TF", ""]})) == ["tf", "dnase"]


def test_tsv_rows_are_to_csv_with_six_digits():
    """The TSV lines write what pandas' ``to_csv(float_format='%.6g')`` writes for the same values: integers as
    integers, booleans as True/False, floats to 6 significant digits, the top target by name (a written-out
    line, then the whole block against pandas)."""
    sad = np.array([[0.123456789, -4.0e-7, 12345678.0], [0.1, 0.0, -0.5]])
    rows = _summary_variants(2)
    summ = summaries(sad, np.array([1.0, 0.0, 0.0]))
    text = _tsv_rows(rows, summ, SUMMARY_TARGETS, sad)
    assert text.splitlines()[1] == "chr1\t6\trs1\tA\tC\tTrue\t-0.133333\t0.5\tc\tmoderate\t0.1\t0.1\t0\t-0.5"
    assert text.splitlines()[0].split("\t")[11:] == ["0.123457", "-4e-07", "1.23457e+07"]
    frame = rows.assign(mean_sad=summ["mean_sad"], max_abs_sad=summ["max_abs_sad"],
                        top_target=np.array(SUMMARY_TARGETS)[summ["top_target"]],
                        delta_class=["strong", "moderate"], weighted=summ["weighted"])
    frame = pd.concat([frame, pd.DataFrame(sad, columns=SUMMARY_TARGETS)], axis=1)
    assert text == frame.to_csv(sep="\t", index=False, header=False, float_format="%.6g", lineterminator="\n")
    assert _tsv_rows(rows, summ, SUMMARY_TARGETS) == frame.iloc[:, :11].to_csv(
        sep="\t", index=False, header=False, float_format="%.6g", lineterminator="\n")


def test_score_variants_leaves_nothing_on_error(tmp_path):
    """strict: a malformed record stops the run naming file:line, and nothing is left under any output name
    (no SAD file, no table, no rejects, no temporary file); bad targets or weights do the same."""
    fa = _genome(tmp_path)
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text() + "chr1\tbad\tx\tA\tC\n")
    outs = {"out_path": tmp_path / "sad.h5", "table": tmp_path / "sad.tsv.gz", "rejects": tmp_path / "rej.tsv"}
    with pytest.raises(InputError, match="v.vcf:14: expected an integer POS, got 'bad'"):
        score_variants(MotifModel(), fa, vcf, target_names=TARGETS, seq_len=L, chunk_size=2, strict=True, **outs)
    assert not any(p.exists() for p in outs.values())
    assert not any(p.name.startswith((".tmp-", ".stage-")) for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match="targets"):
        score_variants(MotifModel(), fa, _write_vcf(tmp_path / "ok.vcf", _vcf_text()), tmp_path / "sad.h5",
                       ["a", "b"], seq_len=L)
    with pytest.raises(ValueError, match="weights"):
        score_variants(MotifModel(), fa, tmp_path / "ok.vcf", tmp_path / "sad.h5", TARGETS, seq_len=L,
                       weights={"nope": 1})
    assert not (tmp_path / "sad.h5").exists()


def test_score_variants_with_a_basset_net_takes_seq_len_from_its_config(tmp_path):
    torch.manual_seed(0)
    cfg = {"seq_len": 24, "conv_filters": [4], "conv_widths": [5], "conv_pools": [4], "conv_dropout": [0.0],
           "dense_units": [8], "dense_dropout": [0.0]}
    model = build_model(cfg, 2)
    out = tmp_path / "sad.tsv"
    summary = score_variants(model, _genome(tmp_path), _write_vcf(tmp_path / "v.vcf", _vcf_text()), out,
                             ["a", "b"])
    assert summary["seq_len"] == 24 and summary["scored"] == 7
    sad = read_sad(out)
    # expected: the net itself on slicing-built 24 bp windows (first REF base at index 12), one-hot by hand
    rows = [(44, "T", "C"), (75, "C", "A"), (75, "C", "A"), (44, "T", "G"), (44, "T", "A"), (2, "C", "G"),
            (44, "TA", "T")]
    assert sad[["pos", "ref", "alt"]].values.tolist() == [list(r) for r in rows]

    def prob(w: str) -> np.ndarray:
        x = torch.tensor([[[float(ch == b) for ch in v] for b in "ACGT"] for v in (w, w.translate(_RC)[::-1])])
        with torch.no_grad():
            return torch.sigmoid(model.eval()(x)).double().mean(dim=0).numpy()

    want = np.array([prob(want_alt(CHR1, p, r, a, 24)) - prob(want_ref(CHR1, p, 24, len(r))) for p, r, a in rows])
    assert np.abs(want).max() > 1e-3
    np.testing.assert_allclose(sad[["a", "b"]].to_numpy(), want, rtol=2e-5, atol=2e-6)


def test_score_variants_without_records_fails_and_writes_nothing(tmp_path):
    """A VCF of headers only produced nothing useful: an InputError naming it, no file left."""
    out = tmp_path / "sad.h5"
    with pytest.raises(InputError, match="v.vcf: no variant records"):
        score_variants(MotifModel(), _genome(tmp_path), _write_vcf(tmp_path / "v.vcf", HEADER), out, TARGETS,
                       seq_len=L, table=tmp_path / "t.tsv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.fa", "g.fa.fai", "v.vcf"]


# ------------------------------------------------------------------------------------------ PICS
FARH_HEADER = ("Disease\tIndexSNP_riskAllele\tSNP\tchr\tpos\tPICS_probability\tAnnotation\tnearestGene\teQTL"
               "\teQTLdirection\ttopEnhancer\tGM12878\tK562\n")


def test_read_pics_farh_layout_keeps_max_per_snp(tmp_path):
    rows = [
        "Asthma\trs4129267-T\trs4129267\tchr1\t154426264\t0.1324\tnone\tIL6R\tnone\tNA\tadult_CD14\t1\t0",
        "Asthma\trs4129267-T\trs2228145\tchr1\t154426970\t0.0923\tmissense\tIL6R\tnone\tNA\tnone\t0\t0",
        "Crohns_disease\trs4129267-T\trs2228145\tchr1\t154426970\t0.6100\tmissense\tIL6R\tnone\tNA\tnone\t0\t0",
    ]
    p = tmp_path / "pics.txt"
    p.write_text(FARH_HEADER + "\n".join(rows) + "\n")
    df = read_pics(p)
    assert list(df.columns) == ["snp", "chrom", "pos", "pics", "disease", "n_diseases"]
    assert df["snp"].tolist() == ["rs4129267", "rs2228145"]
    row = df.set_index("snp").loc["rs2228145"]
    assert row["pics"] == 0.61 and row["disease"] == "Crohns_disease" and row["n_diseases"] == 2
    assert df["pos"].dtype == np.int64


def test_read_pics_coding_filter_drops_whole_ld_sets(tmp_path, caplog):
    """An LD set is one Disease's rows of one index SNP. Asthma/rs1-T holds a missense SNP (written
    "Missense": case is ignored), so all three of its SNPs go though only one is coding; Lupus/rs1-T (rs2 again)
    goes too, with its utr5 SNP. rs1 stays through Crohns/rs3-A, whose SNPs are none and utr3 (not coding)."""
    rows = [
        ("Asthma", "rs1-T", "rs1", 100, 0.6, "none"), ("Asthma", "rs1-T", "rs2", 200, 0.3, "Missense"),
        ("Asthma", "rs1-T", "rs9", 300, 0.1, "none"),
        ("Lupus", "rs1-T", "rs2", 200, 0.2, "missense"), ("Lupus", "rs1-T", "rs8", 400, 0.7, "utr5"),
        ("Crohns", "rs3-A", "rs3", 500, 0.8, "utr3"), ("Crohns", "rs3-A", "rs1", 100, 0.05, "none"),
        ("Crohns", "rs7-G", "rs7", 600, 0.9, "none"),
    ]
    p = tmp_path / "pics.tsv"
    p.write_text(FARH_HEADER + "".join(f"{d}\t{i}\t{s}\tchr1\t{pos}\t{pics}\t{a}\tG\tnone\tNA\tnone\t0\t0\n"
                                       for d, i, s, pos, pics, a in rows))
    whole = read_pics(p)
    assert whole["snp"].tolist() == ["rs1", "rs2", "rs9", "rs8", "rs3", "rs7"]
    assert "coding_filter" not in whole.attrs  # no filter ran
    with caplog.at_level("INFO", logger="basset.pics"):
        df = read_pics(p, coding=CODING_ANNOTATIONS)
    # rs1 stays through Crohns (its PICS there, 0.05, since its Asthma row is gone); rs2, rs9, rs8 go
    assert df["snp"].tolist() == ["rs3", "rs1", "rs7"]
    assert df.set_index("snp").loc["rs1", "pics"] == 0.05 and df.set_index("snp").loc["rs1", "disease"] == "Crohns"
    assert df.attrs["coding_filter"] == {"snps_before": 6, "ld_sets": 4, "ld_sets_coding": 2, "rows_dropped": 5,
                                         "snps_dropped": 3}
    res = enrichment(_sad_table([("rs3", "chr1", 500, "C", [0.3])]), df)
    assert (res["coding_ld_sets"], res["coding_ld_sets_coding"], res["coding_snps_dropped"]) == (4, 2, 3)
    assert "2 of 4 LD sets hold a protein-coding SNP" in caplog.text
    # a custom list: utr5 counts as coding, missense does not
    assert read_pics(p, coding=["UTR5"])["snp"].tolist() == ["rs1", "rs2", "rs9", "rs3", "rs7"]
    # no Annotation column: kept whole, with a warning naming the file
    plain = tmp_path / "plain.tsv"
    plain.write_text("Disease\tIndexSNP_riskAllele\tSNP\tchr\tpos\tPICS_probability\nA\trs1-T\trs1\tchr1\t5\t0.5\n")
    with caplog.at_level("WARNING", logger="basset.pics"):
        kept = read_pics(plain, coding=CODING_ANNOTATIONS)
    assert kept["snp"].tolist() == ["rs1"] and "coding_filter" not in kept.attrs
    assert "plain.tsv: no Annotation column" in caplog.text


@pytest.mark.skipif(not FARH_EXCERPT.exists(), reason="shared reference excerpt not available")
def test_read_pics_coding_filter_on_the_published_excerpt():
    """The excerpt's Asthma/rs4129267-T set holds rs2228145 (missense): its 6 SNPs go; its utr3/utr5 SNPs'
    sets stay unless they also hold a coding SNP (checked by hand from the file)."""
    lines = [line.split("\t") for line in FARH_EXCERPT.read_text().splitlines()]
    col = {name: i for i, name in enumerate(lines[0])}
    sets: dict = {}
    for f in lines[1:]:
        sets.setdefault((f[col["Disease"]], f[col["IndexSNP_riskAllele"]]), []).append(f)
    coding = {k for k, rows in sets.items() if any(r[col["Annotation"]] == "missense" for r in rows)}
    assert ("Asthma", "rs4129267-T") in coding
    kept = {r[col["SNP"]] for k, rows in sets.items() if k not in coding for r in rows}
    df = read_pics(FARH_EXCERPT, coding=CODING_ANNOTATIONS)
    assert set(df["snp"]) == kept and "rs2228145" not in kept
    assert df.attrs["coding_filter"]["ld_sets_coding"] == len(coding)


def test_fraction_ratio_matches_scipy_bootstrap():
    """30 of 100 against 4 of 100 above the threshold: ratio 7.5, and the percentile interval of scipy's
    two-sample bootstrap (an outside reference) within Monte-Carlo error."""
    from scipy import stats

    hi = np.r_[np.ones(30, bool), np.zeros(70, bool)]
    lo = np.r_[np.ones(4, bool), np.zeros(96, bool)]
    ratio, ci_lo, ci_hi = fraction_ratio(hi, lo, n_boot=20000, seed=5)
    assert ratio == 7.5
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = stats.bootstrap((hi.astype(float), lo.astype(float)), lambda a, b, axis=-1: a.mean(axis) / b.mean(axis),
                              method="percentile", n_resamples=20000, random_state=1, vectorized=True)
    assert ci_lo == pytest.approx(ref.confidence_interval.low, rel=0.08)
    assert ci_hi == pytest.approx(ref.confidence_interval.high, rel=0.15)
    assert ci_lo < ratio < ci_hi
    assert fraction_ratio(hi, lo, n_boot=500, seed=5) == fraction_ratio(hi, lo, n_boot=500, seed=5)
    # a low group with none above: an infinite ratio; empty groups or none above at all: NaN
    r, a, b = fraction_ratio(hi, np.zeros(50, bool), n_boot=500)
    assert r == np.inf and a == b == np.inf
    assert all(np.isnan(fraction_ratio(hi, [], n_boot=100)))
    assert all(np.isnan(fraction_ratio(np.zeros(5, bool), np.zeros(5, bool), n_boot=100)))
    r, a, b = fraction_ratio(np.zeros(5, bool), lo, n_boot=100)
    assert r == a == b == 0.0


@pytest.mark.skipif(not FARH_EXCERPT.exists(), reason="shared reference excerpt not available")
def test_read_pics_farh_excerpt():
    """The shared excerpt: every SNP once, with the maximum PICS over its rows (the file split by hand)."""
    df = read_pics(FARH_EXCERPT)
    lines = [line.split("\t") for line in FARH_EXCERPT.read_text().splitlines()]
    col = {name: i for i, name in enumerate(lines[0])}
    best: dict = {}
    for f in lines[1:]:
        snp, pics = f[col["SNP"]], float(f[col["PICS_probability"]])
        if snp not in best or pics > best[snp][2]:
            best[snp] = (f[col["chr"]], int(f[col["pos"]]), pics, f[col["Disease"]])
    assert df["snp"].tolist() == list(best)
    assert list(zip(df["chrom"], df["pos"], df["pics"], df["disease"])) == list(best.values())
    assert df.iloc[0][["snp", "chrom", "pos", "pics"]].tolist() == ["rs4129267", "chr1", 154426264, 0.1324]


def test_read_pics_simulated_layout_and_errors(tmp_path):
    p = tmp_path / "pics.tsv"
    p.write_text("Disease\tIndexSNP_riskAllele\tSNP\tchr\tpos\tPICS_probability\n"
                 "Sim_trait\tsnp2-A\tsnp1\tchr1\t29370\t0.0296\nSim_trait\tsnp2-A\tsnp2\tchr1\t29628\t0.6181\n")
    df = read_pics(p)
    assert df["pos"].tolist() == [29370, 29628] and df["pics"].tolist() == [0.0296, 0.6181]
    bad = tmp_path / "nocols.tsv"
    bad.write_text("SNP\tchrom\tposition\tPICS\nrs1\tchr1\t5\t0.1\n")
    with pytest.raises(InputError, match="missing column.*chr, pos, PICS_probability.*expected"):
        read_pics(bad)
    badpos = tmp_path / "badpos.tsv"
    badpos.write_text("SNP\tchr\tpos\tPICS_probability\nrs1\tchr1\t5\t0.1\nrs2\tchr1\tfive\t0.2\n")
    with pytest.raises(InputError, match="badpos.tsv:3: expected a 1-based integer pos"):
        read_pics(badpos)


def test_read_pics_excel_without_reader_says_convert(tmp_path):
    try:
        import openpyxl  # noqa: F401
        pytest.skip("openpyxl is installed")
    except ImportError:
        pass
    x = tmp_path / "pics.xlsx"
    x.write_bytes(b"PK\x03\x04not really a workbook")
    with pytest.raises(InputError, match="tab-separated text"):
        read_pics(x)


#: the columns of Farh et al. 2015 table S1, as in the shared reference pics_farh2015_excerpt.tsv
FARH_COLUMNS = (
    "Disease IndexSNP_riskAllele SNP chr pos PICS_probability Annotation nearestGene eQTL eQTLdirection "
    "topEnhancer inferior_temporal_lobe angular_gyrus mid_frontal_lobe cingulate_gyrus substantia_nigra "
    "anterior_caudate hippocampus_middle CD25-_CD45RA+_naive CD25-_CD45RO+_mem CD25+_CD127-_Treg "
    "CD25-_IL17-_Th_stim_MACS CD25-_IL17+_Th17_stim Th0 Th1 Th2 CD45RA_CD8 CD45RO_CD8 adult_CD14 adult_CD20 "
    "GM12878 B_Cell_Centroblast Mobilized_CD34 K562 colonic_mucosa Duodenum_mucosa AdiposeNuclei HepG2 Liver1 "
    "Pancreatic_Islets kidney HSMM-myotube NH-Osteoblast chondrogenic_dif_cells"
).split()
#: (Disease, IndexSNP_riskAllele, SNP, chr, pos, PICS_probability): numbers written as Excel numbers
FARH_ROWS = [
    ("Asthma", "rs4129267-T", "rs4129267", "chr1", 154426264, 0.1324),
    ("Asthma", "rs4129267-T", "rs2228145", "chr1", 154426970, 0.0923),
    ("Crohns_disease", "rs4129267-T", "rs2228145", "chr1", 154426970, 0.61),
    ("Asthma", "rs3771180", "rs3771180", "chr2", 102953617, 0.1339),
]


def write_xls(path: Path, rows, title: str | None = "Supplementary Table 1: PICS fine-mapping") -> Path:
    """An Excel 97-2003 workbook like the published one: an optional title row and a blank row above the
    header, then one row per SNP; the annotation columns hold text ("NA"), the cell-type flags numbers."""
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Table S1")
    top = 0
    if title is not None:
        sheet.write(0, 0, title)
        top = 2  # row 2 (0-based 1) stays blank
    for j, name in enumerate(FARH_COLUMNS):
        sheet.write(top, j, name)
    for i, row in enumerate(rows, top + 1):
        for j, value in enumerate(row):
            sheet.write(i, j, value)
        for j, value in enumerate(["none", "IL6R", "none", "NA", "adult_CD14"], len(row)):
            sheet.write(i, j, value)
        for j in range(11, len(FARH_COLUMNS)):
            sheet.write(i, j, (i + j) % 2)
    book.save(str(path))
    return path


def test_read_pics_xls_as_published(tmp_path):
    """Reproduction: the published Farh et al. table S1 is an Excel .xls; read_pics took the first row as the
    header (a title row above the header gave 'missing column(s)'), and it needs xlrd. Now the OLE2 magic
    bytes select xlrd, the header row is found below the title, and the values are those written."""
    path = write_xls(tmp_path / "pics_farh2015.xls", FARH_ROWS)
    assert path.read_bytes()[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    df = read_pics(path)
    assert list(df.columns) == ["snp", "chrom", "pos", "pics", "disease", "n_diseases"]
    assert df["snp"].tolist() == ["rs4129267", "rs2228145", "rs3771180"]
    assert df["chrom"].tolist() == ["chr1", "chr1", "chr2"]
    assert df["pos"].tolist() == [154426264, 154426970, 102953617] and df["pos"].dtype == np.int64
    assert df["pics"].tolist() == [0.1324, 0.61, 0.1339]
    assert df["disease"].tolist() == ["Asthma", "Crohns_disease", "Asthma"]
    assert df["n_diseases"].tolist() == [1, 2, 1]
    # by content: the same workbook under a text name is still a workbook, and one without a title reads alike
    renamed = tmp_path / "pics.tsv"
    renamed.write_bytes(path.read_bytes())
    pd.testing.assert_frame_equal(read_pics(renamed), df)
    pd.testing.assert_frame_equal(read_pics(write_xls(tmp_path / "plain.xls", FARH_ROWS, title=None)), df)


def test_read_pics_xls_errors_name_the_spreadsheet_row(tmp_path):
    """Reproduction: an error in a workbook named line ``index + 2`` whatever the rows above the header; it
    now names the spreadsheet row (title in row 1, blank row 2, header row 3, so the 2nd SNP is row 5)."""
    rows = [FARH_ROWS[0], ("Asthma", "rs1-T", "rs1", "chr1", "154.4 Mb", 0.1)]
    with pytest.raises(InputError, match=r"bad\.xls:5: expected a 1-based integer pos, got '154\.4 Mb'"):
        read_pics(write_xls(tmp_path / "bad.xls", rows))
    garbage = tmp_path / "broken.xls"
    garbage.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    with pytest.raises(InputError, match=r"broken\.xls: not a readable Excel 97-2003 workbook .*tab-separated"):
        read_pics(garbage)


@pytest.mark.parametrize("gz", [False, True])
def test_read_pics_text_named_xls_is_read_as_text(tmp_path, gz):
    """Reproduction: a tab-separated table named ``.xls`` was handed to xlrd by its suffix and failed; the
    format is now decided by content (and a gzipped table is gunzipped)."""
    text = FARH_HEADER + "Asthma\trs4129267-T\trs4129267\tchr1\t154426264\t0.1324\tnone\tIL6R\tnone\tNA\tnone\t1\t0\n"
    path = tmp_path / "pics.xls"
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    df = read_pics(path)
    assert df[["snp", "chrom", "pos", "pics"]].values.tolist() == [["rs4129267", "chr1", 154426264, 0.1324]]


# ------------------------------------------------------------------------------------------ allele source
SITES_HEADER = ["##fileformat=VCFv4.1", "##source=dbSNP-like test sites",
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
SITES_RECORDS = [
    "1\t154426264\trs4129267\tC\tT\t.\t.\tRS=4129267",  # kept: ID
    "1\t154426300\trs999\tA\tG\t.\t.\tRS=999",  # no PICS SNP
    "1\t154426970\t.\tA\tC\t.\t.\t.",  # kept: position of rs2228145 (chr1 in PICS, 1 here)
    "2\t102953617\trs3771180;rs42\tG\tT,C\t.\t.\t.",  # kept: one of two IDs; multi-allelic kept whole
    "X\t100\trs5\tA\tC\t.\t.\t.",  # no PICS SNP
    "MT\t73\trs3087742\tA\tG\t.\t.\t.",  # kept: position of the PICS SNP on chrM
]
KEPT = [0, 2, 3, 5]
SITES_TEXT = ("\n".join(SITES_HEADER + SITES_RECORDS) + "\n").encode()
SITE_SNPS = pd.DataFrame({
    "snp": ["rs4129267", "rs2228145", "rs3771180", "rsMito", "rsAbsent"],
    "chrom": ["chr1", "chr1", "chr2", "chrM", "chr3"],
    "pos": [154426264, 154426970, 102953617, 73, 5],
})
EXPECTED_COUNTS = {"header_lines": 3, "records_read": 6, "records_kept": 4, "pics_snps": 5, "pics_found": 4,
                   "pics_found_by_id": 2, "pics_found_by_position_only": 2, "pics_not_found": 1,
                   "chrom_names_mapped": True}


def bgzip_like(data: bytes, member: int = 37) -> bytes:
    """Concatenated gzip members of ``member`` bytes each (cut mid-line, as bgzip cuts at 64 KiB), then the
    empty member bgzip ends with."""
    return b"".join(gzip.compress(data[i : i + member]) for i in range(0, len(data), member)) + gzip.compress(b"")


class FileHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.files[path]``; ``/short.vcf.gz`` announces 1000 bytes more than it sends."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        body = self.server.files.get(self.path.removesuffix("?short"))
        if body is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (1000 if self.path.endswith("?short") else 0)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def vcf_server():
    files = {"/sites.vcf.gz": gzip.compress(SITES_TEXT), "/sites.bgz": bgzip_like(SITES_TEXT), "/sites.vcf": SITES_TEXT}
    with loopback_server(FileHandler, files=files) as httpd:
        yield httpd


def kept_lines(path: Path) -> list[str]:
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    return gzip.decompress(path.read_bytes()).decode().splitlines()


@pytest.mark.parametrize("name", ["/sites.vcf.gz", "/sites.bgz", "/sites.vcf"])
def test_select_vcf_records_streams_gzip_bgzip_and_plain_over_http(vcf_server, tmp_path, monkeypatch, name):
    """Reproduction: the PICS table has no alleles and nothing selected them from a sites VCF. Now the
    records of the PICS SNPs (by rsID, or by position with chr1/1 and chrM/MT mapped) are streamed out of a
    gzipped, bgzipped (many members, cut mid-line) or plain VCF served over HTTP, read in 50-byte blocks so
    that gzip members and lines straddle blocks."""
    monkeypatch.setattr(basset.vcf, "STREAM_CHUNK", 50)
    out = tmp_path / "pics_snps.vcf.gz"
    summary = select_vcf_records(vcf_server.url + name, out, SITE_SNPS)
    assert kept_lines(out) == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]
    assert summary == {"source": vcf_server.url + name, "bytes_read": len(vcf_server.files[name]),
                       **EXPECTED_COUNTS}
    vcf = read_vcf(out)  # the selection is a VCF that score_variants reads
    assert vcf["id"].tolist() == ["rs4129267", ".", "rs3771180;rs42", "rs3771180;rs42", "rs3087742"]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_select_vcf_records_local_file_and_read_pics_table(tmp_path):
    """The same from a local bgzipped file named ``.vcf`` (compression by content) and a PICS table file."""
    source = tmp_path / "sites.vcf"
    source.write_bytes(bgzip_like(SITES_TEXT, member=11))
    pics = tmp_path / "pics.tsv"
    pics.write_text("SNP\tchr\tpos\tPICS_probability\n"
                    + "".join(f"{s}\t{c}\t{p}\t0.5\n" for s, c, p in SITE_SNPS.itertuples(index=False)))
    out = tmp_path / "out" / "pics_snps.vcf.gz"
    summary = select_vcf_records(source, out, read_pics(pics))
    assert kept_lines(out) == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]
    assert {k: summary[k] for k in EXPECTED_COUNTS} == EXPECTED_COUNTS


def test_select_vcf_records_fails_cleanly(vcf_server, tmp_path):
    """A body shorter than its Content-Length, a gzip cut short, a record with too few columns and a missing
    URL raise errors naming the source (and line); no output, no temporary file is left."""
    out = tmp_path / "pics_snps.vcf.gz"
    with pytest.raises(DownloadError, match=r"sites\.vcf\.gz\?short: truncated: received \d+ of \d+ bytes"):
        select_vcf_records(vcf_server.url + "/sites.vcf.gz?short", out, SITE_SNPS)
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(bgzip_like(SITES_TEXT)[:-40])
    with pytest.raises(InputError, match=r"cut\.vcf\.gz: truncated gzip data"):
        select_vcf_records(cut, out, SITE_SNPS)
    short = tmp_path / "short.vcf"
    short.write_text("\n".join(SITES_HEADER + SITES_RECORDS[:2] + ["1\t5\trs7"]) + "\n")
    with pytest.raises(InputError, match=r"short\.vcf:6: expected a VCF record with at least 5 .* got 3"):
        select_vcf_records(short, out, SITE_SNPS)
    with pytest.raises(DownloadError, match="HTTP error 404"):
        select_vcf_records(vcf_server.url + "/absent.vcf.gz", out, SITE_SNPS)
    with pytest.raises(DownloadError, match="malformed URL"):
        select_vcf_records(vcf_server.url + "/with space.vcf.gz", out, SITE_SNPS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.vcf.gz", "short.vcf"]


def _pics_table(tmp_path) -> Path:
    pics = tmp_path / "pics.tsv"
    pics.write_text("SNP\tchr\tpos\tPICS_probability\n"
                    + "".join(f"{s}\t{c}\t{p}\t0.5\n" for s, c, p in SITE_SNPS.itertuples(index=False)))
    return pics


def test_select_variants_cli(vcf_server, tmp_path, capsys):
    """``basset select-variants`` streams the PICS SNPs' records out of a sites VCF."""
    out = tmp_path / "cli.vcf.gz"
    assert cli_main(["-q", "select-variants", "--source", vcf_server.url + "/sites.bgz", "--pics",
                     str(_pics_table(tmp_path)), "--out", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["records_kept"] == 4
    assert kept_lines(out) == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]


def test_select_pics_variants_rule(vcf_server, tmp_path):
    """workflow/scripts/select_pics_variants.py runs the stage function with the rule's input, outputs and
    params, and logs to the rule's log."""
    outputs = {"vcf": str(tmp_path / "rule.vcf.gz"), "summary": str(tmp_path / "summary.tsv")}
    run_script("select_pics_variants", input={"pics": str(_pics_table(tmp_path))},
               params={"source": vcf_server.url + "/sites.vcf.gz"}, output=outputs, log=[str(tmp_path / "rule.log")])
    assert "kept 4 of 6 records" in (tmp_path / "rule.log").read_text()
    assert kept_lines(tmp_path / "rule.vcf.gz") == SITES_HEADER + [SITES_RECORDS[i] for i in KEPT]
    summary = pd.read_csv(tmp_path / "summary.tsv", sep="\t").set_index("key")["value"]
    assert summary["records_kept"] == "4" and summary["pics_not_found"] == "1"


def test_score_snps_and_pics_enrichment_rules(tmp_path):
    """The scripts of rules score_snps and pics_enrichment call the stage functions with the rule's inputs,
    outputs and params: the SAD table is score_variants' with the saved model, and Figure 5 is drawn."""
    torch.manual_seed(0)
    cfg = {"seq_len": 24, "conv_filters": [4], "conv_widths": [5], "conv_pools": [4], "conv_dropout": [0.0],
           "dense_units": [8], "dense_dropout": [0.0]}
    save_model(tmp_path / "model.pt", build_model(cfg, 2), ["a", "b"])
    fa, vcf = _genome(tmp_path), _write_vcf(tmp_path / "v.vcf", _vcf_text())
    inputs = {"model": str(tmp_path / "model.pt"), "fasta": str(fa), "fai": []}
    out = {"sad": str(tmp_path / "sad.h5"), "table": str(tmp_path / "sad.tsv.gz"),
           "rejects": str(tmp_path / "rejects.tsv.gz"), "summary": str(tmp_path / "summary.tsv")}
    variants = {"batch_size": 4, "rc_average": True, "weights": {}, "chunk_size": 3}
    run_script("score_snps", input={**inputs, "vcf": [str(vcf)]}, output=out,
               params={"device": "cpu", "variants": variants}, log=[str(tmp_path / "score.log")])
    model, meta = load_model(tmp_path / "model.pt")
    summary = score_variants(model, fa, vcf, tmp_path / "direct.h5", meta["target_names"], batch_size=4,
                             table=tmp_path / "direct.tsv.gz")
    assert (tmp_path / "sad.tsv.gz").read_bytes() == (tmp_path / "direct.tsv.gz").read_bytes()
    pd.testing.assert_frame_equal(read_sad(tmp_path / "sad.h5"), read_sad(tmp_path / "direct.h5"))
    written = pd.read_csv(out["summary"], sep="\t").set_index("key")["value"]
    assert written["scored"] == str(summary["scored"]) == "7"

    pics = tmp_path / "pics.tsv"
    pics.write_text("SNP\tchr\tpos\tPICS_probability\ndestroy\tchr1\t44\t0.9\ncreate\tchr1\t75\t0.8\n"
                    "edge\tchr1\t2\t0.01\n")
    out = {k: str(tmp_path / f"{k}.{ext}") for k, ext in (("summary", "tsv"), ("snps", "tsv"), ("fig5a", "png"),
                                                         ("fig5b", "png"))}
    run_script("pics_enrichment", input={**inputs, "sad": str(tmp_path / "sad.h5"), "pics": [str(pics)]},
               output=out, params={"device": "cpu", "variants": {"plot_window": 20}}, log=[str(tmp_path / "p.log")])
    enrichment_summary = pd.read_csv(out["summary"], sep="\t").set_index("key")["value"]
    direct = enrichment(read_sad(tmp_path / "sad.h5"), read_pics(pics))  # the rule's numbers are the function's
    assert enrichment_summary["n_high"] == "2" and enrichment_summary["n_low"] == "1"
    for key in ("frac_high", "frac_low", "mean_high", "mean_low", "mannwhitney_u", "mannwhitney_p", "fisher_p"):
        assert float(enrichment_summary[key]) == pytest.approx(direct[key], rel=1e-9, nan_ok=True), key
    snps = pd.read_csv(out["snps"], sep="\t")
    assert snps["snp"].tolist() == ["destroy", "create", "edge"] and snps["matched_by"].tolist() == ["id"] * 3
    for k in ("fig5a", "fig5b"):
        assert (tmp_path / f"{k}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / f"{k}.pdf").read_bytes()[:5] == b"%PDF-"
    top, _ = top_snp(read_sad(tmp_path / "sad.h5"), read_pics(pics))
    assert f"Figure 5B: {top['id']} chr1:{top['pos']} " in (tmp_path / "p.log").read_text()


# ------------------------------------------------------------------------------------------ enrichment
def _synthetic(n_high=30, n_low=200, seed=0):
    rng = np.random.default_rng(seed)
    n = n_high + n_low
    pics = np.r_[rng.uniform(0.5, 0.95, n_high), rng.uniform(0.0, 0.05, n_low)]
    scale = np.r_[np.full(n_high, 0.3), np.full(n_low, 0.03)]
    sad = rng.normal(0, 1, (n, 3)) * scale[:, None]
    ids = np.array([f"rs{i}" for i in range(n)], dtype=object)
    ids[::7] = "."  # joined on chrom + pos instead
    table = pd.DataFrame({"chrom": "chr1", "pos": np.arange(n) + 100, "id": ids, "ref": "A", "alt": "C",
                          "swapped": False, "mean_sad": sad.mean(1), "max_abs_sad": np.abs(sad).max(1),
                          "top_target": "t0"})
    table = pd.concat([table, pd.DataFrame(sad, columns=["t0", "t1", "t2"])], axis=1)
    pics_df = pd.DataFrame({"snp": [f"rs{i}" for i in range(n)], "chrom": "chr1", "pos": np.arange(n) + 100,
                            "pics": pics, "disease": "d", "n_diseases": 1})
    return table, pics_df


def test_pics_enrichment_detects_larger_sad_in_high_pics():
    table, pics_df = _synthetic()
    joined = join_pics(table, pics_df)
    assert joined["score"].notna().all() and set(joined["matched_by"]) == {"id", "chrom_pos"}
    res = enrichment(table, pics_df)
    assert res["n_high"] == 30 and res["n_low"] == 200 and res["n_matched"] == 230
    assert res["mannwhitney_p"] < 1e-6 and res["fisher_p"] < 1e-3
    assert res["frac_high"] > res["frac_low"]
    null = enrichment(*_null(table, pics_df))
    assert null["mannwhitney_p"] > 0.01


def _null(table, pics_df):
    rng = np.random.default_rng(1)
    t = table.copy()
    t[["t0", "t1", "t2"]] = sad = rng.normal(0, 0.05, (len(t), 3))
    t["mean_sad"], t["max_abs_sad"] = sad.mean(1), np.abs(sad).max(1)  # a SAD table's summaries follow its SAD
    return t, pics_df


def test_pics_enrichment_on_scored_file_and_empty_groups(scored):
    _, sad, _ = scored
    pics_df = pd.DataFrame({"snp": ["destroy", "create", "edge"], "chrom": "chr1", "pos": [44, 75, 2],
                            "pics": [0.9, 0.8, 0.01], "disease": "d", "n_diseases": 1})
    res = enrichment(sad, pics_df, sad_threshold=0.05, score="mean_abs")
    assert res["n_high"] == 2 and res["n_low"] == 1 and res["frac_high"] == 1.0 and res["frac_low"] == 0.0
    assert res["frac_high_any"] == 1.0 and res["frac_low_any"] == 0.0  # max |SAD| over targets
    default = enrichment(sad, pics_df, sad_threshold=0.05)  # |mean SAD|
    cols = sad_target_columns(sad)
    expected = sad.set_index("id").loc[["destroy", "create"], cols].mean(axis=1).abs()
    assert default["score"] == "abs_mean" and default["mean_high"] == pytest.approx(expected.mean(), rel=1e-6)
    empty = enrichment(sad, pics_df.assign(pics=0.2))
    assert empty["n_high"] == 0 and np.isnan(empty["mannwhitney_p"])


# ------------------------------------------------------------------------------------------ enrichment, by hand
def _sad_table(rows, targets=("t",)) -> pd.DataFrame:
    """A SAD table written by hand from ``(id, chrom, pos, alt, [sad per target])``; max_abs_sad is |SAD| max."""
    sad = np.array([r[4] for r in rows], dtype=np.float64)
    table = pd.DataFrame({"chrom": [r[1] for r in rows], "pos": np.array([r[2] for r in rows], dtype=np.int64),
                          "id": [r[0] for r in rows], "ref": "A", "alt": [r[3] for r in rows], "swapped": False,
                          "mean_sad": sad.mean(axis=1), "max_abs_sad": np.abs(sad).max(axis=1),
                          "top_target": targets[0]})
    return pd.concat([table, pd.DataFrame(sad, columns=list(targets))], axis=1)


#: PICS SNPs beside the thresholds (0.5 is high, 0.05 is low; 0.4999 and 0.0501 are neither), as text
THRESHOLD_PICS = ("SNP\tchr\tpos\tPICS_probability\n"
                  "rsH1\tchr1\t100\t0.5\nrsH2\tchr1\t200\t0.5001\nrsH3\tchr1\t300\t0.9\n"
                  "rsM1\tchr1\t400\t0.4999\nrsM2\tchr1\t500\t0.0501\n"
                  "rsL1\tchr1\t600\t0.05\nrsL2\tchr1\t700\t0.0499\nrsL3\tchr1\t800\t0\nrsL4\tchr1\t900\t0.01\n"
                  "rsNone\tchr1\t1000\t0.8\n")
THRESHOLD_SAD = [
    ("rsH1", "chr1", 100, "C", [0.3]),
    ("rsH2", "chr1", 200, "C", [0.1]),       # exactly at sad_threshold: not above it
    ("rsH3", "chr1", 300, "C", [-0.25]),     # two ALT alleles: the larger |SAD| counts
    ("rsH3", "chr1", 300, "G", [0.05]),
    ("rsM1", "chr1", 400, "C", [0.9]),       # would top every statistic if counted as high
    ("rsM2", "chr1", 500, "C", [0.9]),       # ... or as low
    ("rsL1", "chr1", 600, "C", [0.02]),
    ("rsL2", "chr1", 700, "C", [-0.15]),
    (".", "chr1", 800, "C", [0.1]),          # rsL3, matched by position
    ("rsL4", "chr1", 900, "C", [0.0]),
    ("rsOther", "chr1", 950, "C", [0.7]),    # not a PICS SNP
]
HIGH_SCORES, LOW_SCORES = [0.3, 0.1, 0.25], [0.02, 0.15, 0.1, 0.0]


def test_enrichment_thresholds_fractions_and_tests_by_hand(tmp_path):
    """PICS 0.5 is high and 0.05 low (>= and <=), 0.4999 and 0.0501 neither; a score equal to sad_threshold is
    not above it; the fractions, means, medians, Mann-Whitney U (counted by hand) and Fisher's exact test
    (odds ratio and hypergeometric p by hand) of the hand-made groups; scipy's p-values on the same groups."""
    from scipy import stats

    (tmp_path / "p.tsv").write_text(THRESHOLD_PICS)
    pics_df = read_pics(tmp_path / "p.tsv")
    table = _sad_table(THRESHOLD_SAD)
    joined = join_pics(table, pics_df).set_index("snp")
    assert joined["matched_by"].to_dict() == {**{s: "id" for s in joined.index}, "rsL3": "chrom_pos", "rsNone": ""}
    assert np.isnan(joined.loc["rsNone", "score"]) and joined.loc["rsH3", "score"] == 0.25
    res = enrichment(table, pics_df)
    assert (res["n_pics"], res["n_matched"], res["n_high"], res["n_low"]) == (10, 9, 3, 4)
    assert res["frac_high"] == 2 / 3 and res["frac_low"] == 1 / 4
    assert res["frac_high_any"] == 2 / 3 and res["frac_low_any"] == 1 / 4  # one target: max |SAD| = |mean|
    assert res["mean_high"] == pytest.approx(0.65 / 3, rel=1e-12) and res["median_high"] == 0.25
    assert res["mean_low"] == pytest.approx(0.0675, rel=1e-12) and res["median_low"] == pytest.approx(0.06)
    # U: pairs (high, low) with high > low, ties counting 1/2: 4 + (2 + 0.5) + 4
    assert res["mannwhitney_u"] == 10.5
    mw = stats.mannwhitneyu(HIGH_SCORES, LOW_SCORES, alternative="greater")
    assert res["mannwhitney_p"] == pytest.approx(mw.pvalue, rel=1e-12)
    assert res["mannwhitney_p"] < stats.mannwhitneyu(HIGH_SCORES, LOW_SCORES, alternative="less").pvalue
    # Fisher: [[2 high above, 1 high not], [1 low above, 3 low not]]; P(X >= 2) = (C(3,2) C(4,1) + 1) / C(7,3)
    assert res["fisher_odds_ratio"] == 6.0
    assert res["fisher_p"] == pytest.approx(13 / 35, rel=1e-12)
    assert (res["score"], res["high"], res["low"], res["sad_threshold"]) == ("abs_mean", 0.5, 0.05, 0.1)
    # the paper's ratio of the fractions above the threshold, (2/3) / (1/4), inside its bootstrap interval
    assert res["ratio"] == pytest.approx(8 / 3, rel=1e-12) and res["ratio_ci_low"] <= 8 / 3 <= res["ratio_ci_high"]
    assert res["n_boot"] == 10000 and "coding_ld_sets" not in res  # a table read without the coding filter
    assert res["ratio_any"] == pytest.approx((2 / 3) / (1 / 4), rel=1e-12)  # one target: the same fractions

    looser = enrichment(table, pics_df, sad_threshold=0.05)  # every high score and 0.15, 0.1 of the low above
    assert (looser["frac_high"], looser["frac_low"]) == (1.0, 0.5)
    assert looser["fisher_p"] == pytest.approx(stats.fisher_exact([[3, 0], [2, 2]], alternative="greater").pvalue)
    custom = enrichment(table, pics_df, high=0.9, low=0.0)  # the thresholds given are the ones used
    assert (custom["n_high"], custom["n_low"], custom["mean_high"], custom["mean_low"]) == (1, 1, 0.25, 0.1)


def test_enrichment_scores_over_targets_and_any_target_fraction():
    """abs_mean = |mean SAD|, mean_abs = mean |SAD|, max_abs = max |SAD| (by hand); frac_*_any counts SNPs
    with some target above the threshold even when the mean is not."""
    rows = [("h1", "c", 1, "C", [0.3, -0.3]), ("h2", "c", 2, "C", [0.1, -0.5]),
            ("l1", "c", 3, "C", [0.0, 0.05]), ("l2", "c", 4, "C", [0.4, 0.0])]
    table = _sad_table(rows, targets=("x", "y"))
    assert sad_scores(table, "abs_mean").tolist() == [0.0, 0.2, 0.025, 0.2]
    assert sad_scores(table, "mean_abs").tolist() == [0.3, 0.3, 0.025, 0.2]
    assert sad_scores(table, "max_abs").tolist() == [0.3, 0.5, 0.05, 0.4]
    with pytest.raises(ValueError, match="score must be one of"):
        sad_scores(table, "max")
    pics_df = pd.DataFrame({"snp": ["h1", "h2", "l1", "l2"], "chrom": "c", "pos": [1, 2, 3, 4],
                            "pics": [0.7, 0.6, 0.01, 0.02]})
    res = enrichment(table, pics_df, sad_threshold=0.25)
    assert (res["frac_high"], res["frac_low"]) == (0.0, 0.0)  # |mean|: 0.0, 0.2 | 0.025, 0.2
    assert (res["frac_high_any"], res["frac_low_any"]) == (1.0, 0.5)  # max |SAD|: 0.3, 0.5 | 0.05, 0.4
    by_max = enrichment(table, pics_df, sad_threshold=0.25, score="max_abs")
    assert (by_max["frac_high"], by_max["frac_low"], by_max["mean_high"]) == (1.0, 0.5, 0.4)
    assert "frac_high_any" not in by_max
    by_mean_abs = enrichment(table, pics_df, sad_threshold=0.25, score="mean_abs")
    assert (by_mean_abs["frac_high"], by_mean_abs["frac_low"]) == (1.0, 0.0)


def test_join_pics_prefers_the_id_and_keeps_the_largest_alt():
    """A SNP found by ID keeps the score of its own rows (the maximum over its ALT alleles), even when another
    row sits at its position; by position only when its ID is absent; '.' IDs never match a name."""
    table = _sad_table([("rsA", "chr1", 10, "C", [0.2]), ("rsA", "chr1", 10, "G", [-0.4]),
                        (".", "chr1", 10, "T", [0.9]), (".", "chr1", 20, "C", [0.3]),
                        (".", "chr1", 20, "G", [0.35])])
    pics_df = pd.DataFrame({"snp": ["rsA", "rsB", "."], "chrom": "chr1", "pos": [10, 20, 30], "pics": 0.5})
    j = join_pics(table, pics_df)
    assert j["score"].tolist()[:2] == [0.4, 0.35] and np.isnan(j["score"].iloc[2])
    assert j["matched_by"].tolist() == ["id", "chrom_pos", ""]
    # a PICS table filtered by the user (index 7, 3, 5, not 0..2) gets the same scores on the same rows
    picked = pics_df.set_axis([7, 3, 5])
    j = join_pics(table, picked)
    assert list(j.index) == [7, 3, 5] and j["score"].tolist()[:2] == [0.4, 0.35] and np.isnan(j["score"].iloc[2])
    assert j["matched_by"].tolist() == ["id", "chrom_pos", ""]


def test_top_snp_thresholds_ties_and_fallback(tmp_path):
    """Figure 5B's SNP: the largest max_abs_sad among PICS >= high (0.5 counts, 0.4999 does not, whatever its
    SAD); of equal ones the first in the table; all scored SNPs when none is high; NaN PICS for a row matched
    by position."""
    (tmp_path / "p.tsv").write_text(THRESHOLD_PICS)
    pics_df = read_pics(tmp_path / "p.tsv")
    top, pics = top_snp(_sad_table(THRESHOLD_SAD), pics_df)
    assert (top["id"], pics) == ("rsH1", 0.5)
    top, pics = top_snp(_sad_table(THRESHOLD_SAD), pics_df, high=0.6)
    assert (top["id"], top["alt"], pics) == ("rsH3", "C", 0.9)
    tied = _sad_table([("rsB", "chr1", 2, "C", [0.4]), ("rsA", "chr1", 1, "C", [-0.4]), ("rsC", "chr1", 3, "C", [0.9])])
    tie_pics = pd.DataFrame({"snp": ["rsA", "rsB", "rsC"], "chrom": "chr1", "pos": [1, 2, 3], "pics": [0.8, 0.7, 0.1]})
    top, pics = top_snp(tied, tie_pics)
    assert (top["id"], pics) == ("rsB", 0.7)
    top, pics = top_snp(tied, tie_pics.assign(pics=[0.2, 0.3, 0.1]))  # no high SNP: all scored ones
    assert (top["id"], pics) == ("rsC", 0.1)
    by_pos = _sad_table([(".", "chr1", 1, "C", [0.3]), ("rsB", "chr1", 2, "C", [0.2])])
    top, pics = top_snp(by_pos, tie_pics)
    assert (top["pos"], top["id"]) == (1, ".") and np.isnan(pics)
    with pytest.raises(ValueError, match="no PICS SNP has a SAD score"):
        top_snp(by_pos, tie_pics.assign(snp=["x", "y", "z"], pos=[7, 8, 9]))


def test_sad_scores_default_keeps_the_index_float64_and_names_errors():
    """sad_scores' default score is abs_mean; the scores carry the table's own index (a filtered table) and are
    float64 even for integer SAD columns; the errors say what is wrong."""
    rows = [("h1", "c", 1, "C", [0.3, -0.3]), ("h2", "c", 2, "C", [0.1, -0.5]), ("l1", "c", 3, "C", [0.0, 0.05])]
    table = _sad_table(rows, targets=("x", "y")).iloc[[2, 0]]
    assert sad_scores(table).tolist() == [0.025, 0.0] and sad_scores(table).index.tolist() == [2, 0]
    targets_only = table.drop(columns=["mean_sad", "max_abs_sad"])  # scores from the per-target columns
    for score in ("abs_mean", "mean_abs", "max_abs"):
        assert sad_scores(table, score).index.tolist() == [2, 0], score
        assert sad_scores(targets_only, score).tolist() == sad_scores(table, score).tolist(), score
        ints = sad_scores(targets_only.assign(x=[1, -3], y=[2, 0]), score)
        assert ints.dtype == np.float64 and ints.index.tolist() == [2, 0], score
    assert sad_scores(targets_only.assign(x=[1, -3], y=[2, 0]), "max_abs").tolist() == [2.0, 3.0]
    # the summary columns (computed before the SAD was rounded) win over the targets when both are there
    assert sad_scores(table.assign(mean_sad=[-0.5, 0.25]), "abs_mean").tolist() == [0.5, 0.25]
    assert sad_scores(table.assign(max_abs_sad=[0.5, 0.25]), "max_abs").tolist() == [0.5, 0.25]
    summary_only = table.drop(columns=["x", "y"])  # the summary TSV
    assert sad_scores(summary_only, "max_abs").tolist() == [0.05, 0.3]
    with pytest.raises(ValueError, match=r"^the SAD table has no per-target columns \(score 'mean_abs' needs them\)$"):
        sad_scores(summary_only, "mean_abs")
    with pytest.raises(ValueError, match=r"^the SAD table has no per-target columns \(score 'abs_mean' needs them\)$"):
        sad_scores(targets_only.drop(columns=["x", "y"]))
    with pytest.raises(ValueError, match=r"^score must be one of abs_mean, mean_abs, max_abs, got 'max'$"):
        sad_scores(table, "max")


#: the keys of enrichment's result (frac_*_any unless the score is max_abs)
ENRICHMENT_KEYS = {"score", "high", "low", "sad_threshold", "n_pics", "n_matched", "n_high", "n_low", "frac_high",
                   "frac_low", "mean_high", "mean_low", "median_high", "median_low", "mannwhitney_u", "mannwhitney_p",
                   "fisher_odds_ratio", "fisher_p", "frac_high_any", "frac_low_any", "ratio", "ratio_ci_low",
                   "ratio_ci_high", "ratio_any", "ratio_any_ci_low", "ratio_any_ci_high", "n_boot"}


@pytest.mark.parametrize("pics", [0.9, 0.01, 0.2])
def test_enrichment_with_an_empty_group_is_nan_without_warnings(pics):
    """A group with no SNP (only high, only low, or neither) gives NaN statistics for it and NaN tests (not
    Fisher's p = 1 of an empty row), with no numpy or scipy warning; the result has the same keys."""
    table = _sad_table([("a", "c", 1, "C", [0.3]), ("b", "c", 2, "C", [-0.1])])
    pics_df = pd.DataFrame({"snp": ["a", "b"], "chrom": "c", "pos": [1, 2], "pics": pics})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = enrichment(table, pics_df)
    assert set(res) == ENRICHMENT_KEYS
    assert (res["n_high"], res["n_low"]) == ((2, 0) if pics == 0.9 else (0, 2) if pics == 0.01 else (0, 0))
    for group in ("high", "low"):
        values = [res[f"{k}_{group}"] for k in ("frac", "mean", "median")] + [res[f"frac_{group}_any"]]
        if res[f"n_{group}"]:
            assert values == [0.5, pytest.approx(0.2), pytest.approx(0.2), 0.5], group
        else:
            assert all(np.isnan(v) for v in values), group
    assert all(np.isnan(res[k]) for k in ("mannwhitney_u", "mannwhitney_p", "fisher_odds_ratio", "fisher_p"))
    both = enrichment(table, pics_df.assign(pics=[0.9, 0.01]))
    assert set(both) == ENRICHMENT_KEYS and (both["mannwhitney_u"], both["fisher_odds_ratio"]) == (1.0, np.inf)


def test_top_snp_row_matched_by_id_at_another_position():
    """A SAD row joined to its PICS SNP by ID, at a position other than the PICS table's (another build), is
    still a candidate for Figure 5B, with its PICS probability; the error names the problem exactly."""
    table = _sad_table([("rsA", "chr1", 50, "C", [0.4]), ("rsB", "chr1", 2, "C", [0.1])])
    pics_df = pd.DataFrame({"snp": ["rsA", "rsB"], "chrom": "chr1", "pos": [1, 2], "pics": [0.8, 0.6]})
    top, pics = top_snp(table, pics_df)
    assert (top["id"], top["pos"], pics) == ("rsA", 50, 0.8)
    with pytest.raises(ValueError, match=r"^no PICS SNP has a SAD score: nothing to draw$"):
        top_snp(table, pics_df.assign(snp=["x", "y"], pos=[7, 8]))


# ------------------------------------------------------------------------------------------ SAD helpers, exactly
def test_input_length_explicit_from_config_or_an_exact_error():
    """seq_len wins; without it the model's config['seq_len']; a model with neither gets the exact message."""
    assert input_length(MotifModel(), 33) == 33
    configured = MotifModel()
    configured.config = {"seq_len": 50}
    assert input_length(configured) == 50 and input_length(configured, "12") == 12
    message = "seq_len not given and the model has no config['seq_len']: pass seq_len explicitly"
    with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):
        input_length(MotifModel())


def test_check_target_names_exact_messages_for_duplicates_and_clashes():
    """Names become strings; a duplicate or a name of a fixed column raises, naming the clashes (sorted)."""
    assert check_target_names(["a", 1]) == ["a", "1"]
    head = f"target names must be unique and differ from the table's columns {SAD_COLUMNS}; got "
    with pytest.raises(ValueError, match=rf"^{re.escape(head + 'duplicates')}$"):
        check_target_names(["a", "b", "a"])
    with pytest.raises(ValueError, match=rf"^{re.escape(head + 'id, pos')}$"):
        check_target_names(["pos", "x", "id"])
    with pytest.raises(ValueError, match=rf"^{re.escape(head + 'weighted')}$"):
        check_target_names(["weighted"])


class BatchRecorder(PositionLinear):
    """PositionLinear that records the size of each batch it is called on."""

    def __init__(self, weight, bias):
        super().__init__(weight, bias)
        self.batches = []

    def forward(self, x):
        self.batches.append(int(x.shape[0]))
        return super().forward(x)


def test_predict_codes_pair_and_score_windows_defaults_device_and_batches():
    """With defaults (CPU, rc averaging on) both give the hand probabilities of both strands; the device asked
    for is used (a bad one is refused); ref, then alt, go through in batches of batch_size."""
    weight, bias = linear_weights(8, T=2, seed=3)
    ref_w, alt_w = ["ACGTTGCA", "NNNNACGT"], ["ACGTAGCA", "NNNNCCGT"]
    ref = np.stack([encode(w) for w in ref_w])
    alt = np.stack([encode(w) for w in alt_w])
    model = PositionLinear(weight, bias)
    p_ref, p_alt = predict_codes_pair(model, ref, alt)
    np.testing.assert_allclose(p_ref, [hand_prob(w, weight, bias, True) for w in ref_w], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p_alt, [hand_prob(w, weight, bias, True) for w in alt_w], rtol=1e-5, atol=1e-6)
    plain = [hand_prob(w, weight, bias, False) for w in ref_w]
    assert np.abs(np.asarray(plain) - p_ref).max() > 1e-3  # the model is not strand-symmetric
    sad = score_windows(model, ref, alt, 2)
    assert sad.dtype == np.float32
    np.testing.assert_allclose(sad, np.asarray(p_alt, np.float64) - p_ref, rtol=1e-6, atol=1e-7)
    for call in (lambda: predict_codes_pair(model, ref, alt, device="nowhere"),
                 lambda: score_windows(model, ref, alt, 2, device="nowhere")):
        with pytest.raises(ConfigError, match="got 'nowhere'"):
            call()
    recorder = BatchRecorder(weight, bias)
    predict_codes_pair(recorder, ref, alt, batch_size=1, rc_average=False)
    assert recorder.batches == [1, 1, 1, 1]
    recorder.batches.clear()
    score_windows(recorder, np.concatenate([ref, ref]), np.concatenate([alt, alt]), 2, batch_size=3,
                  rc_average=False)
    assert recorder.batches == [3, 1, 3, 1]


def test_sad_target_columns_prefers_the_recorded_target_names():
    """attrs['target_names'] (as read_sad sets it) decides, even with other columns joined on; without it,
    every column that is not a fixed one."""
    df = pd.DataFrame(columns=SAD_COLUMNS + ["t1", "t2", "PICS_probability"])
    assert sad_target_columns(df) == ["t1", "t2", "PICS_probability"]
    df.attrs["target_names"] = ["t1", "t2"]
    assert sad_target_columns(df) == ["t1", "t2"]


def test_iter_vcf_chunks_of_split_records_have_a_fresh_index(tmp_path):
    """A chunk with multi-allelic records split into rows is indexed 0..n-1 (no repeated labels)."""
    text = "c\t30\tm\tA\tC,G\nc\t31\tn\tG\tT\nc\t32\to\tT\tA,C,G\n"
    chunks = list(iter_vcf(_write_vcf(tmp_path / "m.vcf", text), chunk_size=2))
    assert [len(c) for c in chunks] == [3, 3]
    for chunk in chunks:
        assert chunk.index.equals(pd.RangeIndex(len(chunk)))
    assert chunks[1]["alt"].tolist() == ["A", "C", "G"]


def test_variant_sequences_empty_alt_is_a_deletion_of_ref(genome_cd):
    """An empty ALT (a deletion written without an anchor base): the left flank, then the genome right after
    REF from the centre on."""
    vs = variant_sequences(genome_cd, _variants([("c", 27, "GA", "")]), 8)
    assert want_alt(GENOME_C, 27, "GA", "", 8) == "CCGCAAGT"
    assert vs.status.tolist() == ["ok"] and vs.indel.tolist() == [True] and not vs.off_end.any()
    assert decode(vs.ref[0]) == "CCGCGAAA" and decode(vs.alt[0]) == "CCGCAAGT"


# ------------------------------------------------------------------------------------------ SAD at scale (issue 13)
# The HDF5 SAD file, shards joined in VCF order, rejects, chromosome names, N alleles, duplicates. Expected values
# come from the VCF text written here and from plain h5py/pandas reads of the files.

SCALE_TARGETS = ["t0", "t1", "t2", "t3"]
SCALE_L = 12


class CentreModel(nn.Module):
    """Logits from the 4 bases around the window centre (position-dependent: a window centred one base off
    scores differently), 4 targets."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.w = nn.Parameter(torch.randn(len(SCALE_TARGETS), 4, 4, generator=g))

    def forward(self, x):
        c = x.shape[-1] // 2
        return torch.einsum("bkl,tkl->bt", x[:, :, c - 2 : c + 2], self.w)


def _scale_genome(path, names=("chr1", "chr2")):
    rng = np.random.default_rng(5)
    seqs = {n: "".join(rng.choice(list("ACGT"), 300)) for n in names}
    path.write_text("".join(f">{n}\n{s}\n" for n, s in seqs.items()))
    return path, seqs


def _scale_records(seqs, chrom_out=lambda c: c):
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


def _scale_vcf(path, recs, gz=False):
    """A VCF of the records ``(chrom, pos, id, ref, alt)`` with a 2-line header (data from line 3)."""
    header = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    return _write_vcf(path, _vcf_text(recs, header), gz=gz)


@pytest.fixture()
def scale_data(tmp_path):
    fa, seqs = _scale_genome(tmp_path / "g.fa")
    recs = _scale_records(seqs)
    return fa, seqs, recs, _scale_vcf(tmp_path / "v.vcf", recs)


def _scale_score(fa, vcf, folder, **kw):
    folder.mkdir(exist_ok=True)
    out = {"out_path": folder / "sad.h5", "table": folder / "sad.tsv.gz", "rejects": folder / "sad.rejects.tsv.gz"}
    summary = score_variants(CentreModel(), fa, vcf, target_names=SCALE_TARGETS, seq_len=SCALE_L, batch_size=5,
                             **out, **kw)
    return summary, out


def _h5_datasets(path) -> dict:
    """Every dataset and attribute of an HDF5 file, read with plain h5py."""
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
        out["attrs"] = {k: v for k, v in f.attrs.items()}
    return out


def test_sad_file_layout_with_plain_h5py(scale_data, tmp_path):
    """The layout the docs promise: one row per split record read (not the malformed or symbolic ones), in VCF
    order, with its status; the SAD matrix chunked, shuffled and deflated float16, NaN where not scored."""
    fa, seqs, recs, vcf = scale_data
    summary, out = _scale_score(fa, vcf, tmp_path / "a", chunk_size=7)
    with h5py.File(out["out_path"]) as f:
        assert f["sad"].dtype == np.float16 and f["sad"].compression == "gzip" and f["sad"].shuffle
        assert f["sad"].chunks[1] == len(SCALE_TARGETS)
        assert f.attrs["format"] == "basset-sad" and f.attrs["targets"] == 4 and f.attrs["seq_len"] == SCALE_L
        assert [t.decode() for t in f["target_names"][()]] == SCALE_TARGETS
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


def test_hdf5_reads_back_as_the_tsvs_to_float16_precision(scale_data, tmp_path):
    """read_sad of the HDF5 file, of the summary TSV and of the per-target TSV give the same rows; the SAD to
    3 significant digits (float16), the summaries to 6."""
    fa, _, _, vcf = scale_data
    _, out = _scale_score(fa, vcf, tmp_path / "a")
    h5 = read_sad(out["out_path"])
    table = read_sad(out["table"])
    write_sad_tsv(out["out_path"], tmp_path / "targets.tsv")
    targets = read_sad(tmp_path / "targets.tsv")
    assert len(h5) == len(table) == len(targets) > 50
    for col in ("chrom", "pos", "id", "ref", "alt", "swapped", "top_target"):
        assert h5[col].tolist() == table[col].tolist() == targets[col].tolist(), col
    np.testing.assert_allclose(table["mean_sad"], h5["mean_sad"], rtol=1e-5, atol=1e-9)
    _scale_score(fa, vcf, tmp_path / "b", dtype="float32")
    full = read_sad(tmp_path / "b" / "sad.h5")
    np.testing.assert_allclose(targets[SCALE_TARGETS].to_numpy(), full[SCALE_TARGETS].to_numpy(), rtol=2.0**-11,
                               atol=1e-7)
    assert targets.attrs["target_names"] == SCALE_TARGETS


def test_sharded_scoring_equals_unsharded(scale_data, tmp_path):
    """Scoring in 3 shards (chunks of 5 records in turn) and gathering gives the same SAD file, summary TSV,
    rejects and counts as one job, with a duplicate whose first record sits in another shard and malformed
    records in several shards."""
    fa, _, _, vcf = scale_data
    whole, out = _scale_score(fa, vcf, tmp_path / "whole", chunk_size=5)
    parts = [_scale_score(fa, vcf, tmp_path / f"s{k}", chunk_size=5, shard=(k, 3)) for k in range(3)]
    assert sum(p[0]["scored"] for p in parts) == whole["scored"]
    from basset.tables import write_summary

    for k, (summary, _) in enumerate(parts):
        write_summary(tmp_path / f"s{k}" / "summary.tsv", summary)
    gathered = {"sad": tmp_path / "g" / "sad.h5", "table": tmp_path / "g" / "sad.tsv.gz",
                "rejects": tmp_path / "g" / "sad.rejects.tsv.gz", "summary": tmp_path / "g" / "summary.tsv"}
    total = gather_sad([p[1]["out_path"] for p in reversed(parts)], rejects=[p[1]["rejects"] for p in parts],
                       summary=[tmp_path / f"s{k}" / "summary.tsv" for k in range(3)], fasta=str(fa), out=gathered)
    a, b = _h5_datasets(out["out_path"]), _h5_datasets(gathered["sad"])
    assert sorted(a) == sorted(b)
    for key in a:
        if key == "attrs":
            continue
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    def settings(attrs):
        return {k: v for k, v in attrs.items() if k != "shard"}

    assert settings(a["attrs"]) == settings(b["attrs"])
    assert gzip.open(out["table"]).read() == gzip.open(gathered["table"]).read()
    assert gzip.open(out["rejects"]).read() == gzip.open(gathered["rejects"]).read()
    for key in ("variants_read", "scored", "duplicate_skipped", "malformed_rejected", "swapped", "n_allele_skipped"):
        assert total[key] == whole[key], key


def test_rejects_name_file_line_id_and_reason(scale_data, tmp_path):
    """Malformed and skipped records are listed with the VCF, the 1-based line, the ID and why, in line order;
    strict makes the first malformed one fatal."""
    fa, _, recs, vcf = scale_data
    _, out = _scale_score(fa, vcf, tmp_path / "a")
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
        _scale_score(fa, vcf, tmp_path / "strict", strict=True)
    assert not (tmp_path / "strict" / "sad.h5").exists()


def test_chr_less_vcf_scores_every_variant_after_mapping(tmp_path, caplog):
    """A VCF naming 1, 2 against a genome of chr1, chr2 scores exactly what the chr-named VCF scores, and the
    mapping is logged; M is matched to chrM."""
    fa, seqs = _scale_genome(tmp_path / "g.fa", names=("chr1", "chr2", "chrM"))
    named = _scale_score(fa, _scale_vcf(tmp_path / "named.vcf", _scale_records(seqs)), tmp_path / "a")[0]
    recs = _scale_records(seqs, chrom_out=lambda c: c.removeprefix("chr")) + [("M", 10, "mito", seqs["chrM"][9], "N")]
    with caplog.at_level("INFO"):
        bare, out = _scale_score(fa, _scale_vcf(tmp_path / "bare.vcf.gz", recs, gz=True), tmp_path / "b")
    assert bare["scored"] == named["scored"] > 50 and bare["unknown_chrom_skipped"] == 1  # chrUn only
    assert bare["chroms_mapped"] == "1->chr1,2->chr2,M->chrM"
    assert "mapped onto the genome's: 1->chr1, 2->chr2, M->chrM" in caplog.text
    table = read_sad(out["out_path"])
    assert set(table["chrom"]) == {"1", "2"}  # the VCF's own names are kept


def test_a_vcf_matching_no_chromosome_fails_with_names_from_both(tmp_path):
    fa, seqs = _scale_genome(tmp_path / "g.fa")
    vcf = _scale_vcf(tmp_path / "v.vcf", [("scaffold_1", 10, "a", "A", "C"), ("scaffold_2", 10, "b", "A", "C")])
    with pytest.raises(InputError, match=r"v.vcf: no variant is on a chromosome of the genome .*g.fa: the VCF names "
                                         r"scaffold_1, scaffold_2; the genome has chr1, chr2"):
        _scale_score(fa, vcf, tmp_path / "a")
    assert not any((tmp_path / "a").iterdir())


def test_ref_n_is_skipped_not_swapped(tmp_path):
    """REF N where the genome shows the ALT base would be 'swapped' by the allele check; it is skipped instead."""
    fa, seqs = _scale_genome(tmp_path / "g.fa")
    here, nxt = seqs["chr1"][99], seqs["chr1"][100]
    vcf = _scale_vcf(tmp_path / "v.vcf", [("chr1", 100, "refN", "N", here),
                                    ("chr1", 101, "ok", nxt, "A" if nxt != "A" else "C")])
    summary, out = _scale_score(fa, vcf, tmp_path / "a")
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


def test_bf16_scoring_moves_the_sad_a_little(scale_data, tmp_path):
    """bfloat16 autocast (an option meant for CUDA; autocast runs on the CPU too) changes the SAD by about
    bfloat16's precision, no more: the same rows, values within 2e-2 of float32, not all identical."""
    fa, _, _, vcf = scale_data

    class Conv(nn.Module):  # a layer that autocast really runs in bfloat16
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = nn.Conv1d(4, 8, 5)
            self.lin = nn.Linear(8, len(SCALE_TARGETS))

        def forward(self, x):
            return self.lin(torch.relu(self.conv(x)).amax(dim=-1))

    def run(folder, bf16):
        score_variants(Conv(), fa, vcf, folder / "sad.h5", SCALE_TARGETS, seq_len=SCALE_L, bf16=bf16, dtype="float32")
        return read_sad(folder / "sad.h5")

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    full, half = run(tmp_path / "a", False), run(tmp_path / "b", True)
    assert full["id"].tolist() == half["id"].tolist()
    diff = np.abs(full[SCALE_TARGETS].to_numpy() - half[SCALE_TARGETS].to_numpy())
    assert 0 < diff.max() < 2e-2
    with h5py.File(tmp_path / "b" / "sad.h5") as f:
        assert bool(f.attrs["bf16"]) is True


def test_a_reader_process_that_dies_is_an_error_and_leaves_no_output(tmp_path, monkeypatch):
    """The VCF is read in a forked worker process; if it dies without a word (killed, out of memory) the run
    stops with an error that says so, instead of waiting for ever or writing a partial SAD file."""
    import os

    import basset.stages.variants as stage

    def dying(*args):
        os._exit(3)
        yield  # pragma: no cover

    monkeypatch.setattr(stage, "_prepare", dying)
    fa = _genome(tmp_path)
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text())
    with pytest.raises(RuntimeError, match=r"reader process ended without a result \(exit code 3"):
        score_variants(MotifModel(), fa, vcf, tmp_path / "sad.h5", TARGETS, seq_len=L, table=tmp_path / "t.tsv")
    assert not (tmp_path / "sad.h5").exists() and not (tmp_path / "t.tsv").exists()
    assert not any(p.name.startswith((".tmp-", ".stage-")) for p in tmp_path.iterdir())


def test_errors_cross_a_process_boundary_unchanged():
    """Errors raised in the reader process are pickled to the scoring process: every basset error comes back with
    its class, message and fields."""
    import pickle

    from basset.errors import UsageError
    from basset.fileio import DiskFullError

    for exc in (InputError("v.vcf", "expected an integer POS", line=7, record="chr1 x"),
                ConfigError("variants.chunk_size", "must be >= 1"), UsageError("--target", "unknown target 'x'"),
                DiskFullError("/x/sad.h5", "writing chunk 3")):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc) and back.args == exc.args
        assert vars(back) == vars(exc)


def test_the_reader_process_leaves_when_the_scoring_process_is_killed(tmp_path):
    """kill -9 of `basset sad` in the middle: its VCF reader process does not linger (it notices that its parent
    is gone), and no output exists under a final name."""
    import os
    import signal
    import subprocess
    import sys
    import time

    fa = _genome(tmp_path)
    records = [("chr1", 44, f"v{i}", "T", "C") for i in range(400)]
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text(records))
    script = (
        "import time, torch\n"
        "from basset.stages.variants import score_variants\n"
        "class Slow(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        time.sleep(0.2)\n"
        "        return x.sum(dim=(1, 2))[:, None].repeat(1, 2)\n"
        f"score_variants(Slow(), {str(fa)!r}, {str(vcf)!r}, {str(tmp_path / 'sad.h5')!r}, ['a', 'b'], seq_len=20,\n"
        f"               chunk_size=5, batch_size=1, table={str(tmp_path / 'sad.tsv')!r})\n")
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(Path(
        basset.vcf.__file__).parents[1])})

    def children():
        kids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == proc.pid and fields[0] != "Z":
                    kids.append(int(entry))
        return kids

    for _ in range(600):  # until the reader process exists (the import of torch takes a while)
        kids = children()
        if kids:
            break
        time.sleep(0.1)
    assert kids, "no reader process appeared"
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    def alive(pid):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    for _ in range(300):
        if not any(alive(k) for k in kids):
            break
        time.sleep(0.1)
    assert not any(alive(k) for k in kids), "the reader process outlived the killed scoring process"
    assert not (tmp_path / "sad.h5").exists() and not (tmp_path / "sad.tsv").exists()


def test_core_share_leaves_a_core_only_when_the_reader_is_the_bottleneck():
    """The scoring process keeps every torch thread unless, over the chunks after the first, it worked less than 4
    times the reader's CPU time on them; the first chunk (start-up) does not count; a GPU run never changes the CPU
    threads; restore gives the number back."""
    import torch

    from basset.stages.variants import _CoreShare

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        cheap = _CoreShare("cpu", probe=2)
        cheap.record(0.0, 100.0)  # start-up: ignored
        cheap.record(0.3, 1.0)
        assert torch.get_num_threads() == 2  # not decided before probe chunks
        cheap.record(0.3, 1.1)  # worked 2.1 < 4 x 0.6
        assert torch.get_num_threads() == 1
        cheap.record(0.0, 100.0)  # decided once
        assert torch.get_num_threads() == 1
        cheap.restore()
        assert torch.get_num_threads() == 2
        at_threshold = _CoreShare("cpu", probe=2)
        for reader, worked in ((10.0, 0.0), (0.25, 1.0), (0.25, 1.0)):  # worked 2.0 = 4 x 0.5: keep all
            at_threshold.record(reader, worked)
        assert torch.get_num_threads() == 2 and not at_threshold.active
        gpu = _CoreShare("cuda", probe=1)
        for _ in range(3):
            gpu.record(10.0, 1.0)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_the_reader_reports_its_cpu_time_and_not_in_the_counts(tmp_path):
    """The reader process adds up its CPU time per chunk in ``stats`` (what _CoreShare weighs the model against);
    the key never reaches the run's counts."""
    from basset.stages.variants import _reader_process

    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + "ACGT" * 500 + "\n")
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
                   + "".join(f"chr1\t{p}\tv{p}\t{'ACGT'[(p - 1) % 4]}\t{'ACGT'[p % 4]}\n" for p in range(101, 1901, 3)))
    counts, stats = Counter(), Counter()
    genome = Genome(fa)
    try:
        items = list(_reader_process((genome, vcf, 100, 50, False, None), counts, ChromosomeMatcher(genome.sizes),
                                     stats=stats))
    finally:
        genome.close()
    assert sum(i[0] for i, _release in items if i[0] is not None) == 600
    assert stats["reader_cpu_seconds"] > 0 and "reader_cpu_seconds" not in counts


def test_sad_tables_read_back_with_text_ids_whatever_their_name(tmp_path):
    """IDs and chromosome names that look like numbers or NA ('007', '1e5', 'NA', 'nan', chromosome '1') read back
    from the summary TSV and the per-target TSV exactly as text, as from the HDF5 file; a per-target TSV of plain
    text named .gz reads (gzip is told by content); ``targets=False`` drops the target columns."""
    fa = tmp_path / "g.fa"
    fa.write_text(">1\n" + CHR1 + "\n")
    ids = ["007", "1e5", "NA", "nan"]
    records = [("1", 44, ids[0], "T", "C"), ("1", 75, ids[1], "C", "A"), ("1", 44, ids[2], "T", "G"),
               ("1", 75, ids[3], "A", "C")]
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text(records, header="#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"))
    out, table = tmp_path / "sad.h5", tmp_path / "sad.tsv"
    score_variants(MotifModel(), fa, vcf, out, TARGETS, seq_len=L, batch_size=4, table=table, dtype="float32")
    write_sad_tsv(out, tmp_path / "plain.tsv")
    (tmp_path / "plain.tsv").rename(tmp_path / "targets.tsv.gz")  # plain text under a .gz name
    h5 = read_sad(out)
    for frame in (read_sad(table), read_sad(tmp_path / "targets.tsv.gz"), h5):
        assert frame["id"].tolist() == ids and frame["chrom"].tolist() == ["1"] * 4
        assert frame["swapped"].tolist() == [False, False, False, True]
        assert frame["top_target"].tolist() == h5["top_target"].tolist()
    per_target = read_sad(tmp_path / "targets.tsv.gz")
    assert per_target.attrs["target_names"] == TARGETS
    np.testing.assert_allclose(per_target[TARGETS].to_numpy(), h5[TARGETS].to_numpy(), rtol=1e-5, atol=1e-7)
    summary_only = read_sad(tmp_path / "targets.tsv.gz", targets=False)
    assert summary_only.attrs["target_names"] == [] and not set(TARGETS) & set(summary_only.columns)
    assert read_sad(out, targets=False).columns.tolist() == h5.columns.drop(TARGETS).tolist()


def test_sad_readers_name_bad_files(tmp_path):
    """An empty table, a table without the SAD columns, a file that is not HDF5 under the reader of SAD files, and
    an HDF5 file that is not a SAD file: each an InputError naming the file and what was expected."""
    from basset.sadfile import read_sad_h5

    (tmp_path / "empty.tsv").write_text("")
    with pytest.raises(InputError, match=r"empty.tsv:1: empty file: expected a SAD table with a header"):
        read_sad(tmp_path / "empty.tsv")
    (tmp_path / "other.tsv").write_text("chrom\tpos\tid\nchr1\t5\tx\n")
    with pytest.raises(InputError, match=r"other.tsv:1: not a SAD table: missing columns ref, alt, swapped, mean_sad, "
                                         r"max_abs_sad, top_target \(expected chrom, pos, id, ref, alt, swapped, "
                                         r"mean_sad, max_abs_sad, top_target, \[delta_class\], \[weighted\]"):
        read_sad(tmp_path / "other.tsv")
    with pytest.raises(InputError, match=r"other.tsv: not a readable HDF5 file"):
        read_sad_h5(tmp_path / "other.tsv")
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.attrs["format"] = "something else"
    with pytest.raises(InputError, match=r"x.h5: not a SAD file: the attribute format is 'something else', expected"):
        read_sad_h5(tmp_path / "x.h5")
    with pytest.raises(InputError, match=r"x.h5: not a SAD file \(format attribute 'something else'\)"):
        merge_sad_files([tmp_path / "x.h5"], tmp_path / "g.h5")


def test_sad_file_read_whole_keeps_every_row_and_its_status(scored):
    """``scored_only=False`` gives every row of the file in VCF order with its status, NaN SAD where none was
    scored, and the file's attributes; ``targets=False`` no SAD columns."""
    from basset.sadfile import read_sad_h5

    _, sad, folder = scored
    every = read_sad_h5(folder / "sad.h5", scored_only=False)
    assert every["line"].is_monotonic_increasing and len(every) > len(sad)
    scored_rows = every[every["status"].isin(["ok", "swapped"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(scored_rows, sad.reset_index(drop=True), check_like=False)
    skipped = every[~every["status"].isin(["ok", "swapped"])]
    assert set(skipped["status"]) >= {"ref_mismatch", "unknown_chrom", "outside_chrom"}
    assert skipped[TARGETS].isna().all().all() and not sad[TARGETS].isna().any().any()
    assert every.attrs["seq_len"] == L and every.attrs["target_names"] == TARGETS
    bare = read_sad_h5(folder / "sad.h5", targets=False, scored_only=False)
    assert bare.columns.tolist() == every.columns.drop(TARGETS).tolist()


def test_merging_shards_a_few_rows_at_a_time_with_weights_equals_one_job(scale_data, tmp_path):
    """Shards scored with weights, merged in blocks of 2 rows (so that each shard's line buffer is refilled many
    times), give the one job's file: every dataset, the weighted column, the attributes and the summary TSV; the
    merged and the whole file also write the same per-target TSV in blocks of 3 rows as in one block."""
    fa, _, _, vcf = scale_data
    weights = {SCALE_TARGETS[0]: 2.0, SCALE_TARGETS[-1]: 0.5}
    _, out = _scale_score(fa, vcf, tmp_path / "whole", chunk_size=5, weights=weights)
    parts = [_scale_score(fa, vcf, tmp_path / f"s{k}", chunk_size=5, shard=(k, 3), weights=weights)[1]["out_path"]
             for k in range(3)]
    merged = tmp_path / "m.h5"
    merge_sad_files([parts[2], parts[0], parts[1]], merged, table=tmp_path / "m.tsv.gz", block=2)
    a, b = _h5_datasets(out["out_path"]), _h5_datasets(merged)
    assert sorted(a) == sorted(b) and "summary/weighted" in a
    for key in a:
        if key != "attrs":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert {k: v for k, v in a["attrs"].items() if k != "shard"} == {k: v for k, v in b["attrs"].items()
                                                                      if k != "shard"}
    assert gzip.open(out["table"]).read() == gzip.open(tmp_path / "m.tsv.gz").read()
    n = write_sad_tsv(merged, tmp_path / "blocks.tsv", block=3)
    assert n == write_sad_tsv(out["out_path"], tmp_path / "one.tsv") == len(read_sad(out["out_path"]))
    assert (tmp_path / "blocks.tsv").read_text() == (tmp_path / "one.tsv").read_text()
    assert write_sad_tsv(merged, tmp_path / "summary.tsv", targets=False, block=4) == n
    assert (tmp_path / "summary.tsv").read_text() == gzip.open(out["table"], "rt").read()


def test_merging_two_interleaved_float32_shards_equals_one_job(scale_data, tmp_path):
    """Two shards of one record per chunk (their lines alternate), float32, merged 4 rows at a time: every
    dataset equals the one job's in float32, and so does every attribute, the merged file's shard ("", not a
    shard) included."""
    fa, _, _, vcf = scale_data
    _, out = _scale_score(fa, vcf, tmp_path / "whole", chunk_size=1, dtype="float32")
    parts = [_scale_score(fa, vcf, tmp_path / f"s{k}", chunk_size=1, shard=(k, 2), dtype="float32")[1]["out_path"]
             for k in range(2)]
    merged = tmp_path / "m.h5"
    merge_sad_files([parts[1], parts[0]], merged, block=4)
    a, b = _h5_datasets(out["out_path"]), _h5_datasets(merged)
    assert b["sad"].dtype == np.float32 and sorted(a) == sorted(b)
    for key in a:
        if key != "attrs":
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert a["attrs"] == b["attrs"] and b["attrs"]["shard"] == ""


def test_a_merge_that_fails_midway_leaves_no_file(scale_data, tmp_path):
    """A shard that breaks after the merge has begun writing (its SAD dataset is gone): the error goes up, and
    neither the merged file nor its table is left under the final names."""
    fa, _, _, vcf = scale_data
    parts = [_scale_score(fa, vcf, tmp_path / f"s{k}", chunk_size=1, shard=(k, 2))[1]["out_path"] for k in range(2)]
    with h5py.File(parts[1], "a") as f:
        del f["sad"]
    with pytest.raises(KeyError):
        merge_sad_files(parts, tmp_path / "m.h5", table=tmp_path / "m.tsv.gz", block=4)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("m.") or ".tmp" in p.name]


@pytest.mark.parametrize("differs", ["targets", "dtype", "weights"])
def test_merging_refuses_a_shard_of_other_settings(scale_data, tmp_path, differs):
    """A shard scored with other targets, another precision or other weights, given second of three, is an
    InputError naming it and the first shard (the one the others are held to); nothing is written."""
    fa, _, _, vcf = scale_data
    same = [_scale_score(fa, vcf, tmp_path / f"s{k}", shard=(k, 3))[1]["out_path"] for k in range(2)]
    other = tmp_path / "other"
    if differs == "targets":
        other.mkdir()
        score_variants(CentreModel(), fa, vcf, other / "sad.h5", [t + "_x" for t in SCALE_TARGETS], seq_len=SCALE_L,
                       shard=(2, 3))
        odd = other / "sad.h5"
    else:
        kw = {"dtype": "float32"} if differs == "dtype" else {"weights": {SCALE_TARGETS[0]: 1.0}}
        odd = _scale_score(fa, vcf, other, shard=(2, 3), **kw)[1]["out_path"]
    with pytest.raises(InputError, match=rf"{re.escape(str(odd))}: its targets, precision or weights differ from "
                                         rf"those of {re.escape(str(same[0]))}: shards of one VCF must come from "
                                         r"the same model and settings$"):
        merge_sad_files([same[0], odd, same[1]], tmp_path / "m.h5")
    assert not (tmp_path / "m.h5").exists()


def test_iter_vcf_lists_symbolic_alleles_it_skips(tmp_path):
    """Symbolic and missing ALT alleles are counted and handed to ``skipped`` with the file, the 1-based line, the
    record's fields and the reason (the SAD rejects file lists them from there); the other ALT of the same record
    is kept."""
    text = ("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"
            "c\t30\tsym\tA\t<DEL>\nc\t31\tkeep\tG\tT\nc\t32\tmix\tT\tC,<INS>\nc\t33\tstar\tA\t*\n")
    vcf = _write_vcf(tmp_path / "s.vcf", text)
    found, counts = [], Counter()
    rows = pd.concat(list(iter_vcf(vcf, chunk_size=10, counts=counts, skipped=found.append)))
    assert rows[["id", "alt"]].values.tolist() == [["keep", "T"], ["mix", "C"]]
    assert counts["symbolic_skipped"] == 3
    frame = pd.concat(found, ignore_index=True)
    assert frame.columns.tolist() == basset.vcf.REJECT_COLUMNS
    assert frame[["file", "line", "id", "chrom", "pos", "ref", "alt"]].values.tolist() == [
        [str(vcf), 3, "sym", "c", "30", "A", "<DEL>"], [str(vcf), 5, "mix", "c", "32", "T", "<INS>"],
        [str(vcf), 6, "star", "c", "33", "A", "*"]]
    assert (frame["reason"] == "symbolic or missing ALT allele: skipped").all()


def test_sad_target_columns_without_names_skip_status_and_line():
    """A SAD frame without recorded target names (read_sad_h5's ``status`` and ``line`` joined on, or written and
    read back by hand): its targets are the columns after the fixed ones, never status or line."""
    df = pd.DataFrame(columns=SAD_COLUMNS + ["status", "line", "t1", "t2"])
    assert sad_target_columns(df) == ["t1", "t2"]


def test_genome_matches_alleles_base_by_base_up_to_the_last_base():
    """An allele matches when every one of its bases is the genome's from ``p0``: two-base alleles alone in a batch
    are compared on both bases, an allele ending on the chromosome's last base on that base, shorter alleles of a
    batch only on their own length."""
    from basset.vcf import _genome_matches

    seq = encode("GATTACAAC")  # 9 bases, the last two A C
    assert _genome_matches(seq, np.array([0, 0, 7, 7]), np.array(["GA", "GT", "AC", "AA"], dtype=object)).tolist() == [
        True, False, True, False]
    assert _genome_matches(seq, np.array([8, 2, 0]), np.array(["C", "TTACA", "G"], dtype=object)).tolist() == [
        True, True, True]
    assert _genome_matches(seq, np.array([8, 3]), np.array(["C", "T"], dtype=object)).tolist() == [True, True]
    assert _genome_matches(seq, np.array([8, 3]), np.array(["A", "A"], dtype=object)).tolist() == [False, False]


def test_windows_are_bytes_at_both_ends_and_inside():
    """Windows are uint8 codes (a million 600 bp windows are 600 MB, not 4.8 GB of int64), with N beyond either end
    of the chromosome."""
    from basset.vcf import _windows

    seq = encode("ACGTACGTAC")
    out, off = _windows(seq, np.array([-2, 3, 7]), 5)
    assert out.dtype == np.uint8 and off.tolist() == [True, False, True]
    assert decode(out[0]) == "NNACG" and decode(out[1]) == "TACGT" and decode(out[2]) == "TACNN"


def test_variant_sequences_records_the_mapping_in_the_given_matcher_and_skips_any_n(tmp_path):
    """The matcher given for a whole file collects the chromosome mapping (the SAD log and summary read it from
    there); a REF or an ALT holding N, either one alone, is n_allele, never swapped; seq_len below 1 is refused
    with its value."""
    genome = Genome(_genome(tmp_path))
    try:
        match = ChromosomeMatcher(genome.sizes)
        df = pd.DataFrame({"chrom": ["1", "1", "1", "1"], "pos": [44, 44, 44, 75], "ref": ["T", "N", "T", "A"],
                           "alt": ["C", "C", "N", "C"]})
        vs = variant_sequences(genome, df, L, match)
        assert match.mapped == {"1": "chr1"}
        assert vs.status.tolist() == ["ok", "n_allele", "n_allele", "swapped"]
        with pytest.raises(ValueError, match="seq_len must be >= 1, got 0"):
            variant_sequences(genome, df, 0)
    finally:
        genome.close()


# ------------------------------------------------------------------ the SAD file's writer, in this process
# (score_variants writes the per-variant columns from its reader process, where mutation testing cannot see
# which test calls them: these tests call the writer directly, and read its files with plain h5py and zlib)
@pytest.mark.parametrize("dtype,width", [(np.float16, 3), (np.float32, None), (np.int64, None), (np.bool_, None),
                                         (np.int16, None), ("str", None)])
def test_sad_column_round_trip_across_chunk_boundaries(tmp_path, dtype, width):
    """A column of 4-row chunks fed blocks of 1, 3, 5, 0, 2, 7 and 4 rows (crossing, filling and missing chunk
    ends): the dataset holds every row in order, in the dtype asked for, chunked by 4 rows, deflated at level 1
    and shuffled when numeric (such chunks are compressed here, then written as they are)."""
    from basset.sadfile import _STR, _Column

    rng = np.random.default_rng(3)
    sizes = [1, 3, 5, 0, 2, 7, 4]
    shape = (sum(sizes),) if width is None else (sum(sizes), width)
    if dtype == "str":
        values = np.array([f"rs{i}" * (i % 3 + 1) for i in range(shape[0])], dtype=object)
    elif dtype == np.bool_:
        values = rng.random(shape) < 0.5
    elif np.dtype(dtype).kind == "f":
        values = rng.normal(size=shape).astype(dtype)
    else:
        values = rng.integers(-30000 if dtype == np.int16 else -(10**12), 30000, size=shape).astype(dtype)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        col = _Column(f, "x", _STR if dtype == "str" else dtype, width=width, chunk_rows=4)
        lo = 0
        for k in sizes:
            block = values[lo : lo + k]
            # fed wider types than stored (Python floats and ints): the column converts them
            col.add(block if dtype in ("str", np.bool_) else block.astype(np.float64 if block.dtype.kind == "f"
                                                                           else np.int64))
            lo += k
            if dtype != "str":  # memory stays flat: fewer than a chunk of rows waits, the rest is written
                assert col.n_pending < 4 and col.n + col.n_pending == lo and col.n % 4 == 0, (lo, col.n)
        col.close()
    with h5py.File(tmp_path / "c.h5") as f:
        ds = f["x"]
        got = ds.asstr()[:] if dtype == "str" else ds[:]
        assert ds.shape == shape and ds.chunks == ((4,) if width is None else (4, width))
        assert (ds.compression, ds.compression_opts, ds.shuffle) == ("gzip", 1, dtype != "str")
        if dtype != "str":
            assert ds.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, values)


def _writer_rows(chroms, status, start=0):
    k = len(chroms)
    return pd.DataFrame({"chrom": chroms, "pos": np.arange(start, start + k, dtype=np.int64) * 10 + 5,
                         "id": [f"v{start + i}" for i in range(k)], "ref": "A", "alt": "G",
                         "swapped": [i % 2 == 1 for i in range(k)], "status": status,
                         "line": np.arange(start, start + k, dtype=np.int64) + 3})


def test_sad_writer_file_read_with_plain_h5py(tmp_path):
    """Three blocks written in this process, chromosomes first seen in the second and third blocks, scored and
    skipped rows: every dataset and attribute as the layout says, counted over all the blocks; the summaries NaN
    (top target -1) where a row was not scored; the summary TSV lists the scored rows only."""
    from basset.sadfile import SadWriter

    names = ["t0", "t1", "t2"]
    weights = np.array([2.0, 0.0, 0.5])
    blocks = [_writer_rows(["chrB", "chrB"], ["ok", "ref_mismatch"]),
              _writer_rows(["chrA", "chrB", "chrC"], ["swapped", "ok", "duplicate"], start=2),
              _writer_rows(["chrC"], ["unknown_chrom"], start=5)]
    sads = [np.array([[0.5, -0.25, 0.125], [np.nan] * 3]),
            np.array([[-1.0, 0.5, 0.25], [0.0, 0.0, -0.75], [np.nan] * 3]), np.full((1, 3), np.nan)]
    w = SadWriter(tmp_path / "s.h5", names, table=tmp_path / "s.tsv", weights=weights, dtype="float32",
                  attrs={"model": "m.pt", "genome": None, "seq_len": 600})
    for rows, sad in zip(blocks, sads):
        w.add(rows, sad)
    w.close()
    rows = pd.concat(blocks, ignore_index=True)
    sad = np.vstack(sads)
    with h5py.File(tmp_path / "s.h5") as f:
        attrs = dict(f.attrs)
        assert {k: attrs[k] for k in ("format", "version", "targets", "sad_dtype", "rows", "scored")} == {
            "format": "basset-sad", "version": 1, "targets": 3, "sad_dtype": "float32", "rows": 6, "scored": 3}
        assert json.loads(attrs["weights"]) == {"t0": 2.0, "t1": 0.0, "t2": 0.5}
        assert (attrs["model"], attrs["genome"], attrs["seq_len"]) == ("m.pt", "", 600)
        assert f["target_names"].asstr()[:].tolist() == names and h5py.check_string_dtype(f["target_names"].dtype)
        v = f["variants"]
        assert f["chrom_names"].asstr()[:].tolist() == ["chrB", "chrA", "chrC"]  # in order of first appearance
        assert v["chrom"][:].tolist() == [0, 0, 1, 0, 2, 2] and v["chrom"].dtype == np.int32
        assert v["pos"][:].tolist() == rows["pos"].tolist() and v["pos"].dtype == np.int64
        assert v["line"][:].tolist() == rows["line"].tolist() and v["line"].dtype == np.int64
        assert v["swapped"][:].tolist() == rows["swapped"].tolist() and v["swapped"].dtype == np.bool_
        assert [STATUSES[s] for s in v["status"][:]] == rows["status"].tolist()
        assert h5py.check_enum_dtype(v["status"].dtype) is not None
        assert v["id"].asstr()[:].tolist() == rows["id"].tolist()
        np.testing.assert_array_equal(f["sad"][:], sad.astype(np.float32))
        s = {k: f["summary"][k][:] for k in f["summary"]}
        assert h5py.check_enum_dtype(f["summary/delta_class"].dtype) == {"none": 0, "weak": 1, "moderate": 2,
                                                                         "strong": 3}
    assert set(s) == {"mean_sad", "max_abs_sad", "top_target", "delta_class", "weighted"}
    # DeepSEA's classes of max |SAD|, an enum: 0.5 is moderate (strong is above 0.5), 1.0 and 0.75 strong, none unscored
    assert s["delta_class"].tolist() == [2, 0, 3, 3, 0, 0]
    scored = [0, 2, 3]
    np.testing.assert_allclose(s["mean_sad"][scored], [0.125 / 3 + 0.25 / 3, -0.25 / 3, -0.25], rtol=1e-6)
    np.testing.assert_allclose(s["max_abs_sad"][scored], [0.5, 1.0, 0.75])
    assert s["top_target"].tolist() == [0, -1, 0, 2, -1, -1] and s["top_target"].dtype == np.int16
    np.testing.assert_allclose(s["weighted"][scored], [1.0 + 0.0625, 2.0 + 0.125, 0.375], rtol=1e-6)
    for key in ("mean_sad", "max_abs_sad", "weighted"):
        assert np.isnan(s[key][[1, 4, 5]]).all() and s[key].dtype == np.float32, key
    table = pd.read_csv(tmp_path / "s.tsv", sep="\t")
    assert table["id"].tolist() == ["v0", "v2", "v3"]


def test_sad_writer_refuses_other_precisions_and_misshapen_blocks(tmp_path):
    from basset.sadfile import SadWriter

    with pytest.raises(ValueError, match=r"^dtype must be float16 or float32, got 'float64'$"):
        SadWriter(tmp_path / "a.h5", ["t"], dtype="float64")
    w = SadWriter(tmp_path / "b.h5", ["t0", "t1"])
    with pytest.raises(ValueError, match=r"^SAD block of shape \(1, 3\) for 1 rows x 2 targets$"):
        w.add(_writer_rows(["c"], ["ok"]), np.zeros((1, 3)))
    w.close()
    with h5py.File(tmp_path / "b.h5") as f:
        assert f["sad"].dtype == np.float16 and f.attrs["sad_dtype"] == "float16"  # the default precision


def test_chunk_rows_aim_at_a_mebibyte_within_bounds():
    from basset.sadfile import chunk_rows_for

    for targets, itemsize in [(1, 1), (2, 2), (16, 4), (164, 2), (164, 4), (1000, 2), (3000, 4), (100000, 2)]:
        assert chunk_rows_for(targets, itemsize) == min(65536, max(256, 2**20 // (targets * itemsize)))
    assert chunk_rows_for(164, 2) == 3196 and chunk_rows_for(5000, 4) == 256 and chunk_rows_for(8, 2) == 65536


def test_summaries_accumulate_in_float64_and_handle_no_targets():
    """A float32 block whose float32 mean loses the 1 (1e8 + 1 - 1e8); a block without targets: max |SAD| 0 and
    top target 0; weighted sums in float64."""
    block = np.array([[1e8, 1.0, -1e8]], dtype=np.float32)
    out = summaries(block, np.array([1e-8, 1.0, 1e-8]))
    assert out["mean_sad"][0] == np.float32(1 / 3) and out["mean_sad"].dtype == np.float32
    assert out["max_abs_sad"][0] == 1e8 and out["top_target"].tolist() == [0] and out["top_target"].dtype == np.int16
    assert out["weighted"][0] == np.float32(3.0) and out["weighted"].dtype == np.float32
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the mean of no targets
        empty = summaries(np.zeros((2, 0), dtype=np.float32), None)
    assert empty["max_abs_sad"].tolist() == [0.0, 0.0] and empty["top_target"].tolist() == [0, 0]
    assert empty["max_abs_sad"].dtype == np.float32


def test_read_sad_tsv_parses_nan_in_numbers_and_keeps_numeric_looking_target_names(tmp_path):
    """A per-target TSV as people edit it: "nan" and "NaN" in the score columns are missing values (floats), while
    the IDs, alleles and targets named "007" and "1" stay text; swapped reads as a boolean whatever its case."""
    path = tmp_path / "sad.tsv"
    path.write_text("chrom\tpos\tid\tref\talt\tswapped\tmean_sad\tmax_abs_sad\ttop_target\t007\t1\n"
                    "1\t10\tNA\tA\tG\tTrue\tnan\tNaN\t007\tnan\t0.5\n"
                    "chr2\t20\t1e5\tC\tT\tfalse\t0.25\t0.5\t1\t0.1\tNaN\n")
    df = read_sad(path)
    assert df["chrom"].tolist() == ["1", "chr2"] and df["id"].tolist() == ["NA", "1e5"]
    assert df["top_target"].tolist() == ["007", "1"] and df["swapped"].tolist() == [True, False]
    for col in ("mean_sad", "max_abs_sad", "007", "1"):
        assert df[col].dtype == np.float64, col
    assert np.isnan(df.loc[0, "mean_sad"]) and np.isnan(df.loc[0, "max_abs_sad"]) and df.loc[1, "mean_sad"] == 0.25
    assert np.isnan(df.loc[0, "007"]) and np.isnan(df.loc[1, "1"]) and df.loc[0, "1"] == 0.5
    assert df.attrs["target_names"] == ["007", "1"] and df["pos"].tolist() == [10, 20]


def test_sad_writer_that_cannot_open_its_table_leaves_no_file(tmp_path):
    """The summary TSV cannot be created (its folder is a file) after the HDF5 file was opened: the error is
    raised and neither file, nor a temporary, is left under any name."""
    from basset.sadfile import SadWriter

    (tmp_path / "afile").write_text("")
    with pytest.raises(OSError):
        SadWriter(tmp_path / "s.h5", ["t0"], table=tmp_path / "afile" / "s.tsv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_an_empty_sad_file_reads_as_an_empty_frame_of_the_right_types(tmp_path):
    """A VCF with no variant left gives a SAD file of zero rows: every dataset empty, and a frame with the usual
    columns and types (text chromosome, float32 SAD) rather than a made-up row or a float chromosome column."""
    from basset.sadfile import SadWriter, read_sad_h5

    SadWriter(tmp_path / "s.h5", ["t0", "t1"]).close()
    with h5py.File(tmp_path / "s.h5") as f:
        lengths = {name: f[name].shape[0] for name in ("sad", *(f"{g}/{k}" for g in ("variants", "summary")
                                                                 for k in f[g]))}
    assert set(lengths.values()) == {0} and len(lengths) == 13, lengths
    for scored_only in (True, False):
        df = read_sad_h5(tmp_path / "s.h5", scored_only=scored_only)
        assert len(df) == 0 and df.columns.tolist()[:10] == list(SUMMARY_COLUMNS[:-1])
        assert df["chrom"].dtype == object and (df[["t0", "t1"]].dtypes == np.float32).all()


def test_sad_files_read_back_typed(scored):
    """read_sad_h5: SAD columns float32 (as stored, not widened), attributes as plain Python values (a frame's
    attrs go to JSON), an empty top target where a row was not scored. (NaN in a SAD TSV:
    test_read_sad_tsv_parses_nan_in_numbers_and_keeps_numeric_looking_target_names.)"""
    from basset.sadfile import read_sad_h5

    _, _, folder = scored
    every = read_sad_h5(folder / "sad.h5", scored_only=False)
    assert (every[TARGETS].dtypes == np.float32).all()
    assert all(type(v) in (int, float, str, bool, list) for v in every.attrs.values()), every.attrs
    json.dumps(every.attrs)
    skipped = ~every["status"].isin(["ok", "swapped"])
    assert skipped.any() and every.loc[skipped, "top_target"].tolist() == [""] * int(skipped.sum())


def test_sad_tables_show_the_stored_values_with_six_significant_digits(tmp_path):
    """The per-target TSV shows what the SAD file stores: float16 values (0.1 is stored as 0.0999756); the summary
    columns are float32 summaries of the scores. Both printed by %.6g: small values keep a lower-case exponent."""
    from basset.sadfile import SadWriter, write_sad_tsv

    w = SadWriter(tmp_path / "s.h5", ["t0", "t1"], table=tmp_path / "s.tsv")
    w.add(_writer_rows(["chr1"], ["ok"]), np.array([[0.1, 3e-7]]))
    w.close()
    summary = (tmp_path / "s.tsv").read_text().splitlines()[1].split("\t")
    assert summary[6:10] == ["0.0500001", "0.1", "t0", "weak"]
    write_sad_tsv(tmp_path / "s.h5", tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text().splitlines()[1].split("\t")[-2:] == ["0.0999756", "2.98023e-07"]
    w = SadWriter(tmp_path / "f.h5", ["t0"], table=tmp_path / "f.tsv", dtype="float32", weights=np.array([2.0]))
    w.add(_writer_rows(["chr1"], ["ok"]), np.array([[-1.5e-7]]))
    w.close()
    assert (tmp_path / "f.tsv").read_text().splitlines()[1].split("\t")[6:] == [
        "-1.5e-07", "1.5e-07", "t0", "weak", "3e-07"]


def test_fig5a_title_states_the_measured_ratio():
    """Figure 5A's title says what was measured, in the direction it went."""
    from basset.plots.variants import _ratio_title

    assert _ratio_title({"ratio": 7.5, "ratio_ci_low": 3.4, "ratio_ci_high": 35.0}, 0.1) == (
        "likely causal SNPs 7.5x as often above 0.1 as unlikely (95% CI 3.4-35)")
    assert _ratio_title({"ratio": 0.5, "ratio_ci_low": 0.2, "ratio_ci_high": 1.3}, 0.1) == (
        "likely causal SNPs above 0.1 less often than unlikely: ratio 0.5 (95% CI 0.2-1.3)")
    assert _ratio_title({"ratio": 1.0, "ratio_ci_low": 0.5, "ratio_ci_high": 2.0}, 0.2).startswith(
        "likely causal SNPs 1x as often above 0.2")
    assert _ratio_title({"ratio": np.inf, "ratio_ci_low": np.inf, "ratio_ci_high": np.inf}, 0.1) == (
        "likely causal SNPs above 0.1, no unlikely causal one")
    assert _ratio_title({"ratio": np.nan}, 0.1).startswith("no fraction ratio")
    assert _ratio_title({}, 0.1).startswith("no fraction ratio")


def test_enrichment_passes_its_bootstrap_settings_to_both_ratios():
    """The ratio intervals are fraction_ratio's with the given n_boot and seed, for |mean SAD| and for some cell
    type (max |SAD|): changing the seed or n_boot changes them the same way."""
    rng = np.random.default_rng(4)
    rows = [(f"rs{i}", "c", i + 1, "C", [float(x) for x in rng.normal(0, 0.15, 2)]) for i in range(60)]
    table = _sad_table(rows, targets=("t1", "t2"))
    pics_df = pd.DataFrame({"snp": [r[0] for r in rows], "chrom": "c", "pos": [r[2] for r in rows],
                            "pics": np.r_[np.full(30, 0.8), np.full(30, 0.01)]})
    scores = sad_scores(table).to_numpy()
    any_scores = sad_scores(table, "max_abs").to_numpy()
    for n_boot, seed in ((300, 3), (500, 7)):
        res = enrichment(table, pics_df, n_boot=n_boot, seed=seed)
        want = fraction_ratio(scores[:30] > 0.1, scores[30:] > 0.1, n_boot=n_boot, seed=seed)
        assert (res["ratio"], res["ratio_ci_low"], res["ratio_ci_high"]) == want
        want_any = fraction_ratio(any_scores[:30] > 0.1, any_scores[30:] > 0.1, n_boot=n_boot, seed=seed)
        assert (res["ratio_any"], res["ratio_any_ci_low"], res["ratio_any_ci_high"]) == want_any
        assert res["n_boot"] == n_boot
    assert enrichment(table, pics_df)["ratio_ci_low"] == fraction_ratio(scores[:30] > 0.1, scores[30:] > 0.1,
                                                                        n_boot=10000, seed=0)[1]


def test_delta_profile_of_the_top_likely_causal_snp(tmp_path):
    """Rule delta_profile (DeepSEA-style runs): the likely causal SNP (PICS >= 0.5) of largest max |SAD| is v1 (v3 has
    a larger SAD but PICS 0.01); its Delta for every feature, ordered by assay as they first appear in the sheet
    (dnase, tf, histone), with each feature's class; the class counts of the likely (v0, v1, v2) and unlikely (v3,
    v4) SNPs by hand; a target missing from the sheet counts as dnase."""
    from basset.sadfile import SadWriter
    from basset.stages.variants import delta_profile

    names = ["e_dnase", "e_h3k27ac", "e_gata1", "h_dnase", "extra"]
    sad = np.array([[0.1, 0.0, 0.05, 0.0, 0.0],      # v0 likely: max 0.1 weak
                    [0.3, -0.55, 0.2, 0.0, 0.125],   # v1 likely: max 0.55 strong (the top one)
                    [0.0, 0.0, -0.5, 0.0, 0.0],      # v2 likely: 0.5 moderate
                    [0.9, 0.0, 0.0, 0.0, 0.0],       # v3 unlikely: strong
                    [0.0, 0.0, 0.0, 0.19, 0.0]])     # v4 unlikely: weak
    w = SadWriter(tmp_path / "sad.h5", names, dtype="float32")
    rows = pd.DataFrame({"chrom": "chr1", "pos": np.arange(5, dtype=np.int64) * 100 + 50,
                         "id": [f"v{i}" for i in range(5)], "ref": "A", "alt": "G", "swapped": False,
                         "status": "ok", "line": np.arange(5, dtype=np.int64) + 2})
    w.add(rows, sad)
    w.close()
    pics = tmp_path / "pics.tsv"
    pics.write_text("Disease\tIndexSNP_riskAllele\tSNP\tchr\tpos\tPICS_probability\n" + "".join(
        f"D\tv0-G\tv{i}\tchr1\t{i * 100 + 50}\t{p}\n" for i, p in enumerate([0.6, 0.7, 0.9, 0.01, 0.02])))
    sheet = tmp_path / "s.tsv"
    sheet.write_text("name\tpeaks\tassay\tcell\n" + "e_dnase\tx.bed\tdnase\te\n" + "e_h3k27ac\tx.bed\thistone\te\n"
                     "e_gata1\tx.bed\ttf\te\n" + "h_dnase\tx.bed\t\th\n")
    out = {"profile": tmp_path / "p.tsv", "summary": tmp_path / "s_sum.tsv", "fig_delta": tmp_path / "fig"}
    summary = delta_profile(tmp_path / "sad.h5", pics, sheet, out=out, variants={"high_pics": 0.5, "low_pics": 0.05})
    profile = pd.read_csv(out["profile"], sep="\t", keep_default_na=False)
    assert profile["target"].tolist() == ["e_dnase", "h_dnase", "extra", "e_h3k27ac", "e_gata1"]
    assert profile["assay"].tolist() == ["dnase", "dnase", "dnase", "histone", "tf"]
    assert profile["cell"].tolist() == ["e", "h", "extra", "e", "e"]
    np.testing.assert_allclose(profile["delta"], [0.3, 0.0, 0.125, -0.55, 0.2], rtol=1e-6)
    assert profile["class"].tolist() == ["moderate", "weak", "weak", "strong", "moderate"]
    assert (summary["snp"], summary["class"], summary["top_target"]) == ("v1", "strong", "e_h3k27ac")
    assert summary["max_abs_delta"] == pytest.approx(0.55) and summary["pics"] == pytest.approx(0.7)
    assert (summary["dnase_max_abs_delta"], summary["histone_max_abs_delta"], summary["tf_max_abs_delta"]) == \
        pytest.approx((0.3, 0.55, 0.2))
    assert [summary[f"likely_{c}"] for c in ("strong", "moderate", "weak")] == [1, 1, 1]
    assert [summary[f"unlikely_{c}"] for c in ("strong", "moderate", "weak")] == [1, 0, 1]
    assert (tmp_path / "fig.png").stat().st_size > 0 and (tmp_path / "fig.pdf").stat().st_size > 0


# ------------------------------------------------------------------------------------------------ issue 13: speed
def test_positions_read_from_joined_digits_equal_python_int(tmp_path):
    """POS values are read from a chunk's joined digits (no Python int per record) when every field is digits: the
    values equal Python's int() at the edges (1 and 9 digits, leading zeros, the largest accepted 15-digit value),
    and one bad field in a chunk sends the whole chunk through the per-field path with the same values for the
    rest."""
    from basset.vcf import _positions

    good = ["1", "9", "10", "007", "999999999", "123456789012345", "999999999999999", "100000000000000"]
    pos, bad = _positions(np.array(good, dtype=object))
    assert pos.tolist() == [int(x) for x in good] and not bad.any()
    mixed = np.array(good + ["0", "1234567890123456", "12a", "", "-5", "٣", "+5", " 5"], dtype=object)
    pos, bad = _positions(mixed)
    assert pos[: len(good)].tolist() == [int(x) for x in good]
    assert bad.tolist() == [False] * len(good) + [True] * 8 and (pos[len(good):] == 0).all()
    # through iter_vcf: a chunk of good records and a chunk with one bad POS give the same positions
    lines = [f"chr1\t{p}\tv{p}\tA\tC" for p in ("5", "0012", "999999999999999", "x7", "31")]
    vcf = _write_vcf(tmp_path / "v.vcf", "\n".join(lines) + "\n")
    rejected = []
    df = read_vcf_chunks(vcf, rejected)
    assert df["pos"].tolist() == [5, 12, 999999999999999, 31]
    assert [r for f in rejected for r in f["line"]] == [4]
    # a digit to Python is not a digit to a VCF (before, '٣' was read as POS 3)
    arabic = _write_vcf(tmp_path / "a.vcf", "chr1\t5\tv5\tA\tC\nchr1\t\u0663\tv3\tA\tC\n")
    with pytest.raises(InputError, match=r"a\.vcf:2: expected an integer POS, got '\u0663'"):
        list(iter_vcf(arabic, strict=True))


def read_vcf_chunks(vcf, rejected, chunk_size=2):
    return pd.concat(list(iter_vcf(vcf, chunk_size=chunk_size, strict=False, rejects=rejected.append)),
                     ignore_index=True)


def test_float16_sad_is_rounded_as_numpy_rounds(tmp_path):
    """SAD stored as float16 goes through torch's cast for speed; it must round exactly as numpy's IEEE cast (the
    outside reference): ties to even, subnormals, values past float16's range to infinity, NaN kept."""
    from basset.sadfile import stored_values

    f16 = np.finfo(np.float16)
    edges = np.array([0.0, -0.0, 1.0, 1 + 2.0**-11, 1 + 3 * 2.0**-11, 65504.0, 65520.0, 65519.99, -70000.0,
                      float(f16.smallest_subnormal), float(f16.smallest_subnormal) / 2, 3e-8, 6.1e-5, np.inf,
                      -np.inf, 0.2, 0.5, 1 / 3], dtype=np.float32)
    rng = np.random.default_rng(0)
    values = np.concatenate([edges, rng.standard_normal(1 << 17).astype(np.float32) * 0.05,
                             rng.uniform(-1, 1, 1 << 10).astype(np.float32)]).reshape(-1, 2)  # >= 2^16 values
    values[5, 1] = np.nan
    got = stored_values(values, "float16")
    with np.errstate(over="ignore"):  # past float16's range: infinity, as wanted
        want = values.astype(np.float16)
    assert got.dtype == np.float16 and got.shape == values.shape
    assert np.array_equal(got.view(np.uint16)[~np.isnan(want)], want.view(np.uint16)[~np.isnan(want)])
    assert np.isnan(got[5, 1]) and np.array_equal(np.isnan(got), np.isnan(want))
    assert stored_values(values, "float32") is values  # float32 kept as it is


def test_windows_through_the_pipe_when_a_chunk_outgrows_its_slot(tmp_path):
    """The reader hands windows over in shared-memory slots sized for ``chunk_size`` rows; a chunk that grows past
    that (multi-allelic records split into more rows) goes through the pipe instead: the SAD is the same as with
    chunks that fit."""
    fa = tmp_path / "g.fa"
    fa.write_text(">chr1\n" + CHR1 + "\n")
    records = [("chr1", 30 + i, f"m{i}", "C", "A,G,T") for i in range(6)] + [("chr1", 75, "c", "C", "A")]
    vcf = _write_vcf(tmp_path / "v.vcf", _vcf_text(records))
    out = {}
    for name, chunk in (("split", 2), ("whole", 50)):  # 2 records -> 6 rows > a slot of 2 rows
        score_variants(MotifModel(), fa, vcf, tmp_path / f"{name}.h5", TARGETS, seq_len=L, chunk_size=chunk)
        out[name] = read_sad(tmp_path / f"{name}.h5")
    assert len(out["split"]) == 19
    pd.testing.assert_frame_equal(out["split"], out["whole"])
    assert out["split"]["up"].abs().max() > 0.1  # the motif model moved: real windows were scored


def test_gzip_outputs_are_standard_and_reproducible(tmp_path):
    """Gzipped outputs are written by ISA-L: the same bytes twice for the same text (no name, mtime 0), read back by
    Python's gzip, and a higher level is capped at ISA-L's 3."""
    from basset.fileio import atomic_open

    text = "".join(f"chr1\t{i}\trs{i}\t{i / 7:.6g}\n" for i in range(20000))
    for level in (1, 6, 9):
        blobs = []
        for k in range(2):
            path = tmp_path / f"t{level}_{k}.tsv.gz"
            with atomic_open(path, "w", gzip_level=level) as fh:
                fh.write(text)
            blobs.append(path.read_bytes())
        assert blobs[0] == blobs[1] and blobs[0][:2] == b"\x1f\x8b"
        assert gzip.decompress(blobs[0]).decode() == text
        assert blobs[0][4:8] == b"\0\0\0\0"  # mtime 0


def _reference_vcf_rows(lines: list[str]) -> tuple[list[tuple], list[int]]:
    """A line-by-line reading of VCF records by the rules of basset.vcf's docstring (the outside reference for
    iter_vcf's vectorised checks): ``(chrom, pos, id, REF, ALT, line)`` per ALT allele kept, and the lines rejected."""
    rows, rejected = [], []
    for number, text in enumerate(lines, 1):
        fields = text.split("\t") + [""] * 5
        if text.startswith("#") or not any(fields[:5]):  # a comment, or blank in its first five columns
            continue
        chrom, pos, vid, ref, alt = fields[:5]
        if not chrom or not ref or not alt:
            rejected.append(number)
            continue
        if not (pos.isascii() and pos.isdigit() and len(pos) <= 15 and int(pos) >= 1):
            rejected.append(number)
            continue
        ref = ref.upper()
        if any(c not in "ACGTN" for c in ref):
            rejected.append(number)
            continue
        alts = [a for a in alt.upper().split(",")
                if not (a.startswith("<") or a in ("*", ".") or "[" in a or "]" in a)]
        if any(a == "" or any(c not in "ACGTN" for c in a) for a in alts):
            rejected.append(number)
            continue
        rows += [(chrom, int(pos), vid, ref, a, number) for a in alts]
    return rows, rejected


_FIELDS = {"chrom": ["chr1", "1", "chrM", "", "#x"],
           "pos": ["1", "7", "0012", "999999999999999", "0", "-3", "abc", "", "1e3", "+5", " 5", "12.0",
                   "1234567890123456"],
           "allele": ["A", "c", "T", "N", "gT", "ACGT", "<DEL>", "*", ".", "A[chr1:5[", "]x]A", "C,G", "A,<INS>",
                      "a,t", "X", "", "AC,", "é", "A,,C", "N,A"]}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(
           st.tuples(st.sampled_from(_FIELDS["chrom"]), st.sampled_from(_FIELDS["pos"]),
                     st.sampled_from(_FIELDS["allele"]), st.sampled_from(_FIELDS["allele"]),
                     st.integers(min_value=1, max_value=8)),
           st.sampled_from(["", "#comment"])), min_size=1, max_size=25),
       st.integers(min_value=1, max_value=7))
def test_iter_vcf_matches_a_line_by_line_reading(tmp_path_factory, records, chunk_size):
    """Property against :func:`_reference_vcf_rows`: whatever mix of good and malformed records (so that chunks
    take both the joined-text fast paths and the per-record ones), blank and comment lines anywhere, iter_vcf keeps
    the same rows and rejects the same lines, for any chunk size. (It found that a blank line before the first
    record made iter_vcf read nothing, silently; and that a first record of fewer than 5 columns stopped the reading
    even when not strict.)"""
    lines = []
    for i, rec in enumerate(records):
        if isinstance(rec, str):
            lines.append(rec)
            continue
        chrom, pos, ref, alt, n_cols = rec
        lines.append("\t".join([chrom, pos, f"v{i}", ref, alt, ".", "PASS", "."][:n_cols]))
    path = tmp_path_factory.mktemp("vcf") / "v.vcf"
    path.write_text("\n".join(lines) + "\n")
    want_rows, want_rejected = _reference_vcf_rows(lines)
    rejected = []
    chunks = list(iter_vcf(path, chunk_size=chunk_size, strict=False, rejects=rejected.append))
    got = [tuple(r) for c in chunks for r in c[["chrom", "pos", "id", "ref", "alt", "line"]].itertuples(index=False)]
    assert got == want_rows
    assert sorted(int(x) for f in rejected for x in f["line"]) == want_rejected


def test_a_blank_line_before_the_first_record_loses_no_record(tmp_path):
    """Some tools write an empty line (or one of tabs) after the header. Before, iter_vcf then read no record at all
    and said nothing (pandas took its number of columns from the blank line); now every record is read, and the
    line numbers still point into the file."""
    for gap in ("\n", "\t\t\n", "\n\n"):
        vcf = _write_vcf(tmp_path / "v.vcf", HEADER + gap + "chr1\t44\ta\tT\tC\nchr1\t75\tb\tC\tA\n")
        df = read_vcf(vcf)
        first = HEADER.count("\n") + gap.count("\n") + 1
        assert df["id"].tolist() == ["a", "b"] and df["line"].tolist() == [first, first + 1]


def test_a_short_first_record_is_rejected_and_the_run_goes_on(tmp_path):
    """A record of fewer than 5 columns before the first whole one used to stop the reading even when not strict
    (pandas takes its number of columns from its first line); now it is rejected with its line like any other
    malformed record and counted once, also in the shard that owns the first chunk only. Strict still stops at it."""
    text = HEADER + "chr1\t44\n\nchr1\t7\tx\n" + "chr1\t44\ta\tT\tC\nchr1\t75\tb\tC\tA\nchr1\t3\n"
    vcf = _write_vcf(tmp_path / "v.vcf", text, gz=True)
    first = HEADER.count("\n") + 1
    rejected, counts = [], Counter()
    df = pd.concat(iter_vcf(vcf, strict=False, rejects=rejected.append, counts=counts))
    assert df["id"].tolist() == ["a", "b"] and df["line"].tolist() == [first + 3, first + 4]
    frame = pd.concat(rejected)
    assert frame["line"].tolist() == [first, first + 2, first + 5]
    assert frame["chrom"].tolist() == ["chr1"] * 3 and frame["pos"].tolist() == ["44", "7", "3"]
    assert frame["id"].tolist()[1] == "x" and frame["reason"].str.contains("at least 5 tab-separated").all()
    assert counts["malformed_rejected"] == 3 and counts["variants_read"] == 5
    shard_counts = [Counter(), Counter()]
    for k in (0, 1):
        list(iter_vcf(vcf, chunk_size=1, strict=False, counts=shard_counts[k], shard=(k, 2)))
    assert shard_counts[0]["malformed_rejected"] + shard_counts[1]["malformed_rejected"] == 3
    assert shard_counts[0]["variants_read"] + shard_counts[1]["variants_read"] == 5
    with pytest.raises(InputError, match=rf"v\.vcf:{first}: expected at least 5 tab-separated columns"):
        list(iter_vcf(vcf, strict=True))

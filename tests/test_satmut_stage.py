"""The satmut stage (basset.stages.satmut): saturation_mutagenesis, satmut_phylop, plot_satmut, satmut_fasta."""

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from basset.errors import InputError
from basset.ism import ism, loss_gain
from basset.models import build_model, model_config, save_model
from basset.stages.satmut import (
    plot_satmut,
    read_scores,
    satmut_fasta,
    satmut_phylop,
    saturation_mutagenesis,
)

NAMES = ["a", "b", "c"]


def _model(L=60, T=3):
    torch.manual_seed(0)
    m = build_model(model_config("cpu", seq_len=L, conv_filters=[8, 8], conv_widths=[7, 5], conv_pools=[3, 2],
                                 conv_dropout=0.0, dense_units=[16]), T)
    return m.eval()


def _sites_track_model(tmp_path, starts, strands, L, size):
    """sites.bed (chr1, one site of L bp per start, on its strand), a phyloP-like bigWig p.bw whose value at
    position x is x / 100 over chr1 of ``size`` bp, and a small model m.pt."""
    import pyBigWig

    with open(tmp_path / "sites.bed", "w") as f:
        for i, (s, d) in enumerate(zip(starts, strands)):
            f.write(f"chr1\t{s}\t{s + L}\tsite{i}\t0\t{d}\n")
    bw = pyBigWig.open(str(tmp_path / "p.bw"), "w")
    bw.addHeader([("chr1", size)])
    bw.addEntries("chr1", 0, values=np.arange(size, dtype=np.float64) / 100, span=1, step=1)
    bw.close()
    save_model(tmp_path / "m.pt", _model(), NAMES)


@pytest.fixture
def stage(tmp_path):

    rng = np.random.default_rng(0)
    n, L = 12, 60
    codes = rng.integers(0, 4, (n, L), dtype=np.uint8)
    site_index = rng.permutation(n).astype(np.int64)
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5["target_names"] = np.array([n.encode() for n in NAMES])
        g = h5.create_group("test")
        g["seqs"] = codes
        g["targets"] = np.zeros((n, 3), np.uint8)
        g["site_index"] = site_index
    starts = 1000 + 100 * np.arange(n)
    _sites_track_model(tmp_path, starts, ["+"] * n, L, 5000)
    return tmp_path, codes, site_index, starts


def _scan(tmp, satmut, phylop=None, **kw):
    out = {"scores": tmp / "scores.h5", "summary": tmp / "summary.tsv"}
    summary = saturation_mutagenesis(model=tmp / "m.pt", h5=tmp / "d.h5", sites=tmp / "sites.bed", phylop=phylop,
                                     out=out, satmut=satmut, device="cpu", **kw)
    return summary, read_scores(out["scores"])


def test_saturation_mutagenesis_matches_ism_and_coordinates(stage):
    tmp, codes, site_index, starts = stage
    summary, scan = _scan(tmp, {"window": 20, "max_sites": 5, "rc_average": False}, phylop=tmp / "p.bw", seed=3,
                          chunk=2)
    assert summary["sites"] == 5 and summary["nucleotides"] == 100 and not (tmp / "scores.h5.tmp").exists()
    written = pd.read_csv(tmp / "summary.tsv", sep="\t").set_index("key")["value"]
    assert written["nucleotides"] == "100" and written["phylop"] == "True"
    assert scan["loss"].shape == scan["gain"].shape == (5, 20, 3) and scan["ref"].shape == (5, 3)
    # the scan's sites are rows of the split: same site_index, windows at the sites' centres
    rows = np.array([int(np.flatnonzero(site_index == s)[0]) for s in scan["site_index"]])
    assert len(set(rows)) == 5
    probs = ism(_model(), codes[rows], 20, 40)
    loss, gain = loss_gain(probs, codes[rows], 20)
    np.testing.assert_allclose(scan["loss"], loss, atol=1e-6)
    np.testing.assert_allclose(scan["gain"], gain, atol=1e-6)
    np.testing.assert_array_equal(scan["start"], starts[scan["site_index"]] + 20)
    np.testing.assert_allclose(scan["phylop"], (scan["start"][:, None] + np.arange(20)) / 100, rtol=1e-5)
    assert scan["target_names"] == NAMES and scan["window"] == 20 and scan["split"] == "test"
    with pytest.raises(ValueError, match="longer"):
        _scan(tmp, {"window": 61})


@pytest.fixture
def stranded(tmp_path):
    """A 3 kb genome with soft-masked stretches, 12 sites of 60 bp, every other on the '-' strand, their sequences
    read from the genome (reverse-complemented on '-'), and a phyloP track whose value at position x is x / 100."""

    rng = np.random.default_rng(4)
    n, L = 12, 60
    genome = rng.integers(0, 4, 3000)
    lower = np.zeros(3000, bool)
    for a in rng.integers(0, 2950, 30):
        lower[a : a + rng.integers(3, 40)] = True
    text = "".join("acgt"[b] if low else "ACGT"[b] for b, low in zip(genome, lower))
    (tmp_path / "g.fa").write_text(">chr1\n" + "\n".join(text[i : i + 70] for i in range(0, 3000, 70)) + "\n")
    starts = 100 + 230 * np.arange(n)
    strands = np.where(np.arange(n) % 2 == 1, "-", "+")
    codes = np.stack([genome[s : s + L] if d == "+" else (3 - genome[s : s + L])[::-1]
                      for s, d in zip(starts, strands)])
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5["target_names"] = np.array([n.encode() for n in NAMES])
        g = h5.create_group("test")
        g["seqs"] = codes.astype(np.uint8)
        g["targets"] = np.zeros((n, 3), np.uint8)
        g["site_index"] = np.arange(n, dtype=np.int64)
    _sites_track_model(tmp_path, starts, strands, L, 3000)
    return tmp_path, genome, lower, starts, strands, codes


@pytest.mark.parametrize("window", [21, 20])  # L - window odd and even: the '-' window's start differs from '+'
def test_phylop_and_repeats_line_up_with_the_sequence_on_both_strands(stranded, window):
    """Column j of a scored window is sequence column lo + j. On a '+' site that is genome start + lo + j; on a
    '-' site (reverse-complemented) genome start + L - 1 - (lo + j), whose base is the complement of the
    sequence's. phyloP and the repeat mask must be the values at that genome position, and the sequence's base
    must match the genome's there (computed here from the definition, not from the code's helper)."""
    tmp, genome, lower, starts, strands, codes = stranded
    L = 60
    lo = (L - window) // 2
    summary, scan = _scan(tmp, {"window": window, "rc_average": False}, phylop=tmp / "p.bw", fasta=tmp / "g.fa")
    assert summary["minus_strand_sites"] == 6 and summary["repeat_nucleotides"] == int(scan["repeat"].sum()) > 0
    for r, i in enumerate(scan["site_index"]):
        cols = lo + np.arange(window)
        pos = starts[i] + cols if strands[i] == "+" else starts[i] + L - 1 - cols
        seq = codes[i, cols]
        np.testing.assert_array_equal(seq, genome[pos] if strands[i] == "+" else 3 - genome[pos])
        np.testing.assert_allclose(scan["phylop"][r], pos / 100, rtol=1e-6)
        np.testing.assert_array_equal(scan["repeat"][r], lower[pos])
        assert scan["start"][r] == pos.min() and bool(scan["minus"][r]) == (strands[i] == "-")


def test_satmut_phylop_leaves_repeats_out(stranded):
    """With the repeat mask, soft-masked nucleotides are not regressed (exclude_repeats, the default, as the
    paper); the count is in the table; exclude_repeats false keeps them; scores made without the FASTA have no
    mask, and nothing is excluded."""
    tmp = stranded[0]
    _, scan = _scan(tmp, {"window": 40, "rc_average": False}, phylop=tmp / "p.bw", fasta=tmp / "g.fa")
    n_rep = int(scan["repeat"].sum())
    out = {"table": tmp / "phylop.tsv", "fig4bcd": tmp / "fig4bcd.png"}
    satmut_phylop(scores=tmp / "scores.h5", out=out, seed=2)
    table = pd.read_csv(out["table"], sep="\t")
    assert (table["repeat_excluded"] == n_rep).all() and 0 < n_rep < 12 * 40
    assert (table["n_train"] + table["n_test"] == 12 * 40 - n_rep).all()
    satmut_phylop(scores=tmp / "scores.h5", out=out, satmut={"exclude_repeats": False}, seed=2)
    table = pd.read_csv(out["table"], sep="\t")
    assert (table["repeat_excluded"] == 0).all() and (table["n_train"] + table["n_test"] == 12 * 40).all()
    _scan(tmp, {"window": 40, "rc_average": False}, phylop=tmp / "p.bw")  # no FASTA: no mask
    assert read_scores(tmp / "scores.h5")["repeat"] is None
    satmut_phylop(scores=tmp / "scores.h5", out=out, seed=2)
    assert (pd.read_csv(out["table"], sep="\t")["repeat_excluded"] == 0).all()


def test_satmut_phylop_regresses_and_draws(stage):
    tmp = stage[0]
    _scan(tmp, {"window": 30, "rc_average": False}, phylop=tmp / "p.bw")
    out = {"table": tmp / "phylop.tsv", "fig4bcd": tmp / "fig4bcd.png"}
    summary = satmut_phylop(scores=tmp / "scores.h5", out=out, seed=2)
    table = pd.read_csv(out["table"], sep="\t")
    assert list(table["features"]) == ["loss", "gain", "both"] and set(summary) == {"r_loss", "r_gain", "r_both"}
    assert (tmp / "fig4bcd.png").read_bytes()[:4] == b"\x89PNG" and (tmp / "fig4bcd.pdf").read_bytes()[:4] == b"%PDF"
    _scan(tmp, {"window": 30})  # no phyloP
    with pytest.raises(InputError, match="no phyloP"):
        satmut_phylop(scores=tmp / "scores.h5", out=out)


def test_plot_satmut_draws_the_top_sites(stage):
    tmp, codes, site_index, starts = stage
    _, scan = _scan(tmp, {"window": 30})
    out = {"fig4a": tmp / "fig4a.png", "table": tmp / "fig4a_sites.tsv"}
    summary = plot_satmut(model=tmp / "m.pt", h5=tmp / "d.h5", scores=tmp / "scores.h5", out=out,
                          satmut={"plot_target": "b", "plot_sites": 2, "plot_window": 40}, device="cpu")
    assert summary == {"target": "b", "sites": 2, "window_bp": 40}
    assert (tmp / "fig4a.png").read_bytes()[:4] == b"\x89PNG" and (tmp / "fig4a.pdf").read_bytes()[:4] == b"%PDF"
    table = pd.read_csv(out["table"], sep="\t")
    top = np.sort(scan["ref"][:, 1])[::-1][:2]
    np.testing.assert_allclose(table["prediction"], top, rtol=1e-5)
    assert (table["target"] == "b").all()
    # the drawn window (40 bp) is centred like the scan's (30 bp): it starts 5 bp before
    np.testing.assert_array_equal(table["window_start"], starts[table["site_index"]] + 10)
    with pytest.raises(ValueError, match="not a target"):
        plot_satmut(model=tmp / "m.pt", h5=tmp / "d.h5", scores=tmp / "scores.h5", out=out,
                    satmut={"plot_target": "zz"}, device="cpu")


def test_satmut_fasta_tables_and_figures(stage):
    tmp = stage[0]
    rng = np.random.default_rng(4)
    seq = "".join(rng.choice(list("ACGT"), 200))
    (tmp / "s.fa").write_text(f">seqA\n{seq[:60]}\n>seq B\n{seq[100:180]}\n")
    summary = satmut_fasta(tmp / "m.pt", tmp / "s.fa", tmp / "sm", start=10, end=30, device="cpu")
    assert summary["records"] == 2 and summary["window"] == [10, 30]
    loss = pd.read_csv(tmp / "sm/loss.tsv.gz", sep="\t")
    assert list(loss.columns) == ["seq", "pos", "ref", *NAMES] and len(loss) == 40
    assert list(loss["pos"][20:22]) == [21, 22]  # seq B (80 bp) cut to its central 60
    assert "".join(loss["ref"][:20]) == seq[10:30] and "".join(loss["ref"][20:]) == seq[120:140]
    # one figure per record, named from the record's first word
    assert sorted(p.name for p in (tmp / "sm").glob("*.png")) == ["satmut_seq.png", "satmut_seqA.png"]
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in (tmp / "sm").glob("*.png"))
    with pytest.raises(ValueError, match="nope"):
        satmut_fasta(tmp / "m.pt", tmp / "s.fa", tmp / "x", target="nope", device="cpu")
    (tmp / "short.fa").write_text(">s\nACGT\n")
    with pytest.raises(InputError, match="needs 60 bp"):
        satmut_fasta(tmp / "m.pt", tmp / "short.fa", tmp / "y", device="cpu")

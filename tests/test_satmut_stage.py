"""The mutagenesis stage over dataset sites: scan_sites / read_scan / plot_sites."""

import h5py
import numpy as np
import pytest
import torch

from basset.models import build_model, model_config
from basset.mutagenesis import ism, loss_gain, plot_sites, read_scan, scan_sites


def _model(L=60, T=3):
    torch.manual_seed(0)
    m = build_model(model_config("cpu", seq_len=L, conv_filters=[8, 8], conv_widths=[7, 5], conv_pools=[3, 2],
                                 conv_dropout=0.0, dense_units=[16]), T)
    return m.eval()


@pytest.fixture
def stage(tmp_path):
    import pyBigWig

    rng = np.random.default_rng(0)
    n, L = 12, 60
    codes = rng.integers(0, 4, (n, L), dtype=np.uint8)
    site_index = rng.permutation(n).astype(np.int64)
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5["target_names"] = np.array([b"a", b"b", b"c"])
        g = h5.create_group("test")
        g["seqs"] = codes
        g["targets"] = np.zeros((n, 3), np.uint8)
        g["site_index"] = site_index
    starts = 1000 + 100 * np.arange(n)
    with open(tmp_path / "sites.bed", "w") as f:
        for i, s in enumerate(starts):
            f.write(f"chr1\t{s}\t{s + L}\tsite{i}\t0\t+\n")
    bw = pyBigWig.open(str(tmp_path / "p.bw"), "w")
    bw.addHeader([("chr1", 5000)])
    bw.addEntries("chr1", 0, values=np.arange(5000, dtype=np.float64) / 100, span=1, step=1)
    bw.close()
    return tmp_path, codes, site_index, starts


def test_scan_sites_matches_ism_and_coordinates(stage):
    tmp, codes, site_index, starts = stage
    model = _model()
    out = tmp / "scan.h5"
    summary = scan_sites(model, tmp / "d.h5", tmp / "sites.bed", out, ["a", "b", "c"], window=20, max_sites=5,
                         seed=3, phylop=tmp / "p.bw", rc_average=False, chunk=2)
    assert summary["sites"] == 5 and summary["nucleotides"] == 100 and not (tmp / "scan.h5.tmp").exists()
    scan = read_scan(out)
    assert scan["loss"].shape == scan["gain"].shape == (5, 20, 3) and scan["ref"].shape == (5, 3)
    rows = np.flatnonzero(np.isin(site_index, scan["site_index"]))
    assert len(rows) == 5
    # the scan's sites are rows of the split: same site_index, windows at the sites' centres
    rows = np.array([int(np.flatnonzero(site_index == s)[0]) for s in scan["site_index"]])
    probs = ism(model, codes[rows], 20, 40)
    loss, gain = loss_gain(probs, codes[rows], 20)
    np.testing.assert_allclose(scan["loss"], loss, atol=1e-6)
    np.testing.assert_allclose(scan["gain"], gain, atol=1e-6)
    np.testing.assert_array_equal(scan["start"], starts[scan["site_index"]] + 20)
    np.testing.assert_allclose(scan["phylop"], (scan["start"][:, None] + np.arange(20)) / 100, rtol=1e-5)
    assert scan["target_names"] == ["a", "b", "c"] and scan["window"] == 20
    with pytest.raises(ValueError, match="longer"):
        scan_sites(model, tmp / "d.h5", tmp / "sites.bed", out, ["a", "b", "c"], window=61)


def test_plot_sites_draws_the_top_sites(stage):
    tmp, codes, site_index, starts = stage
    model = _model()
    scan_sites(model, tmp / "d.h5", tmp / "sites.bed", tmp / "scan.h5", ["a", "b", "c"], window=30)
    scan = read_scan(tmp / "scan.h5")
    table = plot_sites(model, tmp / "d.h5", tmp / "scan.h5", tmp / "fig4a.png", ["a", "b", "c"], target="b",
                       n_sites=2, window=40)
    assert (tmp / "fig4a.png").exists() and (tmp / "fig4a.pdf").exists()
    top = np.sort(scan["ref"][:, 1])[::-1][:2]
    np.testing.assert_allclose(table["prediction"], top, rtol=1e-6)
    assert (table["target"] == "b").all()
    # the drawn window (40 bp) is centred like the scan's (30 bp): it starts 5 bp before
    np.testing.assert_array_equal(table["window_start"], starts[table["site_index"]] + 10)
    with pytest.raises(ValueError, match="not a target"):
        plot_sites(model, tmp / "d.h5", tmp / "scan.h5", tmp / "x.png", ["a", "b", "c"], target="zz")

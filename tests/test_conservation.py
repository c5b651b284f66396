"""basset.conservation (phyloP windows, ridge regression) and the Figure 4/5 plots."""

import numpy as np
import pytest

from basset import conservation as C
from basset.errors import InputError
from basset.plots import mutagenesis as PM
from basset.plots import variants as PV


def _bigwig(path, values: dict):
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([(c, len(v)) for c, v in values.items()])
    for c, v in values.items():
        bw.addEntries(c, 0, values=np.asarray(v, dtype=np.float64), span=1, step=1)
    bw.close()


def test_phylop_windows_values_edges_and_unknown_chromosome(tmp_path):
    v = np.arange(50, dtype=np.float64) / 10
    _bigwig(tmp_path / "p.bw", {"chr1": v})
    out = C.phylop_windows(tmp_path / "p.bw", ["chr1", "chr1", "chr1", "chrX"], [10, -3, 45, 0], 8)
    assert out.shape == (4, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], v[10:18], rtol=1e-6)
    assert np.isnan(out[1, :3]).all() and np.allclose(out[1, 3:], v[:5])  # off the start: NaN
    assert np.allclose(out[2, :5], v[45:50]) and np.isnan(out[2, 5:]).all()  # off the end
    assert np.isnan(out[3]).all()
    with pytest.raises(InputError, match="not found"):
        C.phylop_windows(tmp_path / "missing.bw", ["chr1"], [0], 4)


def test_ridge_phylop_finds_the_informative_features():
    rng = np.random.default_rng(0)
    n, T = 3000, 5
    loss = rng.gamma(1.0, 1.0, (n, T))
    gain = rng.gamma(1.0, 1.0, (n, T))
    phylop = 2.0 * loss[:, 1] + rng.normal(0, 1.0, n)  # conservation follows loss only
    phylop[:7] = np.nan
    table, preds = C.ridge_phylop(loss, gain, phylop, seed=3)
    t = table.set_index("features")
    assert list(table.features) == list(C.FEATURES)
    assert t.loc["loss", "r"] > 0.8 and t.loc["loss", "p"] < 1e-50
    assert abs(t.loc["gain", "r"]) < 0.15
    assert t.loc["both", "r"] > 0.8
    assert t.loc["loss", "n_test"] == round(0.2 * (n - 7)) and t.loc["loss", "n_train"] + t.loc["loss", "n_test"] == n - 7
    obs, pred = preds["loss"]
    assert obs.shape == pred.shape == (t.loc["loss", "n_test"],)
    with pytest.raises(ValueError, match="do not match"):
        C.ridge_phylop(loss, gain[:10], phylop)


def test_variant_figures_are_written(tmp_path):
    rng = np.random.default_rng(1)
    L = 40
    codes = rng.integers(0, 4, L).astype(np.uint8)
    codes[5] = 4  # an N
    delta = rng.normal(0, 0.1, (L, 4))
    delta[np.arange(L)[codes < 4], codes[codes < 4]] = 0
    loss, gain = np.abs(rng.normal(0, 0.1, L)), np.abs(rng.normal(0, 0.1, L))
    d = {"codes": codes, "delta": delta, "loss": loss, "gain": gain, "start": 100, "label": "cellA"}
    png, pdf = PM.fig_satmut([d], tmp_path / "fig4a.png")
    assert png.stat().st_size > 5000 and pdf.exists()
    png, _ = PM.fig_satmut([dict(d, mark=20), dict(d, label="alt", mark=20)], tmp_path / "fig5b.png", title="snp1")
    assert png.exists()
    obs = rng.normal(size=500)
    preds = {f: (obs, obs + rng.normal(size=500)) for f in C.FEATURES}
    import pandas as pd
    table = pd.DataFrame({"features": list(C.FEATURES), "r": [0.5, 0.1, 0.55], "p": [1e-9, 0.1, 1e-10]})
    assert PM.fig4bcd(preds, table, tmp_path / "fig4bcd")[0].exists()
    s = {"n_high": 30, "n_low": 300, "frac_high": 0.4, "frac_low": 0.1, "mannwhitney_p": 1e-5, "fisher_p": 1e-4}
    assert PV.fig5a(s, tmp_path / "fig5a")[0].exists()

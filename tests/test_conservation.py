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


def test_phylop_windows_values_edges_and_unknown_chromosome(tmp_path, caplog):
    v = np.arange(50, dtype=np.float64) / 10 - 1.0
    w = np.arange(7, dtype=np.float64) + 100
    _bigwig(tmp_path / "p.bw", {"chr1": v, "chr2": w})
    chroms = ["chr1", "chr1", "chr1", "chrX", "chr2", "chr1", "chr1", "chr1", "chr2"]
    starts = [10, -3, 45, 0, 0, 0, 42, 50, -8]
    with caplog.at_level("INFO", logger="basset.conservation"):
        out = C.phylop_windows(tmp_path / "p.bw", chroms, np.array(starts), 8)
    assert out.shape == (9, 8) and out.dtype == np.float32
    want = np.full((9, 8), np.nan)
    for i, (c, s) in enumerate(zip(chroms, starts)):  # by hand, position by position
        vals = {"chr1": v, "chr2": w}.get(c)
        for k in range(8):
            if vals is not None and 0 <= s + k < len(vals):
                want[i, k] = vals[s + k]
    np.testing.assert_array_equal(out, want.astype(np.float32))  # NaN where no data, values where data
    # spot checks of the edges: off the start, off the end, a window ending at the chromosome end, beyond it
    assert np.isnan(out[1, :3]).all() and out[1, 3] == np.float32(v[0])
    assert out[2, 4] == np.float32(v[49]) and np.isnan(out[2, 5])
    assert out[6, 7] == np.float32(v[49]) and np.isnan(out[7]).all() and np.isnan(out[8]).all()
    assert np.isnan(out[3]).all()  # chrX is not in the file
    missing = int(np.isnan(want).sum())
    assert "no chromosome(s) chrX" in caplog.text and f"{missing} of 72 positions have no phyloP value" in caplog.text


@pytest.mark.parametrize("length", [1, 4, 5])
def test_phylop_windows_even_and_odd_lengths_with_gaps(tmp_path, length):
    import pyBigWig

    path = tmp_path / "gaps.bw"
    bw = pyBigWig.open(str(path), "w")
    bw.addHeader([("chr3", 30)])
    bw.addEntries("chr3", 2, values=[1.5, -2.0, 3.25], span=1, step=1)  # data at 2..4 and 10..11 only
    bw.addEntries("chr3", 10, values=[7.0, 8.0], span=1, step=1)
    bw.close()
    dense = np.full(30, np.nan)
    dense[2:5] = [1.5, -2.0, 3.25]
    dense[10:12] = [7.0, 8.0]
    starts = list(range(-length, 31))  # every window touching the chromosome, and the first one past it
    out = C.phylop_windows(path, ["chr3"] * len(starts), starts, length)
    padded = np.concatenate([np.full(length, np.nan), dense, np.full(length + 1, np.nan)])
    want = np.stack([padded[s + length : s + 2 * length] for s in starts])
    np.testing.assert_array_equal(out, want.astype(np.float32))
    assert out.shape == (len(starts), length)


def test_phylop_windows_bad_files(tmp_path):
    with pytest.raises(InputError, match="not found") as err:
        C.phylop_windows(tmp_path / "missing.bw", ["chr1"], [0], 4)
    assert err.value.path == str(tmp_path / "missing.bw")  # the error names the file
    (tmp_path / "text.bw").write_text("chr1\t0\t10\t1.0\n")
    with pytest.raises(InputError, match="not a bigWig file") as err:
        C.phylop_windows(tmp_path / "text.bw", ["chr1"], [0], 4)
    assert err.value.path == str(tmp_path / "text.bw")


# ---------------------------------------------------------------------------------------------- ridge
def _ridge_by_hand(x_train, y_train, x_test, alpha):
    """Standardise on the training rows (population sd, 1 for a constant column), then the closed-form
    ridge with an unpenalised intercept."""
    mu, sd = x_train.mean(0), x_train.std(0)
    sd[sd == 0] = 1.0
    a, b = (x_train - mu) / sd, (x_test - mu) / sd
    am, ym = a.mean(0), y_train.mean()
    beta = np.linalg.solve((a - am).T @ (a - am) + alpha * np.eye(a.shape[1]), (a - am).T @ (y_train - ym))
    return b @ beta + ym - am @ beta


def _planted(n=400, T=4, seed=0):
    rng = np.random.default_rng(seed)
    loss = rng.gamma(1.0, 1.0, (n, T))
    gain = rng.gamma(1.0, 1.0, (n, T))
    phylop = 2.0 * loss[:, 1] + rng.normal(0, 1.0, n)  # conservation follows loss of target 1 only
    return loss, gain, phylop


def test_ridge_phylop_matches_a_ridge_by_hand():
    from scipy.stats import pearsonr

    loss, gain, phylop = _planted()
    n = phylop.size
    # NaNs in phyloP, in one loss column, in one gain column: those nucleotides are dropped
    phylop[[0, 5]] = np.nan
    loss[7, 2] = np.nan
    gain[11, 0] = np.nan
    ok = np.ones(n, bool)
    ok[[0, 5, 7, 11]] = False
    table, preds = C.ridge_phylop(loss, gain, phylop, seed=3)
    assert table["features"].tolist() == list(C.FEATURES) == ["loss", "gain", "both"]
    assert table.columns.tolist() == ["features", "n_train", "n_test", "alpha", "r", "p"]
    t = table.set_index("features")
    n_ok = n - 4
    assert (t["n_test"] == round(0.2 * n_ok)).all() and (t["n_train"] == n_ok - round(0.2 * n_ok)).all()
    # the held-out nucleotides: recovered from the observed values (all distinct), the same for each feature set
    obs = preds["loss"][0]
    test = np.isin(phylop, obs) & ok
    assert test.sum() == obs.size == t.loc["loss", "n_test"]
    train = ok & ~test
    for name, x in (("loss", loss), ("gain", gain), ("both", np.hstack([loss, gain]))):
        o, pred = preds[name]
        np.testing.assert_array_equal(o, phylop[test])  # observed values in file order
        alpha = t.loc[name, "alpha"]
        assert alpha in 10.0 ** np.arange(-2, 5)
        np.testing.assert_allclose(pred, _ridge_by_hand(x[train], phylop[train], x[test], alpha), rtol=1e-7,
                                   atol=1e-9)
        r, p = pearsonr(pred, o)
        assert t.loc[name, "r"] == pytest.approx(r, abs=1e-9) and t.loc[name, "p"] == pytest.approx(p, rel=1e-6)
    # r of the planted signal: 2 / sqrt(2^2 + 1) for loss; nothing for gain
    assert abs(t.loc["loss", "r"] - 2 / np.sqrt(5)) < 0.06 and abs(t.loc["gain", "r"]) < 0.2
    assert t.loc["both", "r"] > 0.8 and t.loc["loss", "p"] < 1e-20


def test_ridge_phylop_computes_in_float64_whatever_the_input():
    # the scan's scores are float32 on disk: the regression must not run in float32 (r would move at ~1e-7)
    loss, gain, phylop = _planted(n=300, T=3, seed=4)
    l32, g32, p32 = loss.astype(np.float32), gain.astype(np.float32), phylop.astype(np.float32)
    wide, _ = C.ridge_phylop(l32.astype(np.float64), g32.astype(np.float64), p32.astype(np.float64))
    narrow, _ = C.ridge_phylop(l32, g32, p32)
    np.testing.assert_array_equal(narrow[["alpha", "r", "p"]].to_numpy(), wide[["alpha", "r", "p"]].to_numpy())


def test_ridge_phylop_penalty_grid_ends():
    """Noise-free signal: the smallest penalty of the default grid (1e-2); pure noise: the largest (1e4)."""
    rng = np.random.default_rng(8)
    n = 60
    loss = rng.normal(size=(n, 3))
    gain = rng.normal(size=(n, 3))
    phylop = loss @ [1.0, -2.0, 0.5]
    t = C.ridge_phylop(loss, gain, phylop)[0].set_index("features")
    assert t.loc["loss", "alpha"] == 0.01 and t.loc["gain", "alpha"] == 1e4
    assert t.loc["loss", "r"] > 0.999
    t = C.ridge_phylop(loss, gain, phylop, alphas=(3.0,))[0]
    assert (t["alpha"] == 3.0).all()


def test_ridge_phylop_split_seed_and_rounding():
    loss, gain, phylop = _planted(n=60)
    # the test part: round(fraction * n), at least one nucleotide
    for n, fraction, n_test in ((48, 0.2, 10), (47, 0.2, 9), (45, 0.5, 22), (50, 0.001, 1), (10, 0.2, 2)):
        t = C.ridge_phylop(loss[:n], gain[:n], phylop[:n], test_fraction=fraction)[0]
        assert (t["n_test"] == n_test).all() and (t["n_train"] == n - n_test).all()

    def held_out(**kw):
        return set(C.ridge_phylop(loss, gain, phylop, **kw)[1]["gain"][0])

    assert held_out() == held_out(seed=1) == held_out(seed=1)  # the default seed is 1, and it is a seed
    assert held_out(seed=2) != held_out(seed=1)
    # phyloP may come as a column; 10 nucleotides are enough, 9 are not
    t = C.ridge_phylop(loss[:10], gain[:10], phylop[:10, None])[0]
    assert (t["n_train"] + t["n_test"] == 10).all()
    eleven = phylop[:11].copy()
    eleven[[0, 2]] = np.nan
    with pytest.raises(ValueError, match="only 9 nucleotides"):
        C.ridge_phylop(loss[:11], gain[:11], eleven)
    with pytest.raises(ValueError, match="do not match"):
        C.ridge_phylop(loss, gain[:10], phylop)
    with pytest.raises(ValueError, match="do not match"):
        C.ridge_phylop(loss, gain, phylop[:-1])


def test_ridge_phylop_constant_features_give_r_0_p_1():
    loss, gain, phylop = _planted(n=100)
    gain[:] = 0.25  # no information: the prediction is the training mean everywhere
    t, preds = C.ridge_phylop(loss, gain, phylop)
    t = t.set_index("features")
    assert t.loc["gain", "r"] == 0.0 and t.loc["gain", "p"] == 1.0
    obs, pred = preds["gain"]
    train_mean = phylop[~np.isin(phylop, obs)].mean()
    np.testing.assert_allclose(pred, train_mean, rtol=1e-12)
    assert t.loc["loss", "r"] > 0.5


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

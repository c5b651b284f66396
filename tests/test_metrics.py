"""basset.metrics against independent references: scikit-learn, hand-written Benjamini-Hochberg, hand values."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.metrics import roc_curve as sk_roc

from basset.metrics import (
    SITE_CLASSES,
    auprc,
    auroc,
    auroc_by_class,
    bh_qvalues,
    meme_qvalues,
    quantile_targets,
    roc_curve,
    storey_pi0,
)


def test_metrics_equal_sklearn_with_ties():
    rng = np.random.default_rng(3)
    y = (rng.random((500, 7)) < [0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.02]).astype(np.uint8)
    p = np.round(rng.random((500, 7)) + 0.8 * y, 1)  # rounding makes many ties
    a, ap = auroc(y, p), auprc(y, p)
    assert a.shape == ap.shape == (7,) and a.dtype == ap.dtype == np.float64
    for j in range(7):
        assert a[j] == pytest.approx(roc_auc_score(y[:, j], p[:, j]), abs=1e-12)
        assert ap[j] == pytest.approx(average_precision_score(y[:, j], p[:, j]), abs=1e-12)


def test_known_values_and_degenerate_targets():
    # columns: perfect ranking, no positive, no negative, all scores tied, reversed ranking
    y = np.array([[1, 0, 1, 1, 0], [0, 0, 1, 0, 1], [1, 0, 1, 1, 0], [0, 0, 1, 0, 1]])
    p = np.array([[0.9, 0.1, 0.5, 0.5, 0.9], [0.2, 0.2, 0.5, 0.5, 0.2], [0.8, 0.3, 0.5, 0.5, 0.8],
                  [0.1, 0.4, 0.5, 0.5, 0.1]])
    a, ap = auroc(y, p), auprc(y, p)
    np.testing.assert_array_equal(np.isnan(a), [False, True, True, False, False])
    np.testing.assert_array_equal(np.isnan(ap), [False, True, True, False, False])
    assert a[0] == 1.0 and a[3] == 0.5 and a[4] == 0.0
    # AP: perfect = 1; all tied = the positive rate (one threshold); reversed: positives at ranks 3, 4
    assert ap[0] == 1.0 and ap[3] == 0.5 and ap[4] == pytest.approx(0.5 * 1 / 3 + 0.5 * 2 / 4)
    # 1-D inputs are one target
    assert auroc([1, 0, 1, 0], [0.1, 0.9, 0.2, 0.8]).tolist() == [0.0]
    assert auroc([1, 0, 0, 1], [0.3, 0.3, 0.1, 0.7]).tolist() == [0.875]  # a tie counts one half
    assert auprc([0, 1, 1, 0], [0.1, 0.9, 0.2, 0.8]).tolist() == [pytest.approx(0.5 * 1 + 0.5 * 2 / 3)]
    with pytest.raises(ValueError, match="differ in shape"):
        auroc(y, p[:, :4])
    with pytest.raises(ValueError, match="differ in shape"):
        auprc(y[:3], p)


def test_auprc_one_class_targets_do_not_warn():
    # a target with no positive divides 0 by 0 for its recall: the result is NaN, silently (as auroc)
    y = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1], [0, 1, 0]])
    p = np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.4], [0.8, 0.3, 0.7], [0.1, 0.4, 0.1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ap, a = auprc(y, p), auroc(y, p)
        ap1 = auprc(y[:, 0], p[:, 0])  # 1-D, no positive
    np.testing.assert_array_equal(np.isnan(ap), [True, True, False])
    np.testing.assert_array_equal(np.isnan(a), [True, True, False])
    assert np.isnan(ap1).tolist() == [True]
    assert ap[2] == pytest.approx(average_precision_score(y[:, 2], p[:, 2]), abs=1e-12)


def test_auprc_single_positive_is_a_number():
    # one positive is enough for AP (only no positive or no negative is NaN): 1 / its rank
    y = np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0], [0, 0, 0]])
    p = np.array([[0.4, 0.5, 0.9], [0.3, 0.5, 0.2], [0.2, 0.1, 0.3], [0.1, 0.2, 0.4]])
    ap = auprc(y, p)
    np.testing.assert_allclose(ap, [1 / 3, 0.5, 0.25])  # tie at the top counts both sites
    for j in range(3):
        assert ap[j] == pytest.approx(average_precision_score(y[:, j], p[:, j]), abs=1e-12)
    assert auprc([0, 0, 1, 0], [0.4, 0.3, 0.2, 0.1]).tolist() == [pytest.approx(1 / 3)]


def test_auprc_nan_scores_give_nan_like_auroc():
    # scikit-learn refuses NaN scores; auroc propagates them, and auprc gives NaN too rather than a number that
    # depends on where the NaN rows sit
    rng = np.random.default_rng(5)
    y = (rng.random((400, 3)) < 0.3).astype(np.uint8)
    p = np.round(rng.random((400, 3)), 1)
    p[rng.random(400) < 0.3, 0] = np.nan
    p[7, 1] = np.nan
    with pytest.raises(ValueError):
        average_precision_score(y[:, 0], p[:, 0])
    ap, a = auprc(y, p), auroc(y, p)
    np.testing.assert_array_equal(np.isnan(ap), [True, True, False])
    np.testing.assert_array_equal(np.isnan(a), [True, True, False])
    assert ap[2] == pytest.approx(average_precision_score(y[:, 2], p[:, 2]), abs=1e-12)


def test_roc_curve_matches_sklearn():
    rng = np.random.default_rng(0)
    y = rng.random(300) < 0.3
    p = np.round(rng.random(300) + y * 0.5, 2)
    fpr, tpr = roc_curve(y, p)
    sk_fpr, sk_tpr, _ = sk_roc(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    # by hand, with a tie across classes: thresholds 0.9, 0.5 (one positive, one negative), 0.1
    fpr, tpr = roc_curve([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])


def test_integer_and_bool_scores_equal_sklearn():
    # scores need not be floats: uint8 scores (say probabilities quantised to 0..255) and bool calls rank by their
    # values, as in scikit-learn (negating an unsigned integer would wrap around; negating a bool is refused)
    rng = np.random.default_rng(7)
    y = (rng.random((200, 2)) < 0.3).astype(np.uint8)
    p8 = np.minimum(rng.integers(0, 200, (200, 2)) + 60 * y, 255).astype(np.uint8)
    pb = (rng.random((200, 2)) + 0.4 * y) > 0.8
    for p in (p8, pb):
        a, ap = auroc(y, p), auprc(y, p)
        for j in range(2):
            assert a[j] == pytest.approx(roc_auc_score(y[:, j], p[:, j]), abs=1e-12)
            assert ap[j] == pytest.approx(average_precision_score(y[:, j], p[:, j]), abs=1e-12)
            fpr, tpr = roc_curve(y[:, j], p[:, j])
            sk_fpr, sk_tpr, _ = sk_roc(y[:, j], p[:, j], drop_intermediate=False)
            np.testing.assert_allclose(fpr, sk_fpr)
            np.testing.assert_allclose(tpr, sk_tpr)


@pytest.mark.parametrize("y, p", [
    ([1, 1, 0, 1], [0.9, 0.8, 0.7, 0.1]),  # a single negative; the lowest-scored site is a positive
    ([0, 1, 0, 0, 0], [0.3, 0.2, 0.9, 0.1, 0.2]),  # a single positive, tied with a negative
    ([1, 0, 1], [0.5, 0.5, 0.5]),  # one threshold only
])
def test_roc_curve_small_cases_match_sklearn(y, p):
    fpr, tpr = roc_curve(y, p)
    sk_fpr, sk_tpr, _ = sk_roc(y, p, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)


def test_roc_curve_refuses_nan_scores():
    # as scikit-learn: where NaN rows sit among the thresholds is arbitrary, so there is no curve to draw
    y, p = [1, 0, 1, 0], [0.9, np.nan, 0.2, 0.4]
    with pytest.raises(ValueError):
        sk_roc(y, p)
    with pytest.raises(ValueError, match="NaN"):
        roc_curve(y, p)


# ------------------------------------------------------------------------------------------ by class
def test_auroc_by_class_against_sklearn_per_class():
    rng = np.random.default_rng(5)
    n, names = 300, ["t0", "t1", "t2"]
    # no intragenic site; an unknown class label that is left out; intergenic sites in the first rows
    classes = np.array(["intergenic"] * 40 + list(rng.choice(["promoter", "other", "intergenic"], n - 40)),
                       dtype=object)
    y = (rng.random((n, 3)) < 0.4).astype(np.int8)
    y[classes == "promoter", 2] = 0  # target 2 has no positive among promoters: NaN there
    p = np.round(rng.random((n, 3)) + 0.5 * y, 1)  # ties
    df = auroc_by_class(y, p, classes, names)
    assert list(df.columns) == ["class", "target", "auroc", "n_sites", "n_pos"]
    # class by class in SITE_CLASSES order, classes without sites left out, targets in the given order
    assert df["class"].tolist() == ["promoter"] * 3 + ["intergenic"] * 3
    assert df["target"].tolist() == names * 2
    for _, row in df.iterrows():
        mask = classes == row["class"]
        j = names.index(row["target"])
        assert row["n_sites"] == mask.sum()
        assert row["n_pos"] == y[mask, j].sum()
        if row["class"] == "promoter" and j == 2:
            assert np.isnan(row["auroc"]) and row["n_pos"] == 0
        else:
            assert row["auroc"] == pytest.approx(roc_auc_score(y[mask, j], p[mask, j]), abs=1e-12)
    # the three classes present: three blocks, the same numbers as each class alone
    classes[:5] = "intragenic"
    y[:5, 0] = [1, 0, 1, 0, 1]
    df = auroc_by_class(y, p, classes, names)
    assert df["class"].tolist() == [c for c in SITE_CLASSES for _ in names]
    alone = auroc_by_class(y[:5], p[:5], classes[:5], names)
    pd.testing.assert_frame_equal(df.iloc[3:6].reset_index(drop=True), alone)


def test_auroc_by_class_empty_and_bad_input():
    y, p = np.array([[1], [0]]), np.array([[0.7], [0.2]])
    df = auroc_by_class(y, p, ["other", "unknown"], ["t"])
    assert df.empty and list(df.columns) == ["class", "target", "auroc", "n_sites", "n_pos"]
    df = auroc_by_class(y, p, ["promoter", "promoter"], ["t"])
    assert df.to_dict("records") == [{"class": "promoter", "target": "t", "auroc": 1.0, "n_sites": 2, "n_pos": 1}]
    with pytest.raises(ValueError, match="3 site classes for 2 sites"):
        auroc_by_class(y, p, ["promoter"] * 3, ["t"])


def test_auroc_by_class_rows_numbered_and_counts_integer():
    # one table over the classes: rows numbered 0..n-1 (not each class's block from 0 again, which would make
    # df.loc[0] several rows), and n_sites, n_pos integer counts (a float count is written 1e+06 with %.6g)
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]], dtype=bool)
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.6], [0.1, 0.3], [0.4, 0.5]])
    df = auroc_by_class(y, p, ["promoter", "intergenic", "promoter", "intergenic", "promoter"], ["a", "b"])
    pd.testing.assert_index_equal(df.index, pd.RangeIndex(4))
    assert df["n_sites"].dtype == np.int64 and df["n_pos"].dtype == np.int64
    assert df["n_pos"].tolist() == [3, 1, 0, 1]  # promoter: rows 0, 2, 4; intergenic: rows 1, 3
    assert df["n_sites"].tolist() == [3, 3, 2, 2]


# ------------------------------------------------------------------------------------------ quantiles
def test_quantile_targets_defaults_by_hand():
    # finite AUROCs 0.5 .. 0.9 scattered among NaNs; linear-interpolation quantiles of 5 values at
    # h = 4q: 0.05 -> 0.52, 0.33 -> 0.632, 0.5 -> 0.70, 0.67 -> 0.768, 0.95 -> 0.88
    a = np.array([np.nan, 0.8, 0.6, np.nan, 0.9, 0.5, 0.7, np.nan])
    np.testing.assert_array_equal(quantile_targets(a), [5, 2, 6, 1, 4])
    # quantiles of my own
    np.testing.assert_array_equal(quantile_targets(a, (0.0, 1.0, 0.25)), [5, 4, 2])
    np.testing.assert_array_equal(quantile_targets(a, [0.74]), [1])  # 0.796: nearest 0.8
    # 101 AUROCs 0.500, 0.505, .., 1.000 shuffled among NaNs: quantile q is exactly the grid value 0.5 + q / 2,
    # so each default quantile picks its own target (a default off by 0.01 picks a neighbour)
    rng = np.random.default_rng(0)
    grid = np.full(130, np.nan)
    where = rng.permutation(130)[:101]
    grid[where] = 0.5 + 0.005 * np.arange(101)
    np.testing.assert_array_equal(quantile_targets(grid), where[[5, 33, 50, 67, 95]])
    # ties (equal AUROCs) go to the lowest index; indices count the NaNs
    np.testing.assert_array_equal(quantile_targets([0.6, 0.8, 0.6, 0.8], (0.0, 1.0)), [0, 1])
    np.testing.assert_array_equal(quantile_targets([np.nan, 0.8, 0.6], (0.0, 1.0)), [2, 1])
    with pytest.raises(ValueError, match="^no target has a finite AUROC$"):
        quantile_targets([np.nan, np.nan])


def test_quantile_targets_missing_values_and_float32_levels():
    # a missing AUROC given as None (a JSON null) or pd.NA (a nullable column) is ignored like NaN
    a = [np.nan, 0.8, 0.6, np.nan, 0.9, 0.5, 0.7, np.nan]
    expected = [5, 2, 6, 1, 4]  # as in test_quantile_targets_defaults_by_hand
    np.testing.assert_array_equal(quantile_targets([None if np.isnan(v) else v for v in a]), expected)
    np.testing.assert_array_equal(quantile_targets(pd.array(a, dtype="Float64")), expected)
    # a float32 level is the number it holds: float32(1/6) = 0.16666667163.. is a hair above 1/6, so among
    # 0, 0.4, 0.6, 1 (h = 3q = 0.50000001) the quantile 0.4 * 3q is a hair above 0.2, nearer 0.4 than 0
    assert float(np.float32(1 / 6)) * 3 > 0.5
    np.testing.assert_array_equal(quantile_targets([0.0, 0.4, 0.6, 1.0], np.array([1 / 6], np.float32)), [1])


# ------------------------------------------------------------------------------------------ BH
def _bh_by_hand(p):
    """Benjamini-Hochberg by its definition: q_i = min(1, min over p_(j) >= p_i of n p_(j) / j)."""
    p = np.asarray(p, dtype=np.float64)
    n = p.size
    s = np.sort(p)
    return np.array([min(1.0, min(n * s[j] / (j + 1) for j in range(n) if s[j] >= pi)) for pi in p])


def test_bh_qvalues_by_hand_with_ties_and_cap():
    # sorted: 0.01, 0.03, 0.04, 0.04, 0.5 -> n p / rank: 0.05, 0.075, 0.0667, 0.05, 0.5 -> step-up minimum
    p = np.array([0.04, 0.01, 0.5, 0.03, 0.04])
    np.testing.assert_allclose(bh_qvalues(p), [0.05, 0.05, 0.5, 0.05, 0.05], rtol=1e-12)
    # the step-up minimum brings 3 * 0.9 / 2 = 1.35 down to 0.95 (so q never exceeds the largest p)
    np.testing.assert_allclose(bh_qvalues([0.95, 0.9, 0.1]), [0.95, 0.95, 0.3], rtol=1e-12)
    np.testing.assert_allclose(bh_qvalues([0.2, 0.9]), [0.4, 0.9], rtol=1e-12)
    assert bh_qvalues([0.3]).tolist() == [0.3]
    rng = np.random.default_rng(2)
    for _ in range(5):
        p = np.round(rng.random(40) ** 3, 2)  # many ties, some zeros
        q = bh_qvalues(p)
        np.testing.assert_allclose(q, _bh_by_hand(p), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(q, false_discovery_control(p, method="bh"), rtol=1e-12, atol=1e-15)


def test_bh_qvalues_along_the_last_axis():
    rng = np.random.default_rng(4)
    p = rng.random((3, 2, 7)) ** 2
    q = bh_qvalues(p)
    assert q.shape == p.shape
    for i in range(3):
        for j in range(2):
            np.testing.assert_allclose(q[i, j], _bh_by_hand(p[i, j]), rtol=1e-12)


def test_bh_qvalues_float32_input_and_p_above_one():
    # float32 p-values: q-values computed in float64 from the p-values' exact values
    p32 = np.array([0.013, 0.04, 0.2, 0.031, 0.5, 0.7, 0.0021], dtype=np.float32)
    q = bh_qvalues(p32)
    assert q.dtype == np.float64
    np.testing.assert_allclose(q, _bh_by_hand(p32.astype(np.float64)), rtol=1e-12)
    # a p-value a rounding error above 1 (a doubled one-sided p-value can be) still gives q at most 1, exactly
    above = 2 * 0.5000000000000001
    assert above > 1.0
    q = bh_qvalues([0.5, above, 0.01])  # sorted 0.01, 0.5, above: 3 p / rank = 0.03, 0.75, above
    assert q[1] == 1.0
    np.testing.assert_allclose(q, [0.75, 1.0, 0.03], rtol=1e-12)


def test_bh_qvalues_leave_nan_p_values_out():
    """A NaN p-value gets a NaN q-value and is not counted among the tests (R's p.adjust); the others are the
    q-values of the rows without it (scipy's false_discovery_control). Reproduction: before, one NaN made every
    q-value of its row NaN. Rows of one axis may hold different numbers of NaNs, also all NaN or none."""
    p = np.array([[0.01, np.nan, 0.04, 0.03, np.nan, 0.5],
                  [np.nan] * 6,
                  [0.2, 0.01, 0.02, 0.9, 0.03, 0.04]])
    q = bh_qvalues(p)
    for row, qrow in zip(p, q):
        ok = ~np.isnan(row)
        assert np.array_equal(np.isnan(qrow), ~ok)
        if ok.any():
            np.testing.assert_allclose(qrow[ok], false_discovery_control(row[ok], method="bh"), rtol=1e-12)
    # by hand: 4 tests; sorted 0.01, 0.03, 0.04, 0.5 -> 4 p / rank 0.04, 0.06, 0.0533, 0.5 -> step-up minimum
    np.testing.assert_allclose(q[0, [0, 2, 3, 5]], [0.04, 0.16 / 3, 0.16 / 3, 0.5], rtol=1e-12)


# the hand example of MEME's pi0 (qvalue.c, estimate_pi_zero): 10 p-values, lambdas 0.2, 0.4, 0.6, 0.8
HAND_P = [0.01, 0.02, 0.03, 0.2, 0.3, 0.45, 0.55, 0.7, 0.85, 0.95]
HAND_BOOTS = [[0.95, 0.01, 0.7, 0.3], [0.85, 0.02, 0.45, 0.03]]  # unsorted, as drawn


def test_storey_pi0_by_hand():
    """pi0(lambda) = #(p >= lambda) / ((1 - lambda) 10): 7/8, 5/6, 3/4, 2/2; plug-in min 3/4. Bootstrap 1
    (0.01 0.3 0.7 0.95): 3/3.2, 2/2.4, 2/1.6, 1/0.8; bootstrap 2 (0.02 0.03 0.45 0.85): 2/3.2, 2/2.4, 1/1.6,
    1/0.8. Squared errors against 3/4 summed: 0.0508, 0.0139, 0.2656, 0.5: lambda 0.4 wins, pi0 = 5/6."""
    kw = dict(bootstraps=HAND_BOOTS, n_lambda=4, max_lambda=0.8, min_samples=0)
    assert storey_pi0(HAND_P, **kw) == pytest.approx(5 / 6, rel=1e-12)
    assert storey_pi0(HAND_P[::-1], **kw) == pytest.approx(5 / 6, rel=1e-12)  # any order
    # a lambda no p-value reaches has no estimate (inf), so it is never the plug-in: p all below 0.5
    low = [0.01, 0.1, 0.2, 0.3, 0.35, 0.45]  # lambdas 0.2, 0.4: 4/4.8, 1/3.6; 0.6, 0.8: none
    assert storey_pi0(low, bootstraps=[low, low], n_lambda=4, max_lambda=0.8, min_samples=0) == \
        pytest.approx(1 / 3.6, rel=1e-12)
    # MEME's rule: 100 p-values or fewer give pi0 = 1 (here the estimate would be 5/6)
    assert storey_pi0(HAND_P, bootstraps=HAND_BOOTS, n_lambda=4, max_lambda=0.8) == 1.0
    assert storey_pi0(HAND_P * 11, n_lambda=4, max_lambda=0.8) < 1.0  # 110 > 100
    # all p-values tiny: no lambda has an estimate, pi0 = 1; NaNs are left out of the count
    assert storey_pi0(np.full(200, 1e-9)) == 1.0
    assert storey_pi0(np.r_[HAND_P, np.nan], **kw) == pytest.approx(5 / 6, rel=1e-12)


def test_bh_with_pi0_by_hand():
    """BH of the hand p-values (p * 10 / rank: 0.1, 0.1, 0.1, 0.5, 0.6, 0.75, 0.786, 0.875, 0.944, 0.95) times
    pi0 = 5/6, monotone already; and the cap at 1 applies after the product (MEME's order)."""
    bh = np.array([0.1, 0.1, 0.1, 0.5, 0.6, 0.75, 5.5 / 7, 0.875, 8.5 / 9, 0.95])
    np.testing.assert_allclose(bh_qvalues(HAND_P, 5 / 6), bh * 5 / 6, rtol=1e-12)
    # p * n / rank above 1 before the product: 0.9 * 2 / 1 = 1.8 * 0.5 = 0.9, not min(1.8, 1) * 0.5
    np.testing.assert_allclose(bh_qvalues([0.9, 0.95], 0.5), [0.475, 0.475], rtol=1e-12)
    np.testing.assert_allclose(bh_qvalues([[0.9, 0.95], [0.1, 0.2]], [0.5, 1.0]), [[0.475, 0.475], [0.2, 0.2]])


def test_meme_qvalues_estimate_pi0_per_row():
    """Half the p-values from the null (uniform), half near 0: pi0 about 0.5, so the q-values are about half of
    BH's; all from the null: pi0 about 1 (never above); 100 p-values or fewer: plain BH; the same seed gives
    the same q-values."""
    rng = np.random.default_rng(7)
    mixed = np.r_[rng.uniform(size=1500), rng.uniform(0, 1e-4, 1500)]
    null = rng.uniform(size=3000)
    q = meme_qvalues(np.stack([mixed, null]))
    ratio = q / bh_qvalues(np.stack([mixed, null]))
    small = bh_qvalues(mixed) < 1  # below the cap the ratio is pi0
    assert 0.45 < np.median(ratio[0][small]) < 0.55 and np.ptp(ratio[0][small]) < 1e-9
    assert 0.93 < ratio[1].min() and ratio[1].max() <= 1.0
    np.testing.assert_array_equal(meme_qvalues(np.stack([mixed, null]), seed=3), meme_qvalues(np.stack([mixed, null]),
                                                                                             seed=3))
    np.testing.assert_allclose(meme_qvalues(HAND_P), bh_qvalues(HAND_P), rtol=1e-12)
    q = meme_qvalues(np.r_[mixed[:200], np.nan])
    assert np.isnan(q[-1]) and not np.isnan(q[:-1]).any()


def test_storey_pi0_lambda_grid_and_squared_error_by_hand():
    """Ten p-values, lambdas 0.2, 0.4, 0.6, 0.8: pi0 7/8, 6/6, 3/4, 2/2 (plug-in 3/4). Three given bootstraps
    of six give 0.833, 1.25, 0.833 at 0.2; 1.111, 0.833, 1.111 at 0.4; 1.25, 0.417, 0.833 at 0.6; inf at 0.8.
    Summed squared errors against 3/4: 0.264, 0.268, 0.368, inf: lambda 0.2 wins by a hair, pi0 = 7/8. (Cubed,
    signed errors would pick 0.6; a grid from 0 or from 0.4, or without its top, would end at 1.)"""
    p = [0.92, 0.06, 0.93, 0.52, 0.43, 0.47, 0.07, 0.22, 0.08, 0.74]
    boots = [[0.74, 0.93, 0.06, 0.52, 0.74, 0.06], [0.43, 0.22, 0.22, 0.22, 0.47, 0.74],
             [0.74, 0.47, 0.06, 0.43, 0.06, 0.74]]
    assert storey_pi0(p, bootstraps=boots, n_lambda=4, max_lambda=0.8, min_samples=0) == pytest.approx(7 / 8)


def test_storey_pi0_boundaries_clip_and_random_draws():
    """MEME estimates pi0 from more than 100 p-values only (exactly 100: 1); an estimate above 1 is clipped to 1;
    the bootstraps are drawn from the given generator, or from seed 0 when none is given."""
    rng = np.random.default_rng(11)
    n = int(rng.integers(101, 300))
    k = int(rng.integers(5, n // 2))
    p = np.r_[rng.uniform(size=n - k), rng.uniform(0, 0.05, k)]  # 127 p-values, 12 of them near 0
    assert storey_pi0(p[:100]) == 1.0 and storey_pi0(p[:101]) < 1.0
    # every p-value 0.95: pi0(lambda) = 1 / (1 - lambda) > 1 at every lambda, clipped
    assert storey_pi0(np.full(150, 0.95)) == 1.0
    by_seed = [storey_pi0(p, np.random.default_rng(s)) for s in (0, 1)]
    assert by_seed[0] != by_seed[1]  # the bootstraps matter for these p-values
    assert storey_pi0(p) == by_seed[0] == storey_pi0(p)  # no generator: seed 0, the same every call
    # meme_qvalues draws each row's bootstraps from its seed
    np.testing.assert_allclose(meme_qvalues(p, seed=1), bh_qvalues(p, by_seed[1]), rtol=1e-12)
    np.testing.assert_allclose(meme_qvalues(p), bh_qvalues(p, by_seed[0]), rtol=1e-12)


def test_meme_qvalues_of_a_scalar_and_of_more_dimensions():
    """One p-value is its own q-value (fewer than 101: plain BH); a scalar is refused; a (2, 3, n) array gets one
    pi0 per row."""
    assert meme_qvalues([0.3]).tolist() == [0.3]
    with pytest.raises(ValueError, match="^expected p-values along a last axis, got a scalar$"):
        meme_qvalues(0.3)
    rng = np.random.default_rng(2)
    p = rng.uniform(size=(2, 3, 150)) ** 3
    q = meme_qvalues(p)
    assert q.shape == p.shape
    for i in range(2):
        for j in range(3):
            np.testing.assert_allclose(q[i, j], meme_qvalues(p[i, j]), rtol=1e-12)

"""The gkm-SVM baseline (basset.gkmsvm, wrapping gkmsvm-lite): balanced sampling, the code conversion against
the package's own encoder and LS-GKM's reading of N, scores against scikit-learn's SVC on the package's Gram
matrix, and a planted motif. Small models (50 bp, about 100 sequences): the whole file runs in seconds once
numba's kernels are cached (the first run in a fresh environment compiles them, about 2 s)."""

import gkmsvm  # a dependency (pyproject.toml): missing, these tests fail rather than skip
import numpy as np
import pytest

from basset.gkmsvm import (
    balanced_subsample,
    fit_gkmsvm,
    gkmsvm_baseline,
    score_gkmsvm,
    to_gkmsvm_onehot,
)
from basset.metrics import auroc
from basset.sequence import decode, encode, reverse_complement

MOTIF = encode("GATAAG")
PARAMS = dict(l=10, k=6, d=3, C=1.0)


def planted(n_pos, n_neg, length=50, seed=0, n_rate=0.0):
    """Random ``(n, length)`` codes with GATAAG (either strand) at a random position in the first ``n_pos`` rows;
    labels 1 for those, 0 after. ``n_rate``: fraction of positions set to N."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n_pos + n_neg, length), dtype=np.uint8)
    for row in codes[:n_pos]:
        at = rng.integers(0, length - MOTIF.size + 1)
        row[at : at + MOTIF.size] = MOTIF if rng.random() < 0.5 else reverse_complement(MOTIF)
    if n_rate:
        codes[rng.random(codes.shape) < n_rate] = 4
    labels = np.r_[np.ones(n_pos, np.uint8), np.zeros(n_neg, np.uint8)]
    return codes, labels


def rc_string(s):
    return s[::-1].translate(str.maketrans("ACGT", "TGCA"))


@pytest.fixture(scope="module")
def motif_model():
    codes, labels = planted(60, 60, seed=1)
    return fit_gkmsvm(codes, labels, **PARAMS), codes, labels


# ---- balanced_subsample ------------------------------------------------------------------------------------


def test_subsample_counts_sorted_unique_and_all_positives():
    labels = np.zeros(500, np.uint8)
    pos = np.random.default_rng(0).choice(500, 30, replace=False)
    labels[pos] = 1
    rows = balanced_subsample(labels, 1000, rng=3)
    assert rows.dtype == np.int64 and np.all(np.diff(rows) > 0)  # sorted, no duplicates
    assert labels[rows].sum() == 30 and rows.size == 60  # every positive, as many negatives
    assert set(pos) <= set(rows.tolist())
    rows = balanced_subsample(labels, 40, rng=3)  # cap: 20 of each class
    assert rows.size == 40 and labels[rows].sum() == 20 and np.unique(rows).size == 40
    rows = balanced_subsample(labels, 41, rng=3)  # odd cap: floor(41 / 2) of each
    assert rows.size == 40 and labels[rows].sum() == 20
    rows = balanced_subsample(labels, None, rng=3)  # no cap
    assert rows.size == 60 and labels[rows].sum() == 30


def test_subsample_more_positives_than_negatives():
    labels = np.ones(300, np.uint8)
    labels[::10] = 0  # 30 negatives
    rows = balanced_subsample(labels, 1000, rng=0)
    assert rows.size == 60 and labels[rows].sum() == 30
    assert set(np.flatnonzero(labels == 0)) <= set(rows.tolist())


def test_subsample_deterministic_and_random():
    labels = (np.arange(1000) % 7 == 0).astype(np.uint8)
    a = balanced_subsample(labels, 100, rng=5)
    assert np.array_equal(a, balanced_subsample(labels, 100, rng=np.random.default_rng(5)))
    b = balanced_subsample(labels, 100, rng=6)
    assert not np.array_equal(a, b)
    # the negatives are drawn uniformly: over many draws every negative is picked about equally often
    seen = np.zeros(1000)
    for seed in range(300):
        seen[balanced_subsample(labels, 100, rng=seed)] += 1
    neg_freq = seen[labels == 0] / 300
    assert abs(neg_freq.mean() - 50 / 857) < 0.002 and neg_freq.std() < 0.03


@pytest.mark.parametrize("labels", [np.zeros(50, np.uint8), np.ones(50, np.uint8), np.zeros(0, np.uint8)])
def test_subsample_single_class_raises(labels):
    with pytest.raises(ValueError, match="cannot balance"):
        balanced_subsample(labels, 100, rng=0)


def test_subsample_rejects_bad_input():
    with pytest.raises(ValueError, match="max_train"):
        balanced_subsample(np.array([0, 1, 0, 1]), 1)
    with pytest.raises(ValueError, match="0/1"):
        balanced_subsample(np.array([0, 2, 1]), 10)


# ---- code conversion -----------------------------------------------------------------------------------------


def test_onehot_matches_the_package_encoder_and_decoder():
    rng = np.random.default_rng(2)
    codes = rng.integers(0, 5, (6, 37), dtype=np.uint8)
    x = to_gkmsvm_onehot(codes)
    assert x.shape == (6, 4, 37) and x.dtype == np.float32 and x.flags.c_contiguous
    for row, onehot in zip(codes, x):
        text = decode(row)
        # N is read as A, as LS-GKM does
        assert np.array_equal(onehot, gkmsvm.one_hot_encode(text.replace("N", "A")))
        assert gkmsvm.one_hot_decode(onehot) == text.replace("N", "A")
        assert np.array_equal(encode(gkmsvm.one_hot_decode(onehot)), np.where(row == 4, 0, row))
    # IUPAC letters are N in basset's codes, hence A here
    assert np.array_equal(to_gkmsvm_onehot(encode("ACGTRYN")[None])[0], gkmsvm.one_hot_encode("ACGTAAA"))


def test_onehot_rejects_bad_codes():
    with pytest.raises(ValueError, match="0..4"):
        to_gkmsvm_onehot(np.array([[0, 1, 5]], np.uint8))
    with pytest.raises(ValueError, match=r"\(n, L\)"):
        to_gkmsvm_onehot(np.zeros(5, np.uint8))


# ---- fit and score -------------------------------------------------------------------------------------------


def test_scores_equal_svc_on_the_package_gram(motif_model):
    """Outside reference: scikit-learn's SVC fitted on gkmsvm-lite's own Gram matrix of the package-encoded
    sequences (labels as given: a swap of the classes would flip the sign)."""
    from gkmsvm.gram import compute_gram
    from gkmsvm.svm import KERNEL_BUILDERS
    from sklearn.svm import SVC

    model, codes, labels = motif_model
    test, _ = planted(20, 20, seed=9)
    kernel = KERNEL_BUILDERS["gkm_esttrunc"]({"L": 10, "k": 6, "d": 3})
    enc = lambda c: np.stack([gkmsvm.one_hot_encode(decode(r)) for r in c])  # noqa: E731
    svc = SVC(C=1.0, kernel="precomputed").fit(compute_gram(kernel, enc(codes)), labels)
    ref = svc.decision_function(compute_gram(kernel, enc(test), enc(codes)))
    ours = score_gkmsvm(model, test)
    assert ours.dtype == np.float64 and ours.shape == (40,)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)
    assert model.num_support_vectors == svc.support_.size


def test_planted_motif_is_learned_and_shuffled_labels_are_not(motif_model):
    model, codes, labels = motif_model
    test, y_test = planted(100, 100, seed=2)
    auc = auroc(y_test, score_gkmsvm(model, test))[0]
    assert auc > 0.9
    shuffled = np.random.default_rng(3).permutation(labels)
    auc_null = auroc(y_test, score_gkmsvm(fit_gkmsvm(codes, shuffled, **PARAMS), test))[0]
    assert abs(auc_null - 0.5) < 0.15, auc_null


def test_scores_deterministic_batch_and_thread_independent(motif_model):
    model, codes, labels = motif_model
    test, _ = planted(15, 15, seed=4)
    a = score_gkmsvm(model, test)
    assert np.array_equal(a, score_gkmsvm(model, test))
    assert np.array_equal(a, score_gkmsvm(model, test, batch_size=7))
    assert np.array_equal(a, score_gkmsvm(model, test, n_threads=1))
    refit = fit_gkmsvm(codes, labels, **PARAMS, n_threads=1)
    assert np.array_equal(a, score_gkmsvm(refit, test))


def test_scores_strand_symmetric_and_n_read_as_lsgkm_does(motif_model):
    model = motif_model[0]
    test, _ = planted(10, 10, seed=5)
    a = score_gkmsvm(model, test)
    np.testing.assert_allclose(score_gkmsvm(model, reverse_complement(test)), a, rtol=1e-5, atol=1e-6)
    with_n, _ = planted(10, 10, seed=5, n_rate=0.05)
    assert (with_n == 4).any()
    s = score_gkmsvm(model, with_n)
    as_a = [decode(r).replace("N", "A") for r in with_n]
    # LS-GKM reads N as A on the given strand, hence as T on the other one
    np.testing.assert_array_equal(s, score_gkmsvm(model, np.stack([encode(t) for t in as_a])))
    rc = model(np.stack([gkmsvm.one_hot_encode(rc_string(t)) for t in as_a])).ravel()
    np.testing.assert_allclose(s, rc, rtol=1e-5, atol=1e-6)
    # the package's own zero column for N is read as A on both strands: another score
    zero_n = model(np.stack([gkmsvm.one_hot_encode(decode(r), allow_n=True) for r in with_n])).ravel()
    assert not np.allclose(s, zero_n, rtol=1e-5, atol=1e-6)


def test_fit_needs_both_classes_and_long_enough_sequences():
    codes, labels = planted(5, 5)
    with pytest.raises(ValueError, match="both classes"):
        fit_gkmsvm(codes, np.zeros(10, np.uint8))
    with pytest.raises(ValueError, match="shorter"):
        fit_gkmsvm(codes[:, :8], labels)
    with pytest.raises(ValueError, match="rows"):
        fit_gkmsvm(codes, labels[:-1])


# ---- the baseline --------------------------------------------------------------------------------------------


def test_baseline_per_target():
    train, y = planted(80, 220, seed=6)
    test, y_test = planted(60, 60, seed=7)
    # target 0: the motif; target 1: no positive in training (skipped); target 2: the motif, labels flipped
    train_t = np.stack([y, np.zeros_like(y), 1 - y], axis=1)
    test_t = np.stack([y_test, y_test, 1 - y_test], axis=1)
    res = gkmsvm_baseline(train, train_t, test, test_t, [0, 1, 2], max_train=100, max_test=80, seed=3, **PARAMS)
    assert res["targets"].tolist() == [0, 1, 2]
    assert res["test_rows"].size == 80 and np.all(np.diff(res["test_rows"]) > 0)
    assert res["scores"].shape == (80, 3)
    assert res["n_train_pos"].tolist() == [50, 0, 50] and res["n_train_neg"].tolist() == [50, 0, 50]
    assert res["auroc"][0] > 0.9 and res["auroc"][2] > 0.9
    assert list(res["skipped"]) == [1] and np.isnan(res["auroc"][1]) and np.isnan(res["scores"][:, 1]).all()
    assert (res["fit_seconds"][[0, 2]] > 0).all() and (res["score_seconds"][[0, 2]] > 0).all()
    assert 0 < res["n_support"][0] <= 100
    # the AUROC is the metric on the returned scores and test rows
    np.testing.assert_allclose(res["auroc"][0], auroc(y_test[res["test_rows"]], res["scores"][:, 0])[0])
    # a target's result does not depend on the other targets chosen, and the same seed repeats it
    alone = gkmsvm_baseline(train, train_t, test, test_t, [2], max_train=100, max_test=80, seed=3, **PARAMS)
    assert np.array_equal(alone["scores"][:, 0], res["scores"][:, 2])
    other = gkmsvm_baseline(train, train_t, test, test_t, [0], max_train=100, max_test=80, seed=4, **PARAMS)
    assert not np.array_equal(other["test_rows"], res["test_rows"])


def test_baseline_checks_shapes():
    train, y = planted(5, 5)
    with pytest.raises(ValueError, match="train_targets"):
        gkmsvm_baseline(train, y[:, None][:-1], train, y[:, None])
    with pytest.raises(ValueError, match="out of range"):
        gkmsvm_baseline(train, y[:, None], train, y[:, None], [1])


def test_choose_targets_spreads_over_groups():
    """One per group in turn (groups in order of first appearance), returned in sheet order; all when n is None
    or too large; no groups: the first n."""
    from basset.config import choose_targets

    names = ["e1", "e2", "m1", "e3", "l1", "m2"]
    groups = ["ery", "ery", "mye", "ery", "lym", "mye"]
    assert choose_targets(names, groups, 3) == ["e1", "m1", "l1"]
    assert choose_targets(names, groups, 4) == ["e1", "e2", "m1", "l1"]
    assert choose_targets(names, groups, 5) == ["e1", "e2", "m1", "l1", "m2"]
    assert choose_targets(names, groups, None) == names == choose_targets(names, groups, 60)
    assert choose_targets(names, None, 2) == ["e1", "e2"]
    with pytest.raises(ValueError, match="at least one target"):
        choose_targets(names, groups, 0)

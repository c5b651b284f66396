"""The k-mer counts against a naive count, and the k-mer baseline on a planted k-mer."""

import itertools

import numpy as np
import pytest

from basset.kmer import (
    KmerBaseline,
    kmer_counts,
    kmer_names,
    n_features,
    normalise,
    pattern_offsets,
)
from basset.metrics import auroc

RC = {"A": "T", "C": "G", "G": "C", "T": "A"}


def naive_counts(seqs, k, rc_collapse, gap=0):
    """Pure-Python reference: dict per sequence of (canonical) k-mer string -> count."""
    offsets = list(pattern_offsets(k, gap))
    span = offsets[-1] + 1
    out = []
    for s in seqs:
        counts = {}
        for i in range(len(s) - span + 1):
            kmer = "".join(s[i + o] for o in offsets)
            if "N" in kmer:
                continue
            if rc_collapse:
                kmer = min(kmer, "".join(RC[b] for b in reversed(kmer)))
            counts[kmer] = counts.get(kmer, 0) + 1
        out.append(counts)
    return out


def all_columns(k, rc_collapse):
    """Column order of kmer_counts for contiguous k-mers: sorted (canonical) k-mers (A<C<G<T = index order)."""
    kmers = ["".join(p) for p in itertools.product("ACGT", repeat=k)]
    if rc_collapse:
        kmers = sorted({min(s, "".join(RC[b] for b in reversed(s))) for s in kmers})
    return kmers


def random_codes(rng, n, L, n_frac=0.05):
    codes = rng.integers(0, 4, size=(n, L), dtype=np.uint8)
    codes[rng.random((n, L)) < n_frac] = 4
    return codes


@pytest.mark.parametrize("rc_collapse", [False, True])
@pytest.mark.parametrize("k", [1, 3, 4])
def test_kmer_counts_equal_naive(k, rc_collapse):
    rng = np.random.default_rng(k)
    codes = random_codes(rng, 6, 50)
    seqs = ["".join("ACGTN"[c] for c in row) for row in codes]
    X = kmer_counts(codes, k=k, rc_collapse=rc_collapse).toarray()
    cols = all_columns(k, rc_collapse)
    assert X.shape == (6, len(cols)) == (6, n_features(k, rc_collapse))
    assert X.dtype == np.float32
    assert kmer_names(k, rc_collapse) == cols
    for row, ref in zip(X, naive_counts(seqs, k, rc_collapse)):
        expected = np.array([ref.get(c, 0) for c in cols], dtype=np.float32)
        np.testing.assert_array_equal(row, expected)


@pytest.mark.parametrize("rc_collapse", [False, True])
def test_gapped_counts_equal_naive(rc_collapse):
    rng = np.random.default_rng(7)
    codes = random_codes(rng, 5, 40)
    seqs = ["".join("ACGTN"[c] for c in row) for row in codes]
    k, gaps = 4, [0, 2]
    X = kmer_counts(codes, k=k, rc_collapse=rc_collapse, gap=gaps).toarray()
    cols = all_columns(k, rc_collapse)
    assert X.shape[1] == 2 * len(cols) == n_features(k, rc_collapse, gaps)
    assert kmer_names(k, rc_collapse, gaps)[len(cols)] == cols[0][:2] + "NN" + cols[0][2:]
    for g_i, g in enumerate(gaps):
        block = X[:, g_i * len(cols) : (g_i + 1) * len(cols)]
        for row, ref in zip(block, naive_counts(seqs, k, rc_collapse, gap=g)):
            np.testing.assert_array_equal(row, [ref.get(c, 0) for c in cols])


def test_counts_are_strand_symmetric_and_blocked():
    rng = np.random.default_rng(3)
    codes = random_codes(rng, 9, 64)
    rc = (np.array([3, 2, 1, 0, 4], np.uint8)[codes])[:, ::-1]
    a = kmer_counts(codes, k=5).toarray()
    np.testing.assert_array_equal(a, kmer_counts(rc, k=5).toarray())
    import basset.kmer as km

    old, km._BLOCK_ROWS = km._BLOCK_ROWS, 4  # several blocks give the same matrix
    try:
        np.testing.assert_array_equal(a, kmer_counts(codes, k=5).toarray())
    finally:
        km._BLOCK_ROWS = old


def test_normalise_rows():
    X = kmer_counts(np.random.default_rng(0).integers(0, 4, (4, 30), dtype=np.uint8), k=3)
    for norm in ("l2", "log1p-l2"):
        Z = normalise(X, norm)
        np.testing.assert_allclose(np.sqrt(np.asarray(Z.multiply(Z).sum(axis=1)).ravel()), 1.0, rtol=1e-5)
    with pytest.raises(ValueError):
        normalise(X, "bogus")


def test_baseline_learns_planted_kmer():
    rng = np.random.default_rng(11)
    n, L = 800, 120
    codes = rng.integers(0, 4, size=(n, L), dtype=np.uint8)
    motif = np.array([0, 2, 3, 1, 1, 3, 2, 0], dtype=np.uint8)  # AGTCCTGA
    y = np.zeros((n, 3), np.uint8)
    y[:, 0] = rng.random(n) < 0.5
    pos = np.flatnonzero(y[:, 0])
    at = rng.integers(0, L - 8, size=pos.size)
    codes[pos[:, None], at[:, None] + np.arange(8)] = motif
    y[:, 1] = rng.random(n) < 0.5  # noise target
    y[:, 2] = 0  # one class only: constant score
    train, test = np.arange(600), np.arange(600, n)
    model = KmerBaseline(k=6, C=1.0, seed=1, n_jobs=2).fit(codes[train], y[train])
    p = model.predict_proba(codes[test])
    assert p.shape == (200, 3) and p.dtype == np.float32
    assert auroc(y[test, 0], p[:, 0])[0] > 0.9
    assert np.all(p[:, 2] == p[0, 2]) and p[0, 2] < 1e-3
    assert model.constant_.tolist() == [False, False, True]
    # the same seed gives the same model; max_train subsamples deterministically
    again = KmerBaseline(k=6, C=1.0, seed=1, n_jobs=1, max_train=500).fit(codes[train], y[train])
    np.testing.assert_array_equal(again.coef_, KmerBaseline(k=6, C=1.0, seed=1, max_train=500)
                                  .fit(codes[train], y[train]).coef_)


def test_bad_settings():
    with pytest.raises(ValueError, match="even k"):
        KmerBaseline(k=5, gap=1)
    with pytest.raises(ValueError, match="k must be"):
        kmer_counts(np.zeros((1, 20), np.uint8), k=13)
    with pytest.raises(RuntimeError):
        KmerBaseline().predict_proba(np.zeros((1, 20), np.uint8))

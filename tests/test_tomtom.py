"""basset.tomtom: MEME's Tomtom statistics in numpy, checked against brute force and against memelite."""

import itertools

import numpy as np
import pytest

from basset import tomtom as T
from basset.memefile import Motif


def _random_motifs(n, rng, wmin=6, wmax=16, prefix="T"):
    out = []
    for k in range(n):
        w = int(rng.integers(wmin, wmax + 1))
        out.append(Motif(f"{prefix}{k}", f"name{k}", rng.dirichlet(np.full(4, 0.4), size=w)))
    return out


def test_column_scores_pearson_and_ed():
    q = np.array([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    t = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.4, 0.3, 0.2, 0.1]])
    s = T.column_scores(q, t, "pearson")
    assert s[0, 0] == pytest.approx(1.0)
    assert s[0, 1] == pytest.approx(np.corrcoef(q[0], t[1])[0, 1])
    assert s[0, 2] == pytest.approx(np.corrcoef(q[0], t[2])[0, 1])
    assert np.all(s[1] == 0)  # a uniform column has no correlation with anything
    e = T.column_scores(q, t, "ed")
    assert e[0, 2] == pytest.approx(-np.linalg.norm(q[0] - t[2]))
    with pytest.raises(ValueError):
        T.column_scores(q, t, "kullback")


def test_span_null_equals_brute_force():
    # every combination of database columns, equally likely: the exact distribution of a span's sum
    rng = np.random.default_rng(0)
    ints = rng.integers(0, T.BINS + 1, size=(3, 5))
    zero = 7
    n_levels = 3 * T.BINS + 1 + 3 * zero
    log_cdf, index = T._span_log_cdfs(ints, zero, n_levels)
    assert len(index) == 6  # spans of 3 columns
    for (a, b), row in index.items():
        sums = np.array([sum(c) + (3 - (b - a + 1)) * zero
                         for c in itertools.product(*[ints[i] for i in range(a, b + 1)])])
        cdf = np.array([np.mean(sums <= x) for x in range(n_levels)])
        np.testing.assert_allclose(np.exp(log_cdf[row]), cdf, atol=1e-12)


@pytest.mark.parametrize("distance", ["pearson", "ed"])
def test_self_match_offset_strand_and_substring(distance):
    rng = np.random.default_rng(3)
    targets = _random_motifs(60, rng)
    t7 = targets[7].pwm
    queries = [Motif("q", "q", t7), Motif("rc", "rc", t7[::-1, ::-1]), Motif("sub", "sub", t7[2:8])]
    table = T.tomtom_all(queries, targets, engine="basset", dist=distance)
    assert list(table.columns) == T.TOMTOM_COLUMNS and len(table) == 3 * 60
    assert (table.engine == "basset").all() and (table.distance == distance).all()
    hit = table[table.target_id == "T7"].set_index("filter")
    assert hit.loc["q", "q"] < 1e-3 and hit.loc["q", "offset"] == 0 and hit.loc["q", "orientation"] == "+"
    assert hit.loc["q", "overlap"] == len(t7) and hit.loc["q", "E"] == pytest.approx(hit.loc["q", "p"] * 60)
    assert hit.loc["rc", "q"] < 1e-3 and hit.loc["rc", "orientation"] == "-" and hit.loc["rc", "offset"] == 0
    # a 6-column piece of T7 aligns at column 2 of T7, fully overlapped
    assert hit.loc["sub", "offset"] == 2 and hit.loc["sub", "overlap"] == 6 and hit.loc["sub", "orientation"] == "+"
    for f in ("q", "rc"):
        assert table[table["filter"] == f].sort_values("p").iloc[0].target_id == "T7"


def test_uninformative_query_is_not_significant():
    rng = np.random.default_rng(5)
    targets = _random_motifs(80, rng)
    query = Motif("u", "u", np.full((10, 4), 0.25))
    table = T.tomtom_all([query], targets, engine="basset")
    assert table.q.min() > 0.5


def test_euclidean_p_values_agree_with_memelite():
    # memelite implements the same complete-score algorithm for the Euclidean distance: the same p-values
    # up to its binned medians and merged target columns
    rng = np.random.default_rng(11)
    targets = _random_motifs(80, rng)
    queries = [Motif(f"q{k}", f"q{k}", m.pwm) for k, m in enumerate(_random_motifs(6, rng, 8, 14))]
    queries.append(Motif("t3", "t3", targets[3].pwm))
    ours = T.tomtom_all(queries, targets, engine="basset", dist="ed")
    ref = T.tomtom_all(queries, targets, engine="memelite")
    a, b = np.log10(ours.p.clip(1e-300)), np.log10(ref.p.clip(1e-300))
    assert np.corrcoef(a, b)[0, 1] > 0.99
    assert np.median(np.abs(a - b)) < 0.05
    assert (ours.orientation == ref.orientation).mean() > 0.8

"""basset.tomtom: MEME's Tomtom statistics in numpy, checked against an outside brute-force reference written in
this file, hypothesis properties, and memelite (Euclidean).

The reference (``reference_tomtom``) is written from the definition of the complete-score Tomtom (Gupta et al.
2007) as the module's docstring states it, in plain Python loops, without calling any helper of
:mod:`basset.tomtom`:

* column score: Pearson correlation of the two 4-vectors about 1/4 (0 when either is uniform), or minus the
  Euclidean distance;
* the database columns are every column of every target on both strands; each query row is shifted by MEME's
  quantile (the mean of the sorted values at ``floor(C/2) - 1`` and ``ceil(C/2) - 1``: MEME's tomtom.c is
  "off by one position" from the median on purpose, and the module follows it, so the reference does too);
* the shifted matrix is binned to integers ``0..100`` by its global min and max (round half to even); an
  unaligned query column scores the bin of 0;
* an alignment (query column 0 on target column ``o``, ``o = -(w-1) .. L-1``) scores the sum of its aligned
  bins plus the bin of 0 for every overhanging query column; the best alignment is the highest score among
  those overlapping at least ``min(min_overlap, w, L)`` columns, ties to the larger overlap;
* the null of a span of query columns is the sum of its columns' bins, each column drawn uniformly from the C
  database columns: counted exactly (integer counts of the ``C**k`` equally likely choices, by repeated
  convolution of the column histograms, which is the enumeration of all choices grouped by sum);
* ``p = P(max over the w+L-1 offsets of both strands >= best)`` with independent alignments,
  ``1 - prod P(S_o < best)**2``, in exact rational arithmetic; per target the strand with the smaller p (ties:
  larger overlap, then +) is kept; ``E = p n``; ``q`` Benjamini-Hochberg over the query's targets.

Where the module differs from MEME's binary (exact min/max scaling rather than MEME's ``floor`` offset and
integer scale; Benjamini-Hochberg rather than Storey q-values; no motif pseudocount), the reference follows the
module's documented rule. A second reference (``continuous_tomtom``) skips the binning and enumerates the exact
continuous null with numpy; it brackets the module's p-values within the error that binning can make.
"""

import itertools
import math
import os
import warnings
from collections import Counter
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from basset import tomtom as T
from basset.memefile import Motif

BINS = 100  # MEME's BINS: the reference's own constant, not the module's

# ================================================================================== the outside reference


def _rows(m):
    return [[float(x) for x in row] for row in m]


def _rc(m):
    """Reverse complement of a (w, 4) ACGT matrix: last row first, A<->T and C<->G."""
    return [[row[3], row[2], row[1], row[0]] for row in reversed(_rows(m))]


def _pearson(x, y):
    xc = [a - 0.25 for a in x]
    yc = [b - 0.25 for b in y]
    den = math.sqrt(sum(a * a for a in xc) * sum(b * b for b in yc))
    return sum(a * b for a, b in zip(xc, yc)) / den if den > 0 else 0.0


def _neg_euclid(x, y):
    return -math.sqrt(sum((a - b) ** 2 for a, b in zip(x, y)))


SCORES = {"pearson": _pearson, "ed": _neg_euclid}


def _meme_quantile(row):
    s = sorted(row)
    i1 = max(math.floor(len(s) / 2) - 1, 0)
    i2 = max(math.ceil(len(s) / 2) - 1, i1)
    return (s[i1] + s[i2]) / 2


def _convolve(a: Counter, b: Counter) -> Counter:
    out = Counter()
    for x, n in a.items():
        for y, m in b.items():
            out[x + y] += n * m
    return out


def _shifted_scores(query, targets, distance):
    """(strands, column start of each strand, shifted column scores (w, C))."""
    strands = [_rows(t) for t in targets] + [_rc(t) for t in targets]
    columns = [c for m in strands for c in m]
    raw = [[SCORES[distance](q, c) for c in columns] for q in _rows(query)]
    shifted = [[x - _meme_quantile(row) for x in row] for row in raw]
    starts = [sum(len(m) for m in strands[:k]) for k in range(len(strands))]
    return strands, starts, shifted


def _alignments(w, L):
    """``(offset, aligned query columns)`` for every offset of a width-w query on a width-L target."""
    for o in range(-(w - 1), L):
        yield o, [i for i in range(w) if 0 <= i + o < L]


def reference_tomtom(query, targets, distance="pearson", min_overlap=5):
    """Per target: ``p`` (exact Fraction), ``strand`` (0 +, 1 -), ``overlap``, ``offsets`` (every offset of the
    kept strand tied for best), ``score`` (binned) and ``cont`` (the unbinned complete score of the best
    alignments over both strands). See the module docstring of this file."""
    w, n = len(query), len(targets)
    strands, starts, shifted = _shifted_scores(query, targets, distance)
    C = len(shifted[0])
    lo, hi = min(map(min, shifted)), max(map(max, shifted))
    scale = BINS / (hi - lo) if hi > lo else 1.0
    bins = [[round((x - lo) * scale) for x in row] for row in shifted]
    zero = round(-lo * scale)
    hist = [Counter(row) for row in bins]
    spans = {}

    def span_counts(a, b):
        """How many of the C**(b-a+1) choices of database columns give each total of the span's bins."""
        if (a, b) not in spans:
            spans[(a, b)] = _convolve(span_counts(a, b - 1) if b > a else Counter({0: 1}), hist[b])
        return spans[(a, b)]

    per_strand = []
    for k, m in enumerate(strands):
        L = len(m)
        mo = min(min_overlap, w, L)
        best, ties, cont, all_spans = None, [], -math.inf, []
        for o, cols in _alignments(w, L):
            all_spans.append((cols[0], cols[-1]))
            if len(cols) < mo:
                continue
            score = sum(bins[i][starts[k] + i + o] for i in cols) + (w - len(cols)) * zero
            cont = max(cont, sum(shifted[i][starts[k] + i + o] for i in cols))
            key = (score, len(cols))
            if best is None or key > best:
                best, ties = key, [o]
            elif key == best:
                ties.append(o)
        below = Fraction(1)
        for a, b in all_spans:
            shift = (w - (b - a + 1)) * zero  # the overhanging query columns
            pa = Fraction(sum(c for x, c in span_counts(a, b).items() if x + shift < best[0]), C ** (b - a + 1))
            below *= pa * pa  # both strands
        per_strand.append({"p": 1 - below, "score": best[0], "overlap": best[1], "offsets": ties, "cont": cont})
    out = []
    for j in range(n):
        f, r = per_strand[j], per_strand[j + n]
        minus = r["p"] < f["p"] or (r["p"] == f["p"] and r["overlap"] > f["overlap"])
        keep = r if minus else f
        out.append({**keep, "strand": int(minus), "cont": max(f["cont"], r["cont"]), "per_strand": (f, r),
                    "strand_ties": [s for s, x in ((0, f), (1, r)) if (x["p"], x["overlap"]) ==
                                    (keep["p"], keep["overlap"])],
                    # p-values that float64 cannot tell apart (both strands near p = 1): either strand is right
                    "float_tie": abs(float(f["p"]) - float(r["p"])) <= 1e-12 * float(keep["p"])})
    return out


def reference_bh(p):
    """Benjamini-Hochberg: q_i = min over p_j >= p_i of p_j n / rank_j, capped at 1."""
    n = len(p)
    order = sorted(range(n), key=lambda i: p[i])
    rank = {i: r + 1 for r, i in enumerate(order)}
    return [min(1.0, min(p[j] * n / rank[j] for j in range(n) if p[j] >= p[i])) for i in range(n)]


def continuous_tomtom(query, targets, distance="pearson", min_overlap=5):
    """No binning: per target the best complete score ``best`` (both strands), the score of every allowed
    ``(strand, offset)`` and ``p(s) = P(max over offsets and strands >= s)`` from the exact continuous null
    (every sum of database columns enumerated with numpy); and ``w (hi - lo) / BINS``, the most by which binning
    (each column rounded by at most half a bin, ``w`` columns per complete score) can change the difference of
    two complete scores."""
    w, n = len(query), len(targets)
    strands, starts, shifted = _shifted_scores(query, targets, distance)
    S = np.array(shifted)
    sums = {}
    for a in range(w):
        acc = np.zeros(1)
        for b in range(a, w):
            acc = np.add.outer(acc, S[b]).ravel()
            sums[(a, b)] = np.sort(acc)

    def p_of(L):
        spans = [(cols[0], cols[-1]) for _, cols in _alignments(w, L)]

        def p(s):
            below = [np.searchsorted(sums[sp], s, side="left") / len(sums[sp]) for sp in spans]
            return 1.0 - float(np.prod(np.square(below)))
        return p

    out = []
    for j in range(n):
        L = len(strands[j])
        scores = {}
        for k in (j, j + n):
            for o, cols in _alignments(w, L):
                if len(cols) >= min(min_overlap, w, L):
                    scores[(int(k == j + n), o)] = sum(S[i, starts[k] + i + o] for i in cols)
        out.append({"best": max(scores.values()), "scores": scores, "p": p_of(L)})
    return out, w * (S.max() - S.min()) / BINS


# ----------------------------------------------------------------------------------------------- inputs
def _random_motifs(n, rng, wmin=6, wmax=16, prefix="T"):
    out = []
    for k in range(n):
        w = int(rng.integers(wmin, wmax + 1))
        out.append(Motif(f"{prefix}{k}", f"name{k}", rng.dirichlet(np.full(4, 0.4), size=w)))
    return out


def _cols(rng, k, alpha=0.5):
    return rng.dirichlet(np.full(4, alpha), size=k)


def rc(m):
    return np.asarray(m)[::-1, ::-1]


UNIFORM = np.full((1, 4), 0.25)


def _targeted_cases():
    """``(name, query, targets, min_overlap, expected)``: ``expected`` = facts about target 0 known by
    construction, ``(offset, orientation, overlap)`` (or such facts per distance)."""
    rng = np.random.default_rng(2024)
    cases = []
    # the query's reverse complement sits at column 1 of a width-6 target: only the - strand matches
    q = _cols(rng, 4)
    t0 = np.vstack([_cols(rng, 1), rc(q), _cols(rng, 1)])
    cases.append(("reverse_strand_only", q, [t0, _cols(rng, 5), _cols(rng, 3)], 5, (1, "-", 4)))
    # odd query (5) longer than the target (3): the target is query columns 1..3
    q = _cols(rng, 5)
    cases.append(("query_longer_than_target", q, [q[1:4].copy(), _cols(rng, 6), _cols(rng, 4)], 5, (-1, "+", 3)))
    # even query (4) inside an odd target (5) at column 1
    q = _cols(rng, 4)
    cases.append(("query_inside_target", q, [np.vstack([_cols(rng, 1), q]), _cols(rng, 6)], 5, (1, "+", 4)))
    # query columns 2..4 are target columns 0..2: an overhang of 2 with overlap exactly min_overlap = 3 ...
    q = _cols(rng, 5)
    t0 = np.vstack([q[2:5], _cols(rng, 3)])
    cases.append(("overlap_at_threshold", q, [t0, _cols(rng, 4), _cols(rng, 6)], 3, (-2, "+", 3)))
    # ... and one more than the threshold allows: that alignment is excluded
    cases.append(("overlap_below_threshold", q, [t0, _cols(rng, 4), _cols(rng, 6)], 4, None))
    # the query twice in the target: two offsets tie with the same overlap
    q = _cols(rng, 3)
    cases.append(("tie_same_overlap", q, [np.vstack([q, q]), _cols(rng, 4), _cols(rng, 5)], 5, None))
    # a uniform query column scores the bin of 0 aligned or not: the tie goes to the larger overlap (offset 2)
    a = _cols(rng, 2)
    q = np.vstack([UNIFORM, a])
    # (Pearson only: the Euclidean distance of a uniform column to the target columns varies)
    cases.append(("tie_larger_overlap", q, [np.vstack([a, _cols(rng, 1), a]), _cols(rng, 4)], 2,
                  {"pearson": (2, "+", 3)}))
    # a palindromic target: both strands score the same, + is kept
    a = _cols(rng, 2)
    pal = np.vstack([a, rc(a)])
    cases.append(("palindrome", pal.copy(), [pal, _cols(rng, 3), _cols(rng, 6)], 5, (0, "+", 4)))
    # identical targets, a uniform query column in the middle, a database of the query's own columns
    q = np.vstack([_cols(rng, 2), UNIFORM, _cols(rng, 1)])
    cases.append(("uniform_column_and_duplicates", q, [q.copy(), q.copy(), _cols(rng, 3)], 5, (0, "+", 4)))
    cases.append(("self_in_tiny_database", q, [q.copy()], 1, (0, "+", 4)))
    return cases


CASES = _targeted_cases()


def _assert_agrees(query, targets, distance, min_overlap, result):
    """The module's per-target result (``T.compare`` dict or a table) equals the reference's."""
    ref = reference_tomtom(query, targets, distance, min_overlap)
    for j, r in enumerate(ref):
        p = float(r["p"])
        assert result["p"][j] == pytest.approx(p, rel=1e-9, abs=1e-300), (j, r)
        if r["float_tie"] and result["strand"][j] != r["strand"]:
            kept = int(result["strand"][j])  # check the strand it kept against that strand's reference
            r = {**r["per_strand"][kept], "strand": kept, "strand_ties": [0, 1]}
        assert result["strand"][j] in r["strand_ties"] and result["strand"][j] == r["strand"], (j, r)
        assert result["overlap"][j] == r["overlap"], (j, r)
        assert result["offset"][j] in r["offsets"], (j, r)
        if len(r["offsets"]) > 1:  # equal score and overlap: the module keeps the first (smallest) offset
            assert result["offset"][j] == min(r["offsets"])
    return ref


# ============================================================================================ the tests
def test_column_scores_pearson_and_ed():
    q = np.array([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    t = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.7], [0.4, 0.3, 0.2, 0.1]])
    s = T.column_scores(q, t, "pearson")
    assert s[0, 0] == pytest.approx(1.0)
    assert s[0, 1] == pytest.approx(np.corrcoef(q[0], t[1])[0, 1]) == pytest.approx(-1 / 3)
    assert s[0, 2] == pytest.approx(np.corrcoef(q[0], t[2])[0, 1])
    assert np.all(s[1] == 0)  # a uniform column has no correlation with anything
    e = T.column_scores(q, t, "ed")
    assert e[0, 2] == pytest.approx(-np.linalg.norm(q[0] - t[2]))
    assert e[0, 0] == pytest.approx(0.0, abs=1e-7)
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


def test_reference_span_counts_are_the_enumeration():
    """The reference's null (histogram convolution) is the enumeration of every choice of database columns."""
    rng = np.random.default_rng(1)
    q, targets = _cols(rng, 3), [_cols(rng, 3), _cols(rng, 2)]
    strands, starts, shifted = _shifted_scores(q, targets, "pearson")
    assert [len(m) for m in strands] == [3, 2, 3, 2] and starts == [0, 3, 5, 8] and len(shifted[0]) == 10
    np.testing.assert_array_equal(strands[2], [targets[0][k, ::-1] for k in (2, 1, 0)])  # A<->T, C<->G
    lo, hi = min(map(min, shifted)), max(map(max, shifted))
    bins = [[round((x - lo) * BINS / (hi - lo)) for x in row] for row in shifted]
    counts = _convolve(_convolve(Counter({0: 1}), Counter(bins[0])), Counter(bins[1]))
    assert counts == Counter(a + b for a, b in itertools.product(bins[0], bins[1]))
    # a self-match in a one-motif database (C = 6 columns): the p-value from every choice of columns
    # enumerated per offset (spans (2,2), (1,2), (0,2), (0,1), (0,0)), both strands
    ref = reference_tomtom(q, [q], "pearson", 5)[0]
    assert ref["offsets"] == [0] and ref["strand"] == 0 and ref["overlap"] == 3
    _, _, shifted = _shifted_scores(q, [q], "pearson")
    lo, hi = min(map(min, shifted)), max(map(max, shifted))
    bins = [[round((x - lo) * BINS / (hi - lo)) for x in row] for row in shifted]
    zero = round(-lo * BINS / (hi - lo))
    below = Fraction(1)
    for a, b in [(2, 2), (1, 2), (0, 2), (0, 1), (0, 0)]:
        totals = [sum(c) + (3 - (b - a + 1)) * zero for c in itertools.product(*bins[a:b + 1])]
        below *= Fraction(sum(t < ref["score"] for t in totals), len(totals)) ** 2
    assert ref["p"] == 1 - below and ref["score"] == sum(bins[i][i] for i in range(3))


@pytest.mark.parametrize("distance", ["pearson", "ed"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_agrees_with_brute_force_reference_on_built_cases(case, distance):
    name, query, targets, min_overlap, expected = case
    queries = [Motif("q", "q", query)]
    motifs = [Motif(f"T{k}", f"t{k}", t) for k, t in enumerate(targets)]
    table = T.tomtom_table(queries, motifs, distance=distance, min_overlap=min_overlap)
    result = {"p": table.p.to_numpy(), "offset": table.offset.to_numpy(), "overlap": table.overlap.to_numpy(),
              "strand": (table.orientation == "-").to_numpy().astype(int)}
    ref = _assert_agrees(query, targets, distance, min_overlap, result)
    # E and q from the p-values, as documented (E = p n, Benjamini-Hochberg q)
    p = [float(r["p"]) for r in ref]
    np.testing.assert_allclose(table.E, np.array(p) * len(targets), rtol=1e-9)
    np.testing.assert_allclose(table.q, reference_bh(p), rtol=1e-9)
    first = table.iloc[0]
    if isinstance(expected, dict):
        expected = expected.get(distance)
    if expected is not None:
        assert (first.offset, first.orientation, first.overlap) == expected
        assert table.p.idxmin() == 0 or table.p.iloc[0] == table.p.min()
    if name == "overlap_below_threshold":
        assert first.overlap >= 4 and first.offset != -2
    if name == "tie_same_overlap":
        assert sorted(ref[0]["offsets"]) == [0, 3] and first.offset == 0 and first.overlap == 3
    if name == "palindrome":
        assert ref[0]["strand_ties"] == [0, 1]


@st.composite
def small_problems(draw):
    """A query (3-5 columns) and a database of 2-4 targets (3-6 columns), sometimes holding a planted copy,
    reverse complement, piece or palindrome of the query, a uniform query column or a duplicated target."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = draw(st.integers(3, 5))
    widths = draw(st.lists(st.integers(3, 6), min_size=2, max_size=4))
    alpha = draw(st.sampled_from([0.2, 0.5, 2.0]))
    q = _cols(rng, w, alpha)
    if draw(st.booleans()):
        q[draw(st.integers(0, w - 1))] = 0.25
    targets = [_cols(rng, L, alpha) for L in widths]
    plant = draw(st.sampled_from(["none", "copy", "rc", "piece", "palindrome", "duplicate"]))
    if plant == "copy":
        targets[0] = q.copy()
    elif plant == "rc":
        targets[0] = rc(q).copy()
    elif plant == "piece":
        targets[0] = np.vstack([q[1:], targets[0]])[: widths[0]]
    elif plant == "palindrome":
        targets[0] = np.vstack([q[:2], rc(q[:2])])
    elif plant == "duplicate":
        targets[1] = targets[0].copy()
    return q, targets, draw(st.integers(1, 6))


# found by hypothesis: both strands at p = 1 - 4e-17, a difference that float64 cannot hold; the exact reference
# prefers the - strand, the module keeps + (equal p, equal overlap)
FLOAT_TIE = (np.array([[0.54225863, 0.0341235, 0.26608568, 0.15753218], [0.3231699, 0.340271, 0.28740037, 0.04915873],
                       [0.11995598, 0.39953011, 0.43721176, 0.04330215],
                       [0.0838663, 0.31410312, 0.26263786, 0.33939272],
                       [0.50067339, 0.30047036, 0.06989888, 0.12895737]]),
             [np.array([[0.09928193, 0.32162775, 0.22352504, 0.35556528],
                        [0.82327717, 0.09144455, 0.02512368, 0.06015459],
                        [0.17408363, 0.15037143, 0.2448417, 0.43070325],
                        [0.34957991, 0.20343738, 0.03975377, 0.40722894],
                        [0.04068119, 0.11335971, 0.53813324, 0.30782586]]),
              np.array([[0.19141362, 0.18850216, 0.39011563, 0.22996859],
                        [0.38452041, 0.15240213, 0.29091519, 0.17216226],
                        [0.12709925, 0.14917664, 0.36324223, 0.36048189]])], 5)


@settings(max_examples=60, deadline=None)
@given(small_problems(), st.sampled_from(["pearson", "ed"]))
@example(FLOAT_TIE, "ed")
def test_agrees_with_brute_force_reference_on_random_small_motifs(problem, distance):
    q, targets, min_overlap = problem
    _assert_agrees(q, targets, distance, min_overlap, T.compare(q, T._Database(targets), distance, min_overlap))


@pytest.mark.parametrize("seed", range(8))
def test_p_values_within_the_binning_error_of_the_continuous_null(seed):
    """Binning moves each complete score by at most ``w/2`` bins, so ``null >= observed`` in bins implies
    ``null >= observed - w bins`` unbinned, and the reverse: the module's p lies between the exact continuous
    p-values at the best unbinned score plus and minus ``w`` bins, and its chosen alignment is within ``w`` bins
    of the best one."""
    rng = np.random.default_rng(seed)
    w = 3 + seed % 2
    targets = [_cols(rng, int(L)) for L in rng.integers(3, 7, size=2 + seed % 2)]
    q = targets[0][:w].copy() if seed % 4 == 0 and len(targets[0]) >= w else _cols(rng, w)
    for distance in ("pearson", "ed"):
        got = T.compare(q, T._Database(targets), distance, 3)
        ref, err = continuous_tomtom(q, targets, distance, 3)
        for j, r in enumerate(ref):
            lo, hi = r["p"](r["best"] + err + 1e-9), r["p"](r["best"] - err - 1e-9)
            assert lo <= got["p"][j] <= hi, (distance, j, lo, got["p"][j], hi)
            chosen = r["scores"][(int(got["strand"][j]), int(got["offset"][j]))]
            assert chosen >= r["best"] - err - 1e-9


@pytest.mark.parametrize("distance", ["pearson", "ed"])
def test_self_match_offset_strand_and_substring(distance):
    rng = np.random.default_rng(3)
    targets = _random_motifs(60, rng)
    t7 = targets[7].pwm
    queries = [Motif("q", "q", t7), Motif("rc", "rc", t7[::-1, ::-1]), Motif("sub", "sub", t7[2:8])]
    table = T.tomtom_all(queries, targets, engine="basset", dist=distance)
    assert list(table.columns) == T.TOMTOM_COLUMNS and len(table) == 3 * 60
    assert (table.engine == "basset").all() and (table.distance == distance).all()
    assert table["filter"].tolist() == ["q"] * 60 + ["rc"] * 60 + ["sub"] * 60
    assert table.target_id.tolist()[:60] == [m.id for m in targets]
    assert table.target_name.tolist()[:60] == [m.name for m in targets]
    hit = table[table.target_id == "T7"].set_index("filter")
    assert hit.loc["q", "q"] < 1e-3 and hit.loc["q", "offset"] == 0 and hit.loc["q", "orientation"] == "+"
    assert hit.loc["q", "overlap"] == len(t7) and hit.loc["q", "E"] == pytest.approx(hit.loc["q", "p"] * 60)
    assert hit.loc["rc", "q"] < 1e-3 and hit.loc["rc", "orientation"] == "-" and hit.loc["rc", "offset"] == 0
    # a query and its reverse complement get the same p-value against the same (two-stranded) database
    assert hit.loc["rc", "p"] == pytest.approx(hit.loc["q", "p"], rel=1e-9)
    # a 6-column piece of T7 aligns at column 2 of T7, fully overlapped
    assert hit.loc["sub", "offset"] == 2 and hit.loc["sub", "overlap"] == 6 and hit.loc["sub", "orientation"] == "+"
    for f in ("q", "rc", "sub"):
        rows = table[table["filter"] == f]
        assert rows.sort_values("p").iloc[0].target_id == "T7"
        np.testing.assert_allclose(rows.q, reference_bh(rows.p.tolist()), rtol=1e-12)
    # tomtom(): the rows of tomtom_all with q < thresh, by query order, then q
    hits = T.tomtom(queries, targets, engine="basset", thresh=0.1, dist=distance)
    expected = table[table.q < 0.1]
    assert sorted(map(tuple, hits[["filter", "target_id"]].values)) == \
        sorted(map(tuple, expected[["filter", "target_id"]].values))
    order = {"q": 0, "rc": 1, "sub": 2}
    keys = list(zip(hits["filter"].map(order), hits.q))
    assert keys == sorted(keys)


# ------------------------------------------------------------------------------------------- properties
_column = st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda v: sum(v) > 1e-3).map(
    lambda v: np.array(v) / sum(v))


@settings(max_examples=200, deadline=None)
@given(_column, _column)
def test_pearson_column_score_properties(x, y):
    s = T.column_scores(x[None], y[None], "pearson")[0, 0]
    assert s == pytest.approx(T.column_scores(y[None], x[None], "pearson")[0, 0], abs=1e-12)  # symmetric
    assert -1 - 1e-12 <= s <= 1 + 1e-12
    # the complement (reverse of the ACGT vector) of both columns leaves it unchanged
    assert s == pytest.approx(T.column_scores(x[None, ::-1], y[None, ::-1], "pearson")[0, 0], abs=1e-12)
    assert s == pytest.approx(_pearson(x, y), abs=1e-9)
    if np.ptp(x) > 1e-6 and np.ptp(y) > 1e-6:  # the columns sum to 1: their means are 1/4
        assert s == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-6)
    assert T.column_scores(x[None], x[None], "pearson")[0, 0] == pytest.approx(1.0 if np.ptp(x) > 1e-6 else 0.0,
                                                                             abs=1e-6)
    e = T.column_scores(x[None], y[None], "ed")[0, 0]
    assert e == pytest.approx(-np.linalg.norm(x - y), abs=1e-7) and e <= 0


@st.composite
def _databases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = draw(st.integers(3, 8))
    widths = draw(st.lists(st.integers(3, 9), min_size=2, max_size=8))
    targets = [_cols(rng, L, 0.4) for L in widths]
    q = _cols(rng, w, 0.4)
    if draw(st.booleans()):  # a planted near-copy of part of the query
        k = int(rng.integers(len(targets)))
        piece = q[: min(w, widths[k])] * 0.9 + 0.025
        targets[k] = np.vstack([piece, targets[k]])[: widths[k]]
    return q, targets


@settings(max_examples=40, deadline=None)
@given(_databases(), st.sampled_from(["pearson", "ed"]), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_the_order_of_the_database(problem, distance, random):
    q, targets = problem
    perm = list(range(len(targets)))
    random.shuffle(perm)
    a = T.compare(q, T._Database(targets), distance, 5)
    b = T.compare(q, T._Database([targets[k] for k in perm]), distance, 5)
    for key in ("p", "offset", "overlap", "strand"):
        np.testing.assert_array_equal(b[key], a[key][perm])


@settings(max_examples=40, deadline=None)
@given(_databases(), st.sampled_from(["pearson", "ed"]))
def test_reverse_complemented_query_and_database_give_the_mirrored_match(problem, distance):
    """rc(query) against rc(each target): the same p-value, strand and overlap; the offset mirrored
    (``L - w - offset``) up to ties of equal score and overlap, which the reference lists."""
    q, targets = problem
    w = len(q)
    a = T.compare(q, T._Database(targets), distance, 5)
    b = T.compare(rc(q), T._Database([rc(t) for t in targets]), distance, 5)
    np.testing.assert_allclose(b["p"], a["p"], rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(b["strand"], a["strand"])
    np.testing.assert_array_equal(b["overlap"], a["overlap"])
    ties = None
    for j, t in enumerate(targets):
        mirrored = len(t) - w - b["offset"][j]
        if mirrored != a["offset"][j]:
            ties = ties or reference_tomtom(q, targets, distance, 5)
            assert mirrored in ties[j]["offsets"] and a["offset"][j] in ties[j]["offsets"]


@settings(max_examples=30, deadline=None)
@given(small_problems(), st.sampled_from(["pearson", "ed"]))
def test_p_values_are_monotone_in_the_best_score(problem, distance):
    """Among targets of one width (one null), a best continuous score higher by more than the binning error
    never gets a larger p-value."""
    q, targets, min_overlap = problem
    got = T.compare(q, T._Database(targets), distance, min_overlap)
    ref = reference_tomtom(q, targets, distance, min_overlap)
    shifted = np.array(_shifted_scores(q, targets, distance)[2])
    err = len(q) * np.ptp(shifted) / BINS
    for a, b in itertools.permutations(range(len(targets)), 2):
        if len(targets[a]) == len(targets[b]) and ref[a]["cont"] > ref[b]["cont"] + err:
            assert got["p"][a] <= got["p"][b]
    assert np.all((got["p"] > 0) & (got["p"] <= 1))


# ------------------------------------------------------------------------- edge cases, defaults, entry points
def test_one_column_query_p_values_by_hand():
    """A 1-column query against 1-column targets: one alignment per strand, and the null of a score is one draw
    among the C database columns, so ``p = 1 - P(S < best)**2`` counts columns by hand."""
    q = np.array([[0.0, 0.0, 0.7, 0.3]])
    # Pearson with q: T0 0.873 (the top, bin 100), rc(T0) = (.1, .7, .2, 0) -0.356 (the bottom, bin 0), the
    # palindrome T1 -0.348 on both strands; the shift (2nd smallest of 4) is T1's, so T1 bins at
    # 100 * 0.0074 / 1.228 = 0.6 -> 1: a best score of exactly 1
    t0, t1 = np.array([[0.0, 0.2, 0.7, 0.1]]), np.array([[0.5, 0.0, 0.0, 0.5]])
    assert [r["score"] for r in reference_tomtom(q, [t0, t1], "pearson", 1)] == [100, 1]
    got = T.compare(q, T._Database([t0, t1]), "pearson", 1)
    # T0: 3 of the 4 columns score below 100; T1: 1 of 4 (rc(T0), bin 0) scores below 1
    np.testing.assert_allclose(got["p"], [1 - (3 / 4) ** 2, 1 - (1 / 4) ** 2], rtol=1e-12)
    assert got["offset"].tolist() == [0, 0] and got["overlap"].tolist() == [1, 1]
    assert got["strand"].tolist() == [0, 0]  # T1 ties on both strands: +
    # one 1-column target (C = 2: itself and its complement): the better strand scores 100, the other 0, p = 3/4;
    # Pearson with (.7, .1, .1, .1) is -0.09/x for t and -0.03/x for its complement (.2, .6, .1, .1): strand -
    got = T.compare(np.array([[0.7, 0.1, 0.1, 0.1]]), T._Database([np.array([[0.1, 0.1, 0.6, 0.2]])]), "pearson", 5)
    assert got["p"][0] == pytest.approx(3 / 4, rel=1e-12) and got["strand"][0] == 1 and got["overlap"][0] == 1


@pytest.mark.parametrize("distance", ["pearson", "ed"])
@pytest.mark.parametrize("w", [2, 3, 4, 5])
def test_query_wider_than_the_whole_database(w, distance):
    """A database of one 1-column target has C = 2 columns (MEME's quantile is then the smaller of the two) and
    a query of up to 5 columns overhangs it on both sides: every offset has overlap 1."""
    rng = np.random.default_rng(40 + w)
    q, t = _cols(rng, w), _cols(rng, 1)
    for min_overlap in (1, 5):
        got = T.compare(q, T._Database([t]), distance, min_overlap)
        ref = _assert_agrees(q, [t], distance, min_overlap, got)
        assert got["overlap"][0] == 1 and ref[0]["overlap"] == 1


def test_uniform_query_scores_nothing_p_is_one():
    """An all-uniform query has Pearson 0 with every column: every complete score is 0 (max = min), p = q = 1
    for every target, the alignment of largest overlap (first offset) on the + strand. tomtom() keeps q <= thresh,
    as MEME's -thresh: thresh 1 keeps all its pairs, just below 1 none, and the default thresh (0.1) none either."""
    rng = np.random.default_rng(8)
    uniform = np.full((3, 4), 0.25)
    targets = [_cols(rng, 2), _cols(rng, 5), _cols(rng, 3)]
    got = T.compare(uniform, T._Database(targets), "pearson", 5)
    _assert_agrees(uniform, targets, "pearson", 5, got)
    assert got["p"].tolist() == [1.0, 1.0, 1.0]
    assert got["overlap"].tolist() == [2, 3, 3] and got["offset"].tolist() == [-1, 0, 0]
    assert got["strand"].tolist() == [0, 0, 0]
    real = np.vstack([targets[1][1:4], _cols(rng, 1)])  # targets[1] columns 1..3, then one more column
    queries = [Motif("uniform", "u", uniform), Motif("real", "r", real)]
    motifs = [Motif(f"T{k}", f"t{k}", t) for k, t in enumerate(targets)]
    table = T.tomtom_all(queries, motifs, engine="basset", dist="pearson")
    assert (table[table["filter"] == "uniform"].q == 1.0).all()
    real_rows = table[table["filter"] == "real"]
    assert (real_rows.q < 1.0).any()
    hits = T.tomtom(queries, motifs, engine="basset", thresh=1.0, dist="pearson")
    assert (hits["filter"] == "uniform").sum() == 3 and len(hits) == 6
    hits = T.tomtom(queries, motifs, engine="basset", thresh=np.nextafter(1.0, 0), dist="pearson")
    assert hits.target_id.tolist() == real_rows[real_rows.q < 1.0].sort_values(["q", "p"]).target_id.tolist()
    assert (hits["filter"] == "real").all()
    default = T.tomtom(queries, motifs, engine="basset", dist="pearson")  # thresh 0.1
    assert sorted(default.target_id) == sorted(real_rows[real_rows.q < 0.1].target_id)


def _overhang_case():
    """A 6-column query whose columns 1..5 start a width-8 target: the best alignment overlaps exactly 5 columns
    (offset -1), allowed by min_overlap 5 and not by 6."""
    rng = np.random.default_rng(7)
    q = _cols(rng, 6)
    return q, [np.vstack([q[1:6], _cols(rng, 3)]), _cols(rng, 4), _cols(rng, 7)]


def test_defaults_are_pearson_and_memes_min_overlap_1():
    """The defaults are the paper's call (tomtom -dist pearson, MEME's -min-overlap 1): the reference at
    min_overlap 1, which differs from min_overlap 5 for a target here."""
    q, targets = _overhang_case()
    assert T.MIN_OVERLAP == 1
    got = T.compare(q, T._Database(targets))
    _assert_agrees(q, targets, "pearson", 1, got)
    assert (got["offset"][0], got["overlap"][0], got["strand"][0]) == (-1, 5, 0)
    five = T.compare(q, T._Database(targets), "pearson", 5)
    assert not np.array_equal(got["p"], five["p"]) or not np.array_equal(got["overlap"], five["overlap"])
    cols = np.vstack(targets)
    np.testing.assert_allclose(T.column_scores(q, cols), [[_pearson(a, b) for b in cols] for a in q], atol=1e-12)
    motifs = [Motif(f"T{k}", f"t{k}", t) for k, t in enumerate(targets)]
    table = T.tomtom_table([Motif("q", "q", q)], motifs)
    assert (table.distance == "pearson").all()
    ref = reference_tomtom(q, targets, "pearson", 1)
    np.testing.assert_allclose(table.p, [float(r["p"]) for r in ref], rtol=1e-9)
    assert table.overlap.tolist() == [r["overlap"] for r in ref]
    table = T.tomtom_all([Motif("q", "q", q)], motifs, engine="basset")
    assert (table.distance == "pearson").all()
    np.testing.assert_allclose(table.p, [float(r["p"]) for r in ref], rtol=1e-9)
    # min_overlap reaches the engine through tomtom_all and tomtom
    table5 = T.tomtom_all([Motif("q", "q", q)], motifs, engine="basset", min_overlap=5)
    np.testing.assert_allclose(table5.p, five["p"], rtol=1e-12)
    hits5 = T.tomtom([Motif("q", "q", q)], motifs, engine="basset", thresh=1.0, min_overlap=5)
    np.testing.assert_allclose(hits5.set_index("target_id").loc[table5.target_id, "p"], five["p"], rtol=1e-12)


def test_results_index_the_aligned_columns():
    """offset, overlap and strand are integers that index the target: the aligned columns of a planted copy are
    the query's columns, on either strand; the table's offset and overlap columns are int64."""
    q, targets = _overhang_case()
    targets = targets + [rc(np.vstack([_cols(np.random.default_rng(9), 2), q]))]  # q at column 2, - strand
    got = T.compare(q, T._Database(targets), "pearson", 5)
    for j in (0, 3):
        strands = [targets[j], rc(targets[j])]
        off, ovl, s = got["offset"][j], got["overlap"][j], got["strand"][j]
        start = max(off, 0)
        aligned = strands[s][start:start + ovl]
        np.testing.assert_array_equal(aligned, q[start - off:start - off + ovl])
    assert (got["offset"][3], got["overlap"][3], got["strand"][3]) == (2, 6, 1)
    table = T.tomtom_table([Motif("q", "q", q)], [Motif(f"T{k}", "t", t) for k, t in enumerate(targets)])
    assert table.offset.dtype == np.int64 and table.overlap.dtype == np.int64
    assert table.orientation.tolist()[3] == "-"


def test_column_scores_of_float32_inputs_are_float64_exact():
    """float32 frequencies (e.g. from a network's filters) are scored in float64: the same as their exact
    float64 values, to round-off."""
    rng = np.random.default_rng(12)
    a, b = _cols(rng, 3).astype(np.float32), _cols(rng, 5).astype(np.float32)
    for distance, f in SCORES.items():
        want = [[f(x, y) for y in b.astype(np.float64)] for x in a.astype(np.float64)]
        for qa, tb in ((a, b), (a, b.astype(np.float64)), (a.astype(np.float64), b)):
            np.testing.assert_allclose(T.column_scores(qa, tb, distance), want, rtol=0, atol=1e-12)


def test_compare_is_silent():
    # the log of P(S <= x) = 0 below a span's support is -inf on purpose: no divide-by-zero warning
    rng = np.random.default_rng(13)
    q, targets = _cols(rng, 4), [_cols(rng, 3), _cols(rng, 6)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for distance in ("pearson", "ed"):
            got = T.compare(q, T._Database(targets), distance, 3)
            _assert_agrees(q, targets, distance, 3, got)


def test_unknown_distance_and_engine_errors_name_the_choices():
    q = np.full((1, 4), 0.25)
    with pytest.raises(ValueError, match=r"distance must be one of pearson, ed, got 'kullback'$"):
        T.column_scores(q, q, "kullback")
    with pytest.raises(ValueError, match=r"engine must be auto or one of meme, basset, memelite, got 'homer'$"):
        T.resolve_engine("homer")


def test_empty_queries_or_database_give_an_empty_table():
    rng = np.random.default_rng(14)
    queries, targets = _random_motifs(2, rng, prefix="q"), _random_motifs(3, rng)
    for qs, ts in (([], targets), (queries, []), ([], [])):
        for table in (T.tomtom_all(qs, ts, engine="basset"), T.tomtom(qs, ts, engine="basset")):
            assert list(table.columns) == T.TOMTOM_COLUMNS and len(table) == 0


def test_tomtom_table_rows_are_numbered_across_queries():
    rng = np.random.default_rng(15)
    queries, targets = _random_motifs(2, rng, prefix="q"), _random_motifs(3, rng)
    table = T.tomtom_table(queries, targets, "ed", 5)
    assert table.index.tolist() == list(range(6))
    assert table.loc[3, "filter"] == "q1" and table.loc[3, "target_id"] == "T0"


def test_auto_engine_is_basset_without_meme_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no tomtom program
    assert T.resolve_engine() == "basset" and T.resolve_engine("auto") == "basset"
    rng = np.random.default_rng(16)
    queries, targets = _random_motifs(1, rng, prefix="q"), _random_motifs(3, rng)
    table = T.tomtom_all(queries, targets)
    assert (table.engine == "basset").all() and (table.distance == "pearson").all() and len(table) == 3
    hits = T.tomtom(queries + [Motif("self", "self", targets[1].pwm)], targets)
    assert (hits.engine == "basset").all() and "T1" in hits[hits["filter"] == "self"].target_id.tolist()


def test_auto_engine_runs_meme_when_tomtom_is_on_path(tmp_path, monkeypatch):
    """A ``tomtom`` program on PATH makes ``auto`` MEME's engine; tomtom_all hands it the queries, the targets and
    the distance. MEME's run is replaced by a stand-in that records its arguments."""
    exe = tmp_path / "tomtom"
    exe.write_text("#!/bin/sh\nexit 1\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    calls = []

    def fake_meme_all(queries, targets, dist="pearson", min_overlap=T.MIN_OVERLAP):
        calls.append((queries, targets, dist))
        return pd.DataFrame({"filter": [queries[0].id], "target_id": [targets[0].id], "target_name": ["x"],
                             "p": [0.001], "E": [0.002], "q": [0.002], "offset": [0], "orientation": ["+"],
                             "overlap": [5], "engine": ["meme"], "distance": [dist]})

    monkeypatch.setattr(T, "_meme_all", fake_meme_all)
    assert T.resolve_engine() == "meme" and T.resolve_engine("auto") == "meme" and T.resolve_engine("meme") == "meme"
    rng = np.random.default_rng(17)
    queries, targets = _random_motifs(2, rng, prefix="q"), _random_motifs(2, rng)
    for call in (lambda: T.tomtom_all(queries, targets, engine="meme", dist="ed"),
                 lambda: T.tomtom_all(queries, targets, dist="ed"),
                 lambda: T.tomtom(queries, targets, dist="ed")):
        table = call()
        assert table.to_dict("list")["engine"] == ["meme"] and table.distance.tolist() == ["ed"]
        assert table.target_id.tolist() == ["T0"] and list(table.columns) == T.TOMTOM_COLUMNS
        (qs, ts, dist), = calls
        assert [m.id for m in qs] == ["q0", "q1"] and [m.id for m in ts] == ["T0", "T1"] and dist == "ed"
        calls.clear()
    T.tomtom_all(queries, targets)
    assert calls[0][2] == "pearson"


# ---------------------------------------------------------------------------------------------- memelite
def test_euclidean_p_values_agree_with_memelite():
    # memelite implements the same complete-score algorithm for the Euclidean distance: the same p-values
    # up to its binned medians and merged target columns
    rng = np.random.default_rng(11)
    targets = _random_motifs(80, rng)
    queries = [Motif(f"q{k}", f"q{k}", m.pwm) for k, m in enumerate(_random_motifs(6, rng, 8, 14))]
    queries.append(Motif("t3", "t3", targets[3].pwm))
    ours = T.tomtom_all(queries, targets, engine="basset", dist="ed")
    ref = T.tomtom_all(queries, targets, engine="memelite")
    assert (ours[["filter", "target_id"]].values == ref[["filter", "target_id"]].values).all()
    a, b = np.log10(ours.p.clip(1e-300)), np.log10(ref.p.clip(1e-300))
    assert np.corrcoef(a, b)[0, 1] > 0.99
    assert np.median(np.abs(a - b)) < 0.05
    assert (ours.orientation == ref.orientation).mean() > 0.9
    # the pairs that matter (p < 0.01 by either) agree on the alignment and within a factor of 2.5 on p
    sig = ((ours.p < 0.01) | (ref.p < 0.01)).to_numpy()
    assert sig.sum() >= 7
    for col in ("offset", "orientation", "overlap"):
        assert (ours[col].to_numpy()[sig] == ref[col].to_numpy()[sig]).all(), col
    assert np.abs(a - b)[sig].max() < np.log10(2.5)
    # every query's best target is the same
    assert (ours.loc[ours.groupby("filter").p.idxmin(), "target_id"].to_numpy()
            == ref.loc[ref.groupby("filter").p.idxmin(), "target_id"].to_numpy()).all()
    # the memelite table itself: E = p n, Benjamini-Hochberg q per query, integer offsets and overlaps
    np.testing.assert_allclose(ref.E, ref.p * len(targets), rtol=1e-12)
    for _, rows in ref.groupby("filter"):
        np.testing.assert_allclose(rows.q, reference_bh(rows.p.tolist()), rtol=1e-12)
    assert ref.offset.dtype == np.int64 and ref.overlap.dtype == np.int64
    assert ((ref.p >= 0) & (ref.p <= 1)).all()


def test_memelite_table_from_memelite_arrays(monkeypatch):
    """``engine="memelite"`` turns memelite's ``(queries, targets)`` arrays into the table row by row (query-major):
    p clipped to [0, 1] (memelite releases before its clamp returned round-off p-values just outside it, e.g.
    ``1 - cumsum`` below 0), ``E = p n``, BH q per query, strand 1 -> "-", float offsets/overlaps -> int64.
    memelite is replaced by a stand-in returning fixed arrays (no numba compile)."""
    import memelite

    seen = {}

    def fake_tomtom(Qs, Ts, n_jobs=-1):
        seen.update(Qs=Qs, Ts=Ts)
        p = np.array([[-1e-17, 0.25, 1 + 2e-16], [0.5, 0.0, 1.0]])
        offsets = np.array([[-2.0, 0.0, 3.0], [1.0, -1.0, 0.0]])
        overlaps = np.array([[4.0, 6.0, 5.0], [3.0, 2.0, 6.0]])
        strands = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
        return p, np.zeros_like(p), offsets, overlaps, strands

    monkeypatch.setattr(memelite, "tomtom", fake_tomtom)
    rng = np.random.default_rng(5)
    queries = [Motif("q0", "a", rng.dirichlet(np.ones(4), size=5)), Motif("q1", "b", rng.dirichlet(np.ones(4), size=7))]
    targets = _random_motifs(3, rng)
    table = T.tomtom_all(queries, targets, engine="memelite")
    # memelite gets (4, w) float64 queries, F-ordered (one compiled kernel), and (4, L) C-ordered targets
    assert [q.shape for q in seen["Qs"]] == [(4, 5), (4, 7)]
    assert all(q.dtype == np.float64 and q.flags.f_contiguous for q in seen["Qs"])
    np.testing.assert_array_equal(seen["Qs"][1], queries[1].pwm.T)
    assert [t.shape for t in seen["Ts"]] == [(4, len(m.pwm)) for m in targets]
    assert all(t.flags.c_contiguous for t in seen["Ts"])
    np.testing.assert_array_equal(seen["Ts"][2], targets[2].pwm.T)
    assert list(table.columns) == T.TOMTOM_COLUMNS
    assert table["filter"].tolist() == ["q0"] * 3 + ["q1"] * 3
    assert table.target_id.tolist() == ["T0", "T1", "T2"] * 2
    assert table.target_name.tolist() == ["name0", "name1", "name2"] * 2
    assert table.p.tolist() == [0.0, 0.25, 1.0, 0.5, 0.0, 1.0]
    assert table.E.tolist() == [0.0, 0.75, 3.0, 1.5, 0.0, 3.0]
    assert table.q.tolist() == pytest.approx([0.0, 0.375, 1.0, 0.75, 0.0, 1.0], abs=1e-15)
    assert table.offset.tolist() == [-2, 0, 3, 1, -1, 0] and table.offset.dtype == np.int64
    assert table.overlap.tolist() == [4, 6, 5, 3, 2, 6] and table.overlap.dtype == np.int64
    assert table.orientation.tolist() == ["+", "-", "+", "-", "+", "-"]
    assert (table.engine == "memelite").all() and (table.distance == "euclidean").all()


# -------------------------------------------------------------------------------------- MEME's text output
MEME5_HEADER = ("Query_ID\tTarget_ID\tOptimal_offset\tp-value\tE-value\tq-value\tOverlap\tQuery_consensus\t"
                "Target_consensus\tOrientation")
MEME5_TRAILER = ("# Tomtom (Motif Comparison Tool): Version 5.5.5 compiled on Dec 14 2023 at 11:40:33\n"
                 "# The format of this file is described at "
                 "https://meme-suite.org/meme/doc/tomtom-output-format.html.\n"
                 "# tomtom -no-ssc -text -min-overlap 5 -dist pearson -evalue -thresh 1001 query.meme target.meme\n")
MEME5_ROWS = ("filter12\t007\t-3\t3.15e-07\t0.000315\t0.000627\t9\tGGATAAGC\tTTCTTATCTGG\t-\n"
              "filter12\t1.10\t0\t0.0421\t42.1\t1\t6\tGGATAAGC\tCACGTG\t+\n"
              "\n"
              "3\t12\t2\t1\t1000\t1\t5\tAAAAA\tNNAAAAATTT\t+\n")
#: the table parsed from MEME5_ROWS, every column
MEME5_TABLE = {
    "filter": ["filter12", "filter12", "3"],
    "target_id": ["007", "1.10", "12"],
    "target_name": ["GATA1", "1.10", "12"],
    "p": [3.15e-07, 0.0421, 1.0],
    "E": [0.000315, 42.1, 1000.0],
    "q": [0.000627, 1.0, 1.0],
    "offset": [-3, 0, 2],
    "orientation": ["-", "+", "+"],
    "overlap": [9, 6, 5],
    "engine": ["meme"] * 3,
    "distance": ["pearson"] * 3,
}
GATA1 = {"007": Motif("007", "GATA1", np.full((2, 4), 0.25))}


def _assert_meme5_table(table):
    assert list(table.columns) == T.TOMTOM_COLUMNS
    assert table.to_dict("list") == MEME5_TABLE
    for col in ("filter", "target_id", "target_name", "orientation"):
        assert all(type(x) is str for x in table[col]), col
    for col in ("p", "E", "q"):
        assert table[col].dtype == np.float64, col
    assert table.offset.dtype == np.int64 and table.overlap.dtype == np.int64


def test_parse_tomtom_text_numeric_looking_ids_stay_strings():
    """Target ids that look like numbers ("007", "1.10", "12"; query "3") are kept verbatim, not read as numbers,
    so that they still find their motif's name; offsets and overlaps are integers, p/E/q floats."""
    text = "\n" + MEME5_HEADER + "\n" + MEME5_ROWS + "\n" + MEME5_TRAILER
    _assert_meme5_table(T.parse_tomtom_text(text, GATA1))


def test_parse_tomtom_text_emits_no_warning():
    # a parse is silent: no pandas ParserWarning (e.g. an engine fallback) on every Tomtom run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = T.parse_tomtom_text(MEME5_HEADER + "\n" + MEME5_ROWS + MEME5_TRAILER, GATA1)
    _assert_meme5_table(table)


def test_parse_tomtom_text_header_cells_padded_with_spaces():
    # each header cell is stripped: spaces around the tabs (a re-aligned file) do not change the column names,
    # and MEME 4's "#Query ID" header with spaces inside the names still works
    padded = "#Query ID \t Target ID\tOptimal offset \tp-value\t E-value\tq-value\tOverlap \tQuery consensus\t" \
             "Target consensus\t Orientation"
    table = T.parse_tomtom_text(padded + "\n" + MEME5_ROWS, GATA1)
    _assert_meme5_table(table)


def test_meme_call_passes_the_papers_options_only(tmp_path, monkeypatch):
    """The tomtom program is called with the paper's -dist and MEME's own -min-overlap (none given) unless another
    is asked for; every pair is reported (-evalue -thresh above the number of targets) and the caller filters q.
    A stand-in tomtom on PATH records its arguments and prints MEME 5 text."""
    argv = tmp_path / "argv"
    exe = tmp_path / "tomtom"
    exe.write_text(f"#!/bin/sh\necho \"$@\" >> {argv}\ncat <<'EOF'\n{MEME5_HEADER}\n"
                   "q0\tT0\t0\t0.001\t0.002\t0.05\t5\tAAAAA\tAAAAA\t+\nq0\tT1\t0\t0.5\t1\t0.2\t5\tAAAAA\tAAAAA\t+\nEOF\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    rng = np.random.default_rng(3)
    queries, targets = _random_motifs(1, rng, prefix="q"), _random_motifs(2, rng)
    hits = T.tomtom(queries, targets, engine="meme", thresh=0.1)
    assert hits.target_id.tolist() == ["T0"] and hits.engine.tolist() == ["meme"]
    T.tomtom_all(queries, targets, engine="meme", dist="ed", min_overlap=5)
    first, second = argv.read_text().splitlines()
    assert first.split()[:-2] == ["-no-ssc", "-text", "-dist", "pearson", "-evalue", "-thresh", "3"]
    assert second.split()[:-2] == ["-no-ssc", "-text", "-min-overlap", "5", "-dist", "ed", "-evalue", "-thresh", "3"]
    # q <= thresh, as MEME's -thresh: a q-value equal to the threshold is kept
    assert T.tomtom(queries, targets, engine="meme", thresh=0.05).target_id.tolist() == ["T0"]

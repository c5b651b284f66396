"""Attributions (basset.attribution over tangermeme) and TF-MoDISco (basset.modisco over modisco-lite): DeepLIFT's
summation-to-delta on our networks, DeepLIFT = gradient x input on a linear model, the planted-instance mask
against hand-placed coordinates, and TF-MoDISco finding a motif planted in synthetic contributions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from basset.attribution import (
    OutputMean,
    actual,
    attribute,
    convergence_delta,
    deep_lift_shap,
    gradient_x_input,
    has_n,
    instance_auroc,
    instance_mask,
)
from basset.models import BassetNet
from basset.modisco import (
    pair_spacing,
    pattern_motifs,
    read_patterns,
    run_modisco,
    seqlet_table,
    trim_bounds,
)
from basset.sequence import encode, one_hot

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _trained_like(net: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights and non-trivial batch-norm statistics, in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d,)):
                m.running_mean.normal_(0, 0.3, generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.2, generator=g)
    return net.eval()


def _codes(n: int, L: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, size=(n, L)).astype(np.uint8)


@pytest.mark.parametrize("pool_ceil", [False, True])
@pytest.mark.parametrize("L", [101, 100])  # odd and even lengths: the ceil-mode pools keep a partial window
def test_summation_to_delta_on_basset_networks(pool_ceil, L):
    torch.manual_seed(0)
    config = {"seq_len": L, "conv_filters": [16, 12, 8], "conv_widths": [7, 5, 3], "conv_pools": [3, 4, 2],
              "dense_units": [16], "conv_dropout": [0.1, 0.1, 0.1], "dense_dropout": [0.2], "pool_ceil": pool_ceil}
    net = _trained_like(BassetNet(config, n_targets=5))
    codes = _codes(6, L)
    hyp, refs = deep_lift_shap(net, codes, [1, 3], n_shuffles=4, batch_size=7, seed=3, return_references=True)
    contrib = actual(hyp, codes)
    delta = convergence_delta(net, codes, [1, 3], contrib, refs)
    # the prediction differences themselves are of order 0.1-1: the identity is exact up to float32 rounding
    with torch.no_grad():
        diff = (OutputMean(net, [1, 3])(torch.from_numpy(one_hot(codes)))[:, 0].numpy())
    assert np.ptp(diff) > 1e-3  # not a model that ignores its input
    assert delta.max() < 1e-3
    # the references are dinucleotide shuffles of each sequence: the same letters and dinucleotides
    r = refs.numpy().argmax(2)
    for i in range(codes.shape[0]):
        for k in range(r.shape[1]):
            assert sorted(r[i, k]) == sorted(codes[i])
            assert sorted(zip(r[i, k][:-1], r[i, k][1:])) == sorted(zip(codes[i][:-1], codes[i][1:]))


def test_the_same_seed_gives_the_same_references_and_attributions():
    torch.manual_seed(1)
    net = _trained_like(BassetNet({"seq_len": 60, "conv_filters": [8, 8, 8], "conv_widths": [5, 3, 3],
                                   "conv_pools": [2, 2, 2], "dense_units": [8], "dense_dropout": [0.1]},
                                  n_targets=2))
    codes = _codes(3, 60, seed=2)
    a = deep_lift_shap(net, codes, [0], n_shuffles=3, seed=5)
    b = deep_lift_shap(net, codes, [0], n_shuffles=3, seed=5, batch_size=2)  # batching does not change them
    c = deep_lift_shap(net, codes, [0], n_shuffles=3, seed=6)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert np.abs(a - c).max() > 1e-4


class _Linear(nn.Module):
    def __init__(self, L: int):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 5, padding=2)
        self.flat = nn.Flatten()
        self.out = nn.Linear(3 * L, 2)

    def forward(self, x):
        return self.out(self.flat(self.conv(x)))


def test_deeplift_equals_gradient_x_input_on_a_linear_model():
    torch.manual_seed(2)
    L = 31
    net = _Linear(L).eval()
    codes = _codes(4, L, seed=3)
    zeros = torch.zeros(4, 1, 4, L)
    hyp = deep_lift_shap(net, codes, [0, 1], references=zeros)
    gxi = gradient_x_input(net, codes, [0, 1])
    np.testing.assert_allclose(actual(hyp, codes), gxi, atol=1e-5)
    # the weights by hand: the mean output is linear, its gradient w does not depend on x
    x = torch.from_numpy(one_hot(codes)).requires_grad_()
    net(x).mean(1).sum().backward()
    np.testing.assert_allclose(gxi, (x.grad * x).detach().numpy(), atol=1e-6)
    # with shuffled references, DeepLIFT of a linear model is w . (x - mean reference), base by base
    hyp_s, refs = deep_lift_shap(net, codes, [0, 1], n_shuffles=5, seed=1, return_references=True)
    w = x.grad.numpy()  # the same for every sequence
    expected = (w[:, None] * (one_hot(codes)[:, None] - refs.numpy())).mean(1).sum(1)  # per position
    np.testing.assert_allclose(actual(hyp_s, codes).sum(1), expected, atol=1e-5)


def test_attribute_dispatches_and_refuses_unknown_methods_and_ns():
    net = _Linear(12).eval()
    codes = _codes(2, 12)
    assert attribute(net, codes, [0], "gradient_x_input", n_shuffles=3).shape == (2, 4, 12)
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribute(net, codes, [0], "saliency")
    with_n = codes.copy()
    with_n[1, 3] = 4
    assert has_n(with_n).tolist() == [False, True]
    with pytest.raises(ValueError, match="sequence 1 holds an N"):
        deep_lift_shap(net, with_n, [0], n_shuffles=2)
    empty = np.zeros((0, 12), np.uint8)  # a lineage with no open site
    assert deep_lift_shap(net, empty, [0]).shape == gradient_x_input(net, empty, [0]).shape == (0, 4, 12)


# ------------------------------------------------------------------------------------------------ truth
def test_instance_mask_on_both_strands():
    # two sites of 10 bp on chr1 at 100 and 105 (the second on the - strand), one on chr2 at 0
    instances = pd.DataFrame({"chrom": ["chr1", "chr1", "chr2", "chr3"], "start": [102, 108, 9, 0],
                              "end": [104, 111, 12, 5]})
    mask = instance_mask(["chr1", "chr1", "chr2"], [100, 105, 0], [False, True, False], 10, instances)
    plus = np.zeros(10, bool)
    plus[[2, 3, 8, 9]] = True  # genome 102-103 and 108-109 (the second instance runs past the site)
    # '-' strand: column j is genome 105 + 9 - j; instances cover genome 105..114 at 108, 109, 110
    minus = np.zeros(10, bool)
    minus[[114 - 108, 114 - 109, 114 - 110]] = True
    edge = np.zeros(10, bool)
    edge[9] = True  # chr2 9-11, the site ends at 10
    np.testing.assert_array_equal(mask, np.stack([plus, minus, edge]))


def test_instance_mask_with_instances_outside_the_sites_span():
    """Instances left of every site (one ending inside the first site, one wholly before it) and right of every site,
    a chromosome whose sites meet no instance sorted before the others: only the columns inside instances are True,
    as a bool array, and the later chromosomes are still marked."""
    instances = pd.DataFrame({"chrom": ["chr1", "chr1", "chr1", "chr1"], "start": [98, 50, 300, 104],
                              "end": [101, 60, 310, 106]})
    mask = instance_mask(["chr0", "chr1", "chr1"], [0, 100, 120], [False, False, False], 10, instances)
    assert mask.dtype == bool
    want = np.zeros((3, 10), bool)
    want[1, [0, 4, 5]] = True  # genome 100 (of 98-100) and 104-105
    np.testing.assert_array_equal(mask, want)


def test_instance_auroc_ranks_the_instance_bases():
    mask = np.zeros((2, 8), bool)
    mask[0, 2:4] = True
    contrib = np.zeros((2, 4, 8))
    contrib[0, 1, 2:4] = 1.0  # the instance bases carry the contribution
    contrib[1, 0, 5] = 0.5
    assert instance_auroc(contrib, mask) == 1.0
    assert instance_auroc(-contrib, mask) == 0.0
    assert np.isnan(instance_auroc(contrib, np.zeros((2, 8), bool)))


# ------------------------------------------------------------------------------------------------ modisco
def test_trim_bounds_and_pair_spacing_by_hand():
    contrib = np.zeros((9, 4))
    contrib[[2, 3, 6], 0] = [0.31, 1.0, -0.5]
    contrib[7, 1] = 0.29
    assert trim_bounds(contrib, 0.3) == (2, 7)  # column 7 (0.29) falls below 0.3 of the largest
    assert trim_bounds(np.zeros((4, 4))) == (0, 4)
    contrib[8, 2] = 0.3  # exactly the threshold: kept
    assert trim_bounds(contrib, 0.3) == (2, 9)
    a = pd.DataFrame({"example": [0, 0, 1, 2], "start": [10, 100, 5, 0], "end": [30, 120, 25, 20]})
    b = pd.DataFrame({"example": [0, 1, 1, 3], "start": [31, 5, 40, 0], "end": [51, 25, 60, 20]})
    # example 0: centres 20 and 110 against 41 -> 21 and 69 (dropped, > 60); example 1: 15 against 15 (a seqlet
    # of both: distance 0, not a pair) and 50 -> 35
    assert pair_spacing(a, b).tolist() == [21, 35]


def test_trim_bounds_and_pair_spacing_at_their_limits():
    """A core read relative to the largest column when it is not 1 (4: 0.3 x 4 = 1.2 keeps columns 1-2 only); no
    column at all; distances of exactly 1 bp and exactly max_distance (60 by default) kept; no seqlet on one side: an
    empty int64 array, as for pairs."""
    contrib = np.zeros((4, 4))
    contrib[:, 0] = [0.1, 2.0, 4.0, 0.5]
    assert trim_bounds(contrib, 0.3) == (1, 3)
    assert trim_bounds(np.zeros((0, 4))) == (0, 0)
    a = pd.DataFrame({"example": [0, 1, 2], "start": [10, 10, 10], "end": [20, 20, 20]})  # centres 15
    # centres 16 (1 bp), 75 (60 bp: kept by the default max_distance of 60) and 76 (61 bp: dropped)
    b = pd.DataFrame({"example": [0, 1, 2], "start": [11, 70, 71], "end": [21, 80, 81]})
    got = pair_spacing(a, b)
    assert got.tolist() == [1, 60] and got.dtype == np.int64
    for first, second in ((a.iloc[:0], b), (a, b.iloc[:0])):
        empty = pair_spacing(first, second)
        assert empty.shape == (0,) and empty.dtype == np.int64


def test_modisco_finds_a_planted_motif(tmp_path):
    """Synthetic contributions: each sequence carries GATAAGGCA (or its reverse complement) at a random place and
    the contribution is on its bases only; TF-MoDISco's pattern must spell it."""
    rng = np.random.default_rng(0)
    motif = encode("GATAAGGCA")
    n, L = 300, 120
    codes = rng.integers(0, 4, size=(n, L)).astype(np.uint8)
    hyp = rng.normal(0, 0.01, size=(n, 4, L)).astype(np.float32)
    for i in range(n):
        pos = rng.integers(10, L - 20)
        m = motif if i % 2 == 0 else (3 - motif)[::-1]
        codes[i, pos:pos + len(m)] = m
        hyp[i, :, pos:pos + len(m)] += one_hot(m[None])[0] * 1.0
    path = tmp_path / "modisco.h5"
    result = run_modisco(one_hot(codes), hyp, path, n_leiden_runs=2, max_seqlets=1000)
    assert result["patterns"] >= 1
    patterns = read_patterns(path)
    best = max(patterns, key=lambda p: len(p["seqlets"]))
    consensus = "".join("ACGT"[i] for i in pattern_motifs([best])[0].pwm.argmax(1))
    assert "GATAAGGCA" in consensus or "TGCCTTATC" in consensus
    seqlets = seqlet_table(patterns, prefix="x/")
    assert len(seqlets) == sum(len(p["seqlets"]) for p in patterns)
    assert set(seqlets["pattern"]) == {f"x/{p['name']}" for p in patterns}


@pytest.mark.parametrize("scale", [0.0, 1.0])  # no contribution at all; noise on 5 sequences: too few seqlets
def test_modisco_with_too_few_seqlets_writes_an_empty_result(tmp_path, scale):
    codes = _codes(5, 50)
    hyp = np.random.default_rng(1).normal(0, 1, (5, 4, 50)).astype(np.float32) * scale
    path = tmp_path / "empty.h5"
    result = run_modisco(one_hot(codes), hyp, path)
    assert result == {"patterns": 0, "negative_patterns": 0, "seqlets": 0}
    assert read_patterns(path) == []


# ------------------------------------------------------------------------------------------------ the stage's rules
def test_choose_sites_takes_sites_open_in_half_the_lineage_without_n():
    from basset.stages.attribution import choose_sites

    targets = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1], [0, 1, 1, 0], [1, 1, 0, 0]])[:, :4]
    codes = np.zeros((5, 6), np.uint8)
    codes[4, 2] = 4  # open, but holds an N
    rows, with_n = choose_sites(targets, codes, n=10, seed=1)
    assert rows.tolist() == [0, 2, 3] and with_n == 1  # 2 of 4 is half: open; 1 of 4 is not
    rows, _ = choose_sites(targets, codes, n=2, seed=1)
    assert len(rows) == 2 and set(rows) <= {0, 2, 3} and list(rows) == sorted(rows)


def test_lineages_of_groups_targets_and_the_shared_lineage():
    from basset.config import lineages_of
    from basset.errors import ConfigError

    names, groups = ["a1", "a2", "b1", "c"], ["A", "A", "B", ""]
    assert lineages_of(names, groups) == {"A": ["a1", "a2"], "B": ["b1"], "all": ["c"]}  # 'all' exists: not added
    assert lineages_of(names[:3], groups[:3]) == {"A": ["a1", "a2"], "B": ["b1"], "all": ["a1", "a2", "b1"]}
    assert lineages_of(names[:3], groups[:3], shared=False) == {"A": ["a1", "a2"], "B": ["b1"]}
    assert lineages_of(["x", "y"], None) == {"all": ["x", "y"]}  # one lineage: no second 'all'
    assert lineages_of(["x", "y"], None, by="target") == {"x": ["x"], "y": ["y"], "all": ["x", "y"]}
    with pytest.raises(ConfigError, match="cannot name a file"):
        lineages_of(["x"], ["my group"])


def test_composite_distance_from_tomtom_offsets():
    from basset.stages.attribution import composite_distance

    # a 25-column pattern: a 10-wide first motif aligned at offset -2 (its columns 0-9 at pattern 2-11, centre
    # 6.5) and a 7-wide second motif at offset -15 (pattern 15-21, centre 18); the worse first match is ignored
    hits = pd.DataFrame({"target_id": ["F1", "F2", "S1"], "offset": [-2, -9, -15], "p": [1e-5, 1e-3, 1e-4],
                         "q": [0.01, 0.05, 0.02]})
    widths = {"F1": 10, "F2": 8, "S1": 7}
    assert composite_distance(hits, {"F1", "F2"}, {"S1"}, widths) == pytest.approx(11.5)
    assert np.isnan(composite_distance(hits, {"F1"}, {"S2"}, widths))


def test_attribution_ranks_a_planted_motif_above_background():
    """A network that detects GATAAG (one width-6 filter, ReLU, max-pool over the sequence, linear): DeepLIFT/SHAP
    puts the contribution on the motif's bases, so the instance AUROC is near 1; gradient x input does too."""
    L, motif = 80, encode("GATAAG")
    net = nn.Sequential(nn.Conv1d(4, 1, 6), nn.ReLU(), nn.MaxPool1d(L - 5), nn.Flatten(), nn.Linear(1, 2))
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(one_hot(motif[None])[0] * 2 - 1)[None])
        net[0].bias.fill_(-3.0)  # fires on 5 or 6 matching bases
        net[4].weight.fill_(1.0)
        net[4].bias.zero_()
    net.eval()
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 4, (20, L)).astype(np.uint8)
    starts = rng.integers(5, L - 11, 20)
    for row, at in zip(codes, starts):
        row[at:at + 6] = motif
    inst = pd.DataFrame({"chrom": "c", "start": 1000 + 100 * np.arange(20) + starts,
                         "end": 1006 + 100 * np.arange(20) + starts})
    mask = instance_mask(["c"] * 20, 1000 + 100 * np.arange(20), np.zeros(20, bool), L, inst)
    assert mask.sum() == 120
    contrib = actual(deep_lift_shap(net, codes, [0, 1], n_shuffles=8, seed=2), codes)
    assert instance_auroc(contrib, mask) > 0.95
    assert instance_auroc(gradient_x_input(net, codes, [0, 1]), mask) > 0.9

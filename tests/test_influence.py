"""Tests of basset.influence (filter nullification, motif insertion) and basset.plots.motifs."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from basset.influence import (
    _auto_chunk,
    consensus_codes,
    filter_influence,
    influence_table,
    insert_codes,
    insert_motif,
    insertion_table,
    mean_activation,
    resolve_motifs,
    sample_background,
    sample_rows,
)
from basset.models import build_model, model_config, rest_of_network
from basset.sequence import decode, encode, one_hot, reverse_complement

L, T = 120, 3


def _model(batch_norm=True, seed=0, pools=(3, 2), filters=(8, 6), widths=(5, 3)):
    torch.manual_seed(seed)
    cfg = model_config("cpu", seq_len=L, conv_filters=list(filters), conv_widths=list(widths),
                       conv_pools=list(pools), conv_dropout=0.1, dense_units=[10], dense_dropout=0.2,
                       batch_norm=batch_norm)
    model = build_model(cfg, T)
    with torch.no_grad():  # larger weights than at initialisation: every filter's nullification shows
        for mod in model.modules():
            if isinstance(mod, (nn.Conv1d, nn.Linear)):
                mod.weight.mul_(2.0)
    if batch_norm:  # non-trivial running statistics, as after training
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm1d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.data.uniform_(0.5, 1.5)
                mod.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


def _data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, (n, L), dtype=np.uint8), rng.integers(0, 2, (n, T), dtype=np.uint8)


def _naive_influence(model, codes, targets, formula="paper"):
    """One filter at a time, nullified with a forward hook on the first ReLU: its output replaced by the
    filter's mean over all sequences and positions (read by another hook). Returns (d_loss, d_pred, means), with
    d_pred per target the squared mean change (paper) or the mean squared change (per_sequence)."""
    relu = next(m for m in model.conv[0] if isinstance(m, nn.ReLU))
    x = one_hot(torch.as_tensor(codes))
    y = torch.as_tensor(targets, dtype=torch.float64)
    seen = []
    handle = relu.register_forward_hook(lambda _mod, _inp, out: seen.append(out.detach().double()))
    with torch.inference_mode():
        model(x)
    handle.remove()
    means64 = seen[0].mean(dim=(0, 2)).numpy()  # (F,): over sequences and positions
    means = torch.as_tensor(means64, dtype=torch.float32)

    def loss_probs():
        with torch.inference_mode():
            logits = model(x).double()  # the loss change is a small difference of large sums
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none").sum(1).mean()
        return loss.item(), torch.sigmoid(logits).numpy()

    loss0, p0 = loss_probs()
    d_loss, d_pred = [], []
    for f in range(means.numel()):
        def hook(_mod, _inp, out, f=f):
            out = out.clone()
            out[:, f, :] = means[f]
            return out

        handle = relu.register_forward_hook(hook)
        loss, p = loss_probs()
        handle.remove()
        d_loss.append(loss - loss0)
        d_pred.append((p - p0).mean(0) ** 2 if formula == "paper" else ((p - p0) ** 2).mean(0))
    return np.array(d_loss), np.array(d_pred), means64


def _hand_model(c, d):
    """One width-1 filter that fires (1.0) on A only, max-pooled over the whole 4 bp sequence, then
    ``logit_t = c_t * pooled + d_t``: a model small enough to compute its influence by hand."""
    cfg = model_config("cpu", seq_len=4, conv_filters=[1], conv_widths=[1], conv_pools=[4], conv_dropout=0,
                       dense_units=[], dense_dropout=[], batch_norm=False)
    model = build_model(cfg, len(c))
    with torch.no_grad():
        conv = model.conv[0][0]
        conv.weight.copy_(torch.tensor([[[1.0], [0.0], [0.0], [0.0]]]))
        conv.bias.zero_()
        model.output.weight.copy_(torch.tensor(c, dtype=torch.float32)[:, None])
        model.output.bias.copy_(torch.tensor(d, dtype=torch.float32))
    return model.eval()


def test_influence_of_a_hand_built_model_is_the_papers_formula():
    """AAAA, CCCC and ACGT: the filter's pooled output is 1, 0 and 1; its mean over all 12 positions is 5/12,
    and nullified every sequence pools 5/12. Per target, the paper's influence is the square of the mean change
    of sigmoid(c*pooled + d); the overall influence sums it over targets. The per-sequence formula is the mean
    of the squared changes, which differs: CCCC's change has the opposite sign to the others'."""
    c, d = [2.0, -1.0], [0.5, 0.25]
    model = _hand_model(c, d)
    codes = np.stack([encode(s) for s in ("AAAA", "CCCC", "ACGT")])
    targets = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.uint8)
    sig = lambda z: 1.0 / (1.0 + math.exp(-z))  # noqa: E731
    pooled, m = [1.0, 0.0, 1.0], 5.0 / 12.0
    change = [[sig(ct * m + dt) - sig(ct * x + dt) for ct, dt in zip(c, d)] for x in pooled]  # (3 sites, 2 targets)
    paper = [(sum(row[t] for row in change) / 3) ** 2 for t in range(2)]
    per_sequence = [sum(row[t] ** 2 for row in change) / 3 for t in range(2)]
    d_loss, d_pred, means = filter_influence(model, codes, targets)
    assert means[0] == pytest.approx(m, rel=1e-6)
    np.testing.assert_allclose(d_pred[0], paper, rtol=1e-5)
    table = influence_table(d_loss, d_pred, ["a", "b"])
    assert table["influence"].iloc[0] == pytest.approx(sum(paper), rel=1e-5)
    _, d_sq, _ = filter_influence(model, codes, targets, formula="per_sequence")
    np.testing.assert_allclose(d_sq[0], per_sequence, rtol=1e-5)
    assert sum(per_sequence) > 2 * sum(paper)  # the two formulas do differ here
    # the loss change by hand: summed BCE over targets, mean over sites
    bce = lambda z, y: math.log1p(math.exp(-z)) if y else math.log1p(math.exp(z))  # noqa: E731
    loss = lambda xs: sum(bce(ct * x + dt, y) for x, row in zip(xs, targets)  # noqa: E731
                          for ct, dt, y in zip(c, d, row)) / 3
    assert d_loss[0] == pytest.approx(loss([m] * 3) - loss(pooled), rel=1e-5)


def test_rest_of_network_completes_forward():
    model = _model()
    x = one_hot(torch.as_tensor(_data(5)[0]))
    with torch.inference_mode():
        torch.testing.assert_close(rest_of_network(model, model.first_layer(x)), model(x))


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("shortcut", [True, False])
@pytest.mark.parametrize("formula", ["paper", "per_sequence"])
def test_vectorised_influence_matches_hook_loop(batch_norm, shortcut, formula):
    model = _model(batch_norm)
    codes, targets = _data()
    d_loss, d_pred, means = filter_influence(model, codes, targets, batch_size=16, filter_chunk=3,
                                             linear_shortcut=shortcut, formula=formula)
    ref_loss, ref_pred, ref_means = _naive_influence(model, codes, targets, formula)
    assert d_loss.shape == (8,) and d_pred.shape == (8, T) and means.shape == (8,)
    assert d_loss.dtype == d_pred.dtype == means.dtype == np.float64
    np.testing.assert_allclose(means, ref_means, rtol=1e-6)
    np.testing.assert_allclose(mean_activation(model, codes, batch_size=7), ref_means, rtol=1e-6)
    np.testing.assert_allclose(d_loss, ref_loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(d_pred, ref_pred, rtol=1e-4, atol=1e-10)
    assert d_pred.max(axis=1).min() > 1e-7 and np.abs(d_loss).min() > 1e-4  # every filter matters here
    assert not model.training


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
@pytest.mark.parametrize("arch", ["one-conv-layer", "no-pool-first", "wide-second", "three-conv"])
def test_influence_of_other_architectures_matches_hook_loop(arch):
    """One conv layer (no second convolution for the shortcut), no pooling after the first ReLU, a wide second
    convolution, a third conv block after the shortcut's second convolution: the vectorised result is the hook
    loop's, with and without the shortcut."""
    kw = {"one-conv-layer": dict(filters=(5,), widths=(7,), pools=(4,)),
          "no-pool-first": dict(filters=(5, 4), widths=(4, 3), pools=(0, 3)),
          "wide-second": dict(filters=(5, 4), widths=(3, 8), pools=(2, 2)),
          "three-conv": dict(filters=(5, 4, 3), widths=(3, 3, 2), pools=(2, 2, 2))}[arch]
    model = _model(seed=3, **kw)
    codes, targets = _data(25, seed=4)
    for formula in ("paper", "per_sequence"):
        ref = _naive_influence(model, codes, targets, formula)
        for shortcut in (True, False):
            got = filter_influence(model, codes, targets, batch_size=10, filter_chunk=2, linear_shortcut=shortcut,
                                   formula=formula)
            for u, v, atol in zip(got, ref, (1e-7, 1e-10, 1e-7)):  # d_pred is small: (mean change) ** 2
                np.testing.assert_allclose(u, v, rtol=1e-4, atol=atol)


def test_influence_bad_input_and_chunk_sizes():
    model = _model()
    codes, targets = _data(6)
    with pytest.raises(ValueError, match="expected codes"):
        filter_influence(model, codes[0], targets)
    with pytest.raises(ValueError, match="expected codes"):
        filter_influence(model, codes, targets[:5])
    with pytest.raises(ValueError, match="expected codes"):
        filter_influence(model, codes, targets[:, 0])
    with pytest.raises(ValueError, match="no sequences"):
        mean_activation(model, codes[:0])
    with pytest.raises(ValueError, match="influence formula 'squared': expected one of paper, per_sequence"):
        filter_influence(model, codes, targets, formula="squared")
    # filters per chunk: as many as fit under max_elements, at least 1, at most all
    assert _auto_chunk(100, 8, 1000) == 8 and _auto_chunk(100, 8, 250) == 2 and _auto_chunk(100, 8, 99) == 1
    assert _auto_chunk(0, 8, 5) == 5 and _auto_chunk(100, 8, 200) == 2
    # a tiny budget (one filter per chunk) gives the same numbers
    a = filter_influence(model, codes, targets, max_elements=1)
    b = filter_influence(model, codes, targets)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-9)


def test_influence_does_not_depend_on_batching():
    model = _model()
    codes, targets = _data(30)
    for formula in ("paper", "per_sequence"):
        a = filter_influence(model, codes, targets, batch_size=7, filter_chunk=5, formula=formula)
        b = filter_influence(model, codes, targets, batch_size=64, formula=formula)
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_zero_filter_has_no_influence(batch_norm):
    model = _model(batch_norm)
    f = 2
    with torch.no_grad():
        model.conv[0][0].weight[f] = 0
        model.conv[0][0].bias[f] = 0
    codes, targets = _data()
    d_loss, d_pred, means = filter_influence(model, codes, targets, batch_size=16, formula="per_sequence")
    # with batch norm the filter's output is a nonzero constant (relu of the BN shift): its mean is itself
    h = model.first_layer(one_hot(torch.as_tensor(codes))).detach()
    assert torch.all(h[:, f] == h[0, f, 0])
    assert means[f] == pytest.approx(h[0, f, 0].item(), abs=1e-7)
    assert abs(d_loss[f]) < 1e-6
    np.testing.assert_allclose(d_pred[f], 0.0, atol=1e-10)
    assert np.abs(d_pred).sum(1).max() > 1e-6  # the other filters do matter


def _gata_model():
    """Filter 0 detects GATA (score 4 at a match, <= 3 elsewhere); only target 0 reads it."""
    cfg = model_config("cpu", seq_len=L, conv_filters=[2, 2], conv_widths=[4, 1], conv_pools=[1, 1],
                       conv_dropout=0.0, dense_units=[2], dense_dropout=0.0, batch_norm=False)
    model = build_model(cfg, T)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        conv0 = model.conv[0][0]
        conv0.weight[0] = torch.as_tensor(one_hot(encode("GATA")))  # (4, 4): channel x position
        conv0.bias[0] = -3.0  # ReLU output is 1 only at a full GATA match
        model.conv[1][0].weight[0, 0, 0] = 1.0
        dense = model.dense[1]  # after Flatten: channel 0 occupies the first L positions
        dense.weight[0, :L] = 1.0
        model.output.weight[0, 0] = 5.0
        model.output.bias[:] = -2.0
    return model.eval()


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_insertion_raises_the_target_reading_the_motif():
    model = _gata_model()
    bg = np.zeros((10, L), dtype=np.uint8)  # poly-A: no GATA
    effect = insert_motif(model, bg, "GATA", rc_average=False)
    assert effect.shape == (T,)
    assert effect.argmax() == 0 and effect[0] > 0.5
    np.testing.assert_allclose(effect[1:], 0.0, atol=1e-7)
    pwm = np.array([[0.1, 0.1, 0.7, 0.1], [0.8, 0.1, 0.05, 0.05], [0.1, 0.1, 0.1, 0.7], [0.6, 0.2, 0.1, 0.1]])
    assert decode(consensus_codes(pwm)) == "GATA"
    np.testing.assert_allclose(insert_motif(model, bg, pwm, rc_average=False), effect)
    table = insertion_table(model, bg, {"GATA": "GATA", "CCCC": "CCCC"}, ["t0", "t1", "t2"], rc_average=False)
    assert list(table.index) == ["GATA", "CCCC"] and list(table.columns) == ["t0", "t1", "t2"]
    assert table.loc["GATA", "t0"] > 0.5 and np.allclose(table.loc["CCCC"], 0.0)


@pytest.mark.parametrize(("length", "motif", "start"), [
    (10, "ACGT", 3), (10, "ACG", 3), (11, "ACGT", 3), (11, "ACG", 4), (4, "ACGT", 0), (5, "C", 2), (6, "C", 2)])
def test_insert_codes_centre_by_hand(length, motif, start):
    """The default position is the centre, start (L - w) // 2, for even and odd L and w."""
    rng = np.random.default_rng(length)
    bg = rng.integers(0, 5, (4, length), dtype=np.uint8)
    before = bg.copy()
    out = insert_codes(bg, motif)
    for row, got in zip(bg, out):  # by hand, on the text
        text = decode(row)
        assert decode(got) == text[:start] + motif + text[start + len(motif):]
    np.testing.assert_array_equal(bg, before)  # a copy: the background is left alone
    np.testing.assert_array_equal(insert_codes(bg, motif, position=None), out)


def test_insert_codes_positions_and_edges():
    bg = np.full((3, 12), 4, np.uint8)
    # 0-based start, first and last positions that fit
    assert decode(insert_codes(bg, "GATA", position=0)[1]) == "GATANNNNNNNN"
    assert decode(insert_codes(bg, "GATA", position=8)[2]) == "NNNNNNNNGATA"
    assert decode(insert_codes(bg, "GATA", position=5)[0]) == "NNNNNGATANNN"
    assert decode(insert_codes(bg, "A" * 12)[0]) == "A" * 12
    for position in (9, -1, 12):
        with pytest.raises(ValueError, match="does not fit"):
            insert_codes(bg, "GATA", position=position)
    with pytest.raises(ValueError, match="does not fit"):
        insert_codes(bg, "A" * 13)
    # a PWM is written as its consensus
    pwm = np.array([[0.1, 0.1, 0.7, 0.1], [0.8, 0.1, 0.05, 0.05]])
    assert decode(insert_codes(bg, pwm, position=3)[0]) == "NNNGANNNNNNN"


def test_consensus_codes_ties_and_ambiguity():
    pwm = np.array([[0.4, 0.4, 0.1, 0.1],  # tie A/C: the first column, A
                    [0.1, 0.3, 0.3, 0.3],  # three-way tie: C
                    [0.0, 0.0, 0.0, 1.0],
                    [0.2, 0.1, 0.5, 0.2]])
    codes = consensus_codes(pwm)
    assert codes.dtype == np.uint8 and codes.tolist() == [0, 1, 3, 2]
    assert consensus_codes([[1, 2, 3, 3]]).tolist() == [2]  # a list of counts, tie G/T: G
    assert consensus_codes("ACRYNgt").tolist() == [0, 1, 4, 4, 4, 2, 3]  # IUPAC letters become N
    assert consensus_codes(b"TTA").tolist() == [3, 3, 0]
    for bad in (np.ones((3, 3)), np.ones(4), np.ones((2, 4, 1))):
        with pytest.raises(ValueError, match="expected a"):
            consensus_codes(bad)
    for empty in ("", np.zeros((0, 4))):
        with pytest.raises(ValueError, match="empty motif"):
            consensus_codes(empty)


def test_sample_rows_and_background():
    for n_rows, n in ((100, 10), (7, 6), (1000, 999), (50, 1)):
        rows = sample_rows(n_rows, n, seed=5)
        assert rows.shape == (n,) and rows.dtype == np.int64
        assert len(set(rows.tolist())) == n  # no repetition
        assert (np.diff(rows) > 0).all() and rows[0] >= 0 and rows[-1] < n_rows  # sorted, in range
        np.testing.assert_array_equal(rows, sample_rows(n_rows, n, seed=5))  # the seed fixes it
    assert sample_rows(100, 10).tolist() == sample_rows(100, 10, seed=1).tolist()  # the default seed is 1
    assert sample_rows(100, 10, seed=1).tolist() != sample_rows(100, 10, seed=2).tolist()
    assert sample_rows(100, 0).shape == (0,)
    # asking for all rows or more: every row, in order
    assert sample_rows(5, 5).tolist() == sample_rows(5, 9).tolist() == [0, 1, 2, 3, 4]
    codes = np.arange(60, dtype=np.uint8).reshape(20, 3) % 5
    codes[:, 0] = np.arange(20)  # row numbers, to see which rows came back
    bg = sample_background(codes, 6, seed=3)
    assert bg.dtype == np.uint8 and bg.shape == (6, 3)
    np.testing.assert_array_equal(bg, codes[sample_rows(20, 6, seed=3)])  # whole rows, in file order
    np.testing.assert_array_equal(sample_background(codes, 6), codes[sample_rows(20, 6)])
    np.testing.assert_array_equal(sample_background(codes, 50), codes)


def _probs_by_hand(model, codes, rc):
    with torch.no_grad():
        p = torch.sigmoid(model(one_hot(torch.as_tensor(codes)))).double().numpy()
        if rc:
            rc_codes = np.ascontiguousarray(reverse_complement(codes))
            p = 0.5 * (p + torch.sigmoid(model(one_hot(torch.as_tensor(rc_codes)))).double().numpy())
    return p


def test_insert_motif_and_table_by_hand():
    """Mean over the background of p(inserted) - p(background), on a model that is neither strand-symmetric
    nor position-invariant; rc_average on by default."""
    model = _model(seed=5)
    bg = _data(12, seed=6)[0]
    motif = "GATTACA"
    start = (L - 7) // 2  # 56

    def effect(position, rc):
        ins = bg.copy()
        ins[:, position : position + 7] = encode(motif)
        return (_probs_by_hand(model, ins, rc) - _probs_by_hand(model, bg, rc)).mean(0)

    centre_rc, centre_fwd, at_3 = effect(start, True), effect(start, False), effect(3, True)
    assert np.abs(centre_rc - centre_fwd).max() > 1e-3 and np.abs(centre_rc - at_3).max() > 1e-3
    got = insert_motif(model, bg, motif)
    assert got.shape == (T,) and got.dtype == np.float64
    np.testing.assert_allclose(got, centre_rc, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(insert_motif(model, bg, motif, rc_average=False), centre_fwd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(insert_motif(model, bg, motif, position=3), at_3, rtol=1e-5, atol=1e-7)
    # precomputed background predictions are used as given
    fake = np.zeros((12, T))
    with torch.no_grad():
        np.testing.assert_allclose(insert_motif(model, bg, motif, background_probs=fake),
                                   centre_rc + _probs_by_hand(model, bg, True).mean(0), rtol=1e-5, atol=1e-7)
    # the table: one row per motif in the given order, columns 0..T-1 by default
    table = insertion_table(model, bg, {"m": motif, "pwm": np.eye(4)[encode("CCGG")]})
    assert table.index.name == "motif" and list(table.index) == ["m", "pwm"]
    assert list(table.columns) == list(range(T))
    np.testing.assert_allclose(table.loc["m"].to_numpy(), centre_rc, rtol=1e-5, atol=1e-7)
    ins = insert_codes(bg, "CCGG")
    np.testing.assert_allclose(table.loc["pwm"].to_numpy(),
                               (_probs_by_hand(model, ins, True) - _probs_by_hand(model, bg, True)).mean(0),
                               rtol=1e-5, atol=1e-7)
    table = insertion_table(model, bg, {"m": motif}, ["a", "b", "c"], position=3, rc_average=False)
    assert list(table.columns) == ["a", "b", "c"]
    np.testing.assert_allclose(table.loc["m"].to_numpy(), effect(3, False), rtol=1e-5, atol=1e-7)


def test_influence_table_by_hand():
    d_pred = np.array([[1.0, 2.0, 6.0], [0.0, 0.5, 0.25]])
    df = influence_table([0.5, -0.25], d_pred, ["x", 7, "z"])
    want = pd.DataFrame({"filter": [0, 1], "delta_loss": [0.5, -0.25], "influence": [9.0, 0.75],
                         "x": [1.0, 0.0], "7": [2.0, 0.5], "z": [6.0, 0.25]})
    pd.testing.assert_frame_equal(df, want, check_dtype=False)
    assert df["filter"].dtype.kind == "i" and df["delta_loss"].dtype == np.float64
    with pytest.raises(ValueError, match="3 influence columns but 2 target names"):
        influence_table([0.5, -0.25], d_pred, ["x", "y"])


def test_motif_specs_resolve_ids_names_and_consensus():
    motifs = resolve_motifs(["gataa", " MA0139.2 ", "GATA1"])
    assert list(motifs) == ["gataa", " MA0139.2 ", "GATA1"]
    assert motifs["gataa"] == "GATAA"
    ctcf = motifs[" MA0139.2 "]
    assert ctcf.shape == (15, 4) and np.allclose(ctcf.sum(1), 1)  # CTCF, probabilities
    assert decode(consensus_codes(ctcf)) == "GCCACCAGGGGGCGC"  # the CTCF core, CCACCAGGGGGCG
    assert motifs["GATA1"].shape == (7, 4) and np.allclose(motifs["GATA1"].sum(1), 1)  # MA0035.5, by name
    named = resolve_motifs({"x": [[1, 0, 0, 0]], "y": "acgt", "z": "MA0035.5"})
    assert named["x"].shape == (1, 4) and named["x"].dtype == np.float64 and named["y"] == "ACGT"
    np.testing.assert_allclose(named["z"], motifs["GATA1"])
    with pytest.raises(ValueError, match="no such matrix"):
        resolve_motifs(["MA9999.1"])


def test_influence_figures_are_written(tmp_path):
    from basset.plots.motifs import fig3a, fig3c, fig_insertion

    rng = np.random.default_rng(0)
    d_pred = rng.random((12, 4)) * (rng.random((12, 1)) > 0.3)
    fig3a(rng.random(12) * 10, d_pred.mean(1), tmp_path / "fig3a.png", annotated=rng.random(12) > 0.5)
    fig3c(d_pred, list("abcd"), tmp_path / "fig3c", top_k=8)
    table = pd.DataFrame(rng.normal(size=(3, 4)), index=["x", "y", "z"], columns=list("abcd"))
    fig_insertion(table, tmp_path / "ins.png", cluster=True)
    for stem in ("fig3a", "fig3c", "ins"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 0 and (tmp_path / f"{stem}.pdf").exists()


@pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")
def test_linear_shortcut_applies_only_where_it_is_exact():
    """Max pooling or dropout after the first ReLU and an ungrouped Conv1d next: the shortcut applies, also to a
    plain two-layer model (the smallest it applies to); not with one conv layer, a grouped second convolution or
    average pooling after the ReLU (the mean of a nullified constant is the constant, but the shortcut's proof
    uses max pooling: it is kept to what is checked)."""
    from basset.influence import _linear_path_ok

    assert _linear_path_ok(_model())
    assert _linear_path_ok(_model(filters=(5, 4), widths=(4, 3), pools=(0, 3)))
    assert not _linear_path_ok(_model(filters=(5,), widths=(7,), pools=(4,)))
    grouped = _model()
    conv = grouped.conv[1][0]
    grouped.conv[1][0] = nn.Conv1d(conv.in_channels, conv.out_channels, conv.kernel_size, padding=conv.padding,
                                   groups=2)
    assert not _linear_path_ok(grouped)
    avg = _model()
    tail_at = next(i for i, m in enumerate(avg.conv[0]) if isinstance(m, nn.MaxPool1d))
    avg.conv[0][tail_at] = nn.AvgPool1d(3)
    assert not _linear_path_ok(avg)


class _Bar:
    """A stand-in for basset.logs.progress_bar that records its arguments and updates."""

    def __init__(self, calls):
        self.calls, self.n = calls, 0

    def __call__(self, total, enabled=True, desc=None, unit="it"):
        self.calls.append((total, enabled, desc, unit))
        return self

    def update(self, k):
        self.n += k

    def close(self):
        self.calls.append(("closed", self.n))


def test_filter_influence_defaults_shortcut_and_progress(monkeypatch):
    """By default the shortcut is taken (about 3x faster) and no progress bar shows; the bar, when asked for,
    counts sites up to the number of sequences."""
    import basset.influence as infl

    model = _model()
    codes, targets = _data(23)
    used = []
    linear = infl._nullified_logits_linear
    monkeypatch.setattr(infl, "_nullified_logits_linear", lambda *a: used.append(1) or linear(*a))
    calls = []
    monkeypatch.setattr(infl, "progress_bar", _Bar(calls))
    infl.filter_influence(model, codes, targets, batch_size=10)
    assert used and calls == [(23, False, "filter influence", "site"), ("closed", 23)]
    used.clear(), calls.clear()
    monkeypatch.setattr(infl, "progress_bar", _Bar(calls))
    infl.filter_influence(model, codes, targets, batch_size=10, linear_shortcut=False, progress=True)
    assert not used and calls == [(23, True, "filter influence", "site"), ("closed", 23)]


def test_insertion_table_predicts_the_background_once(monkeypatch):
    import basset.influence as infl

    model = _model(seed=2)
    bg = _data(6, seed=3)[0]
    want = infl.insertion_table(model, bg, {"a": "GATA", "b": "CCGG"}, ["t0", "t1", "t2"])
    seen = []
    predict = infl.predict_codes
    monkeypatch.setattr(infl, "predict_codes", lambda m, c, *a: seen.append(c.copy()) or predict(m, c, *a))
    got = infl.insertion_table(model, bg, {"a": "GATA", "b": "CCGG"}, ["t0", "t1", "t2"])
    pd.testing.assert_frame_equal(got, want)
    assert len(seen) == 3  # the background once, then each motif's inserted copy
    np.testing.assert_array_equal(seen[0], bg)
    np.testing.assert_array_equal(seen[1], insert_codes(bg, "GATA"))


def test_inputs_of_other_types_give_the_documented_dtypes():
    """Lists and wider integer arrays, as a user passes them: uint8 codes out, float64 tables."""
    bg = [[0, 1, 2, 3, 0, 1], [3, 3, 2, 2, 1, 1]]
    out = insert_codes(bg, "GA")
    assert out.dtype == np.uint8 and decode(out[0]) == "ACGAAC"
    assert insert_codes(np.array(bg, dtype=np.int64), "GA").dtype == np.uint8
    assert sample_background(np.array(bg, dtype=np.int64), 1, seed=0).dtype == np.uint8
    df = influence_table([1, 2], [[1, 2], [3, 5]], ["a", "b"])
    assert df["delta_loss"].dtype == df["a"].dtype == df["b"].dtype == df["influence"].dtype == np.float64
    assert df["influence"].tolist() == [3.0, 8.0]


def test_motif_specs_follow_the_release_and_upper_case_consensus():
    """The JASPAR release is passed on, by matrix ID and by name; a consensus in capitals stays a consensus."""
    assert resolve_motifs(["GATA1"], release="JASPAR2020")["GATA1"].shape == (11, 4)  # MA0035.4 then
    with pytest.raises(ValueError, match="MA0035.5: no such matrix in JASPAR2020"):
        resolve_motifs(["MA0035.5"], release="JASPAR2020")
    assert resolve_motifs(["MA0035.4"], release="JASPAR2020")["MA0035.4"].shape == (11, 4)
    assert resolve_motifs(["GATTACA", " CcGg "]) == {"GATTACA": "GATTACA", " CcGg ": "CCGG"}


def test_error_messages_in_full():
    model = _model()
    with pytest.raises(ValueError, match="^no sequences to average over$"):
        mean_activation(model, np.zeros((0, L), np.uint8))
    with pytest.raises(ValueError, match="^empty motif$"):
        consensus_codes("")

"""Tests of basset.influence (filter nullification, motif insertion) and basset.plots.motifs."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from basset.influence import (
    consensus_codes,
    filter_influence,
    influence_table,
    insert_codes,
    insert_motif,
    insertion_table,
    mean_activation,
    resolve_motifs,
    sample_background,
)
from basset.models import build_model, model_config, rest_of_network
from basset.sequence import decode, encode, one_hot

L, T = 120, 3


def _model(batch_norm=True, seed=0, pools=(3, 2)):
    torch.manual_seed(seed)
    cfg = model_config("cpu", seq_len=L, conv_filters=[8, 6], conv_widths=[5, 3], conv_pools=list(pools),
                       conv_dropout=0.1, dense_units=[10], dense_dropout=0.2, batch_norm=batch_norm)
    model = build_model(cfg, T)
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


def _naive_influence(model, codes, targets):
    """One filter at a time, nullified with a forward hook on the first ReLU."""
    means = torch.as_tensor(mean_activation(model, codes), dtype=torch.float32)
    relu = next(m for m in model.conv[0] if isinstance(m, nn.ReLU))
    x = one_hot(torch.as_tensor(codes))
    y = torch.as_tensor(targets, dtype=torch.float32)

    def loss_probs():
        with torch.inference_mode():
            logits = model(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none").sum(1).mean()
        return loss.item(), torch.sigmoid(logits).numpy().astype(np.float64)

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
        d_pred.append(((p - p0) ** 2).sum(0))
    return np.array(d_loss), np.array(d_pred)


def test_rest_of_network_completes_forward():
    model = _model()
    x = one_hot(torch.as_tensor(_data(5)[0]))
    with torch.inference_mode():
        torch.testing.assert_close(rest_of_network(model, model.first_layer(x)), model(x))


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("shortcut", [True, False])
def test_vectorised_influence_matches_hook_loop(batch_norm, shortcut):
    model = _model(batch_norm)
    codes, targets = _data()
    d_loss, d_pred, means = filter_influence(model, codes, targets, batch_size=16, filter_chunk=3,
                                             linear_shortcut=shortcut)
    ref_loss, ref_pred = _naive_influence(model, codes, targets)
    assert d_loss.shape == (8,) and d_pred.shape == (8, T) and means.shape == (8,)
    np.testing.assert_allclose(d_loss, ref_loss, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(d_pred, ref_pred, rtol=1e-4, atol=1e-8)
    assert np.abs(d_pred).max() > 0  # something was measured
    assert not model.training


def test_influence_does_not_depend_on_batching():
    model = _model()
    codes, targets = _data(30)
    a = filter_influence(model, codes, targets, batch_size=7, filter_chunk=5)
    b = filter_influence(model, codes, targets, batch_size=64)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_zero_filter_has_no_influence(batch_norm):
    model = _model(batch_norm)
    f = 2
    with torch.no_grad():
        model.conv[0][0].weight[f] = 0
        model.conv[0][0].bias[f] = 0
    codes, targets = _data()
    d_loss, d_pred, means = filter_influence(model, codes, targets, batch_size=16)
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


def test_insert_codes_writes_exactly_the_centre():
    bg = sample_background(_data(50)[0], 20, seed=3)
    assert bg.shape == (20, L)
    np.testing.assert_array_equal(bg, sample_background(_data(50)[0], 20, seed=3))
    out = insert_codes(bg, "GATAAG")
    start = (L - 6) // 2
    np.testing.assert_array_equal(out[:, start : start + 6], np.tile(encode("GATAAG"), (20, 1)))
    changed = np.zeros(L, bool)
    changed[start : start + 6] = True
    np.testing.assert_array_equal(out[:, ~changed], bg[:, ~changed])
    np.testing.assert_array_equal(insert_codes(bg, "AC", position=0)[:, :2], np.tile([0, 1], (20, 1)))
    with pytest.raises(ValueError):
        insert_codes(bg, "ACGT", position=L - 2)
    with pytest.raises(ValueError, match="no such matrix"):
        resolve_motifs(["MA9999.1"])


def test_motif_specs_resolve_ids_names_and_consensus():
    motifs = resolve_motifs(["gataa", "MA0139.2", "GATA1"])
    assert motifs["gataa"] == "GATAA"
    assert motifs["MA0139.2"].shape == (15, 4) and np.allclose(motifs["MA0139.2"].sum(1), 1)  # CTCF
    assert motifs["GATA1"].shape == (7, 4) and np.allclose(motifs["GATA1"].sum(1), 1)  # MA0035.5, by name
    assert resolve_motifs({"x": [[1, 0, 0, 0]]})["x"].shape == (1, 4)


def test_influence_table_and_figures(tmp_path):
    from basset.plots.motifs import fig3a, fig3c, fig_insertion

    rng = np.random.default_rng(0)
    d_pred = rng.random((12, 4)) * (rng.random((12, 1)) > 0.3)
    df = influence_table(rng.normal(size=12), d_pred, list("abcd"))
    assert list(df.columns) == ["filter", "delta_loss", "influence_mean", "a", "b", "c", "d"]
    np.testing.assert_allclose(df["influence_mean"], d_pred.mean(1))
    assert df["filter"].tolist() == list(range(12))
    with pytest.raises(ValueError):
        influence_table(rng.normal(size=12), d_pred, list("abc"))
    fig3a(rng.random(12) * 10, d_pred.mean(1), tmp_path / "fig3a.png", annotated=rng.random(12) > 0.5)
    fig3c(d_pred, list("abcd"), tmp_path / "fig3c", top_k=8)
    table = pd.DataFrame(rng.normal(size=(3, 4)), index=["x", "y", "z"], columns=list("abcd"))
    fig_insertion(table, tmp_path / "ins.png", cluster=True)
    for stem in ("fig3a", "fig3c", "ins"):
        assert (tmp_path / f"{stem}.png").stat().st_size > 0 and (tmp_path / f"{stem}.pdf").exists()

"""Tests of basset.ism: fast ISM against naive ISM and against hand-made mutants, loss/gain scores."""

import numpy as np
import pytest
import torch

import basset.ism
from basset.ism import delta, ism, ism_naive, loss_gain, reference_probs
from basset.models import build_model, model_config
from basset.predict import predict_codes
from basset.sequence import one_hot, reverse_complement

# torch warns that "same" padding with an even width copies the input; the even widths are on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

# small versions of the presets and the edge cases of the conv/pool geometry
ARCHS = {
    "basset-like": ("basset", dict(conv_filters=[12, 10, 8], dense_units=[16, 12]), 200),
    "basset-600": ("basset", dict(conv_filters=[6, 5, 4], dense_units=[8], dense_dropout=0.3), 600),
    "deepsea-like": ("deepsea", dict(conv_filters=[8, 8, 6], dense_units=[16], dense_dropout=0.0), 301),
    "even-widths": ("basset", dict(conv_filters=[8, 6], conv_widths=[6, 4], conv_pools=[2, 3],
                                   conv_dropout=0.1, dense_units=[16], dense_dropout=0.2), 101),
    "one-layer": ("basset", dict(conv_filters=[8], conv_widths=[5], conv_pools=[0], conv_dropout=0.0,
                                 dense_units=[16], dense_dropout=0.0), 40),
    "valid-even-tail": ("deepsea", dict(conv_filters=[6, 5], conv_widths=[4, 6], conv_pools=[3, 1],
                                        conv_dropout=0.0, dense_units=[10], dense_dropout=0.0), 77),
    "no-dense": ("basset", dict(conv_filters=[6, 5], conv_widths=[9, 3], conv_pools=[5, 2],
                                conv_dropout=0.0, dense_units=[], dense_dropout=[]), 123),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These models are tiny: one thread avoids OpenMP start-up and waits on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def random_model(preset, overrides, length, n_targets=3, seed=0):
    """A random model whose eval-mode batch norm is far from the identity (so that it matters), with weights
    doubled so that single substitutions move the predictions by ~1e-3..1e-1 (far above the tolerance)."""
    torch.manual_seed(seed)
    model = build_model(model_config(preset, seq_len=length, **overrides), n_targets)
    gen = torch.Generator().manual_seed(seed + 100)
    for mod in model.modules():
        if isinstance(mod, (torch.nn.Conv1d, torch.nn.Linear)):
            mod.weight.data.mul_(2.0)
        if isinstance(mod, torch.nn.BatchNorm1d):
            k = mod.num_features
            mod.running_mean.copy_(torch.randn(k, generator=gen))
            mod.running_var.copy_(0.2 + 2 * torch.rand(k, generator=gen))
            mod.weight.data.copy_(torch.randn(k, generator=gen))
            mod.bias.data.copy_(0.5 * torch.randn(k, generator=gen))
    return model.eval()


def random_codes(n, length, seed=0, p_n=0.1):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, length), dtype=np.uint8)
    codes[rng.random((n, length)) < p_n] = 4
    codes[0, 0] = codes[0, -1] = 4  # N at both ends of a sequence
    return codes


def by_hand(model, codes, n, pos, base):
    """Probabilities (T,) of sequence n with base pos set to base, straight from the model."""
    seq = codes[n].copy()
    seq[pos] = base
    with torch.no_grad():
        return torch.sigmoid(model(one_hot(torch.as_tensor(seq[None])))).numpy()[0]


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_fast_matches_naive(arch):
    preset, over, length = ARCHS[arch]
    model = random_model(preset, over, length)
    codes = random_codes(2, length)
    naive = ism_naive(model, codes, batch_size=251)
    assert naive.shape == (2, length, 4, 3) and naive.dtype == np.float32
    spread = np.abs(naive - naive.mean(2, keepdims=True)).max()
    assert spread > 1e-2  # mutations change the predictions, so agreement below means something
    for bs in (64, 1000):  # batches crossing sequences, and one batch for everything
        fast = ism(model, codes, batch_size=bs)
        np.testing.assert_allclose(fast, naive, atol=1e-4, rtol=0)
    # windows: inside, touching each edge
    for start, end in ((length // 3, length // 3 + 17), (0, 11), (length - 9, length)):
        part = ism(model, codes, start, end, batch_size=128)
        np.testing.assert_allclose(part, naive[:, start:end], atol=1e-4, rtol=0)


@pytest.mark.parametrize("arch", ["basset-like", "deepsea-like", "valid-even-tail"])
def test_fast_matches_naive_in_float64(arch):
    """In double precision rounding is ~1e-12, so any windowing error would show far above 1e-6."""
    preset, over, length = ARCHS[arch]
    model = random_model(preset, over, length, seed=11).double()
    codes = random_codes(2, length, seed=11)
    np.testing.assert_allclose(ism(model, codes, batch_size=200), ism_naive(model, codes), atol=1e-6, rtol=0)


@pytest.mark.parametrize("arch", ["basset-like", "one-layer"])
@pytest.mark.parametrize("max_runs", [0, 10**6])
def test_both_dense_paths(arch, max_runs, monkeypatch):
    """The first dense layer by window GEMMs (few window starts per batch) and on the full vector (many)."""
    preset, over, length = ARCHS[arch]
    model = random_model(preset, over, length, seed=7)
    codes = random_codes(2, length, seed=7)
    naive = ism_naive(model, codes, 0, 30)
    monkeypatch.setattr(basset.ism, "_MAX_WINDOW_RUNS", max_runs)
    np.testing.assert_allclose(ism(model, codes, 0, 30, batch_size=50), naive, atol=1e-4, rtol=0)


@pytest.mark.parametrize("arch", ["basset-like", "deepsea-like", "even-widths"])
def test_naive_and_fast_match_hand_made_mutants(arch):
    preset, over, length = ARCHS[arch]
    model = random_model(preset, over, length, seed=3)
    codes = random_codes(2, length, seed=3)
    start, end = 0, length
    naive = ism_naive(model, codes, start, end)
    fast = ism(model, codes, start, end)
    ref = predict_codes(model, codes, rc_average=False)
    rng = np.random.default_rng(1)
    picks = [(0, 0), (0, length - 1), (1, 1), (1, length - 2)] + [(int(rng.integers(2)), int(p))
                                                                for p in rng.integers(0, length, 6)]
    for n, pos in picks:
        for base in range(4):
            want = ref[n] if codes[n, pos] == base else by_hand(model, codes, n, pos, base)
            np.testing.assert_allclose(naive[n, pos, base], want, atol=1e-5, rtol=0)
            np.testing.assert_allclose(fast[n, pos, base], want, atol=1e-4, rtol=0)
    # the reference base's entry is the unmutated prediction, everywhere but at N
    known = codes[:, start:end] < 4
    at_ref = np.take_along_axis(fast, np.minimum(codes, 3)[:, :, None, None], axis=2)[:, :, 0]
    np.testing.assert_allclose(at_ref[known], np.broadcast_to(ref[:, None], at_ref.shape)[known], atol=1e-5)
    np.testing.assert_allclose(reference_probs(fast, codes), ref, atol=1e-5)


def test_rc_average_is_mean_of_forward_and_mapped_reverse_complement():
    preset, over, length = ARCHS["even-widths"]
    model = random_model(preset, over, length, seed=5)
    codes = random_codes(2, length, seed=5)
    start, end = 7, 60
    fwd = ism_naive(model, codes, start, end)
    rc = ism_naive(model, reverse_complement(codes), length - end, length - start)
    # RC window position j is forward position end - 1 - j; RC base b is forward base 3 - b
    want = 0.5 * (fwd + rc[:, ::-1, ::-1])
    got = ism(model, codes, start, end, rc_average=True)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    assert np.abs(got - fwd).max() > 1e-3  # the model is not RC-symmetric: averaging did something
    np.testing.assert_allclose(ism_naive(model, codes, start, end, rc_average=True), want, atol=1e-5)


def test_training_flag_restored_and_dropout_off():
    preset, over, length = ARCHS["basset-like"]
    model = random_model(preset, over, length)
    codes = random_codes(1, length)
    expected = ism(model, codes, 50, 60)
    model.train()
    got = ism(model, codes, 50, 60)
    assert model.training and all(m.training for m in model.modules())
    np.testing.assert_array_equal(got, expected)
    ism_naive(model, codes, 50, 52)
    assert model.training


def test_torch_codes_and_bad_windows():
    preset, over, length = ARCHS["one-layer"]
    model = random_model(preset, over, length)
    codes = random_codes(2, length)
    np.testing.assert_array_equal(ism(model, torch.as_tensor(codes), 3, 9), ism(model, codes, 3, 9))
    for start, end in ((5, 5), (-1, 4), (0, length + 1)):
        with pytest.raises(ValueError, match="start < end"):
            ism(model, codes, start, end)
    with pytest.raises(ValueError, match=r"\(N, L\)"):
        ism(model, codes[0])
    for fn in (ism, ism_naive):  # no sequences: an empty result of the right shape
        assert fn(model, codes[:0], 3, 9).shape == (0, 6, 4, 3)


def test_unsupported_model_is_refused():
    with pytest.raises(TypeError, match="BassetNet"):
        ism(torch.nn.Conv1d(4, 2, 3), np.zeros((1, 10), np.uint8))


def test_loss_gain_by_hand():
    # one sequence "AN" read from position 1 of "CAN", one target; ISM probabilities at the 2 window positions
    codes = np.array([[1, 0, 4]], np.uint8)
    probs = np.zeros((1, 2, 4, 1), np.float32)
    probs[0, 0, :, 0] = [0.5, 0.2, 0.9, 0.4]  # ref A = 0.5: worst drop to 0.2, best rise to 0.9
    probs[0, 1, :, 0] = [0.1, 0.3, 0.7, 0.6]  # N: no reference base
    loss, gain = loss_gain(probs, codes, start=1)
    assert loss.shape == gain.shape == (1, 2, 1) and loss.dtype == np.float32
    np.testing.assert_allclose(loss[0, :, 0], [0.3, 0.0], atol=1e-7)
    np.testing.assert_allclose(gain[0, :, 0], [0.4, 0.0], atol=1e-7)
    # when every substitution raises the prediction there is no loss (and no gain when all lower it)
    probs[0, 0, :, 0] = [0.5, 0.6, 0.7, 0.8]
    loss, gain = loss_gain(probs, codes, start=1)
    assert loss[0, 0, 0] == 0 and gain[0, 0, 0] == pytest.approx(0.3)
    probs[0, 0, :, 0] = [0.5, 0.4, 0.3, 0.2]
    loss, gain = loss_gain(probs, codes, start=1)
    assert loss[0, 0, 0] == pytest.approx(0.3) and gain[0, 0, 0] == 0
    # the reference base is never one of the "alternatives": a reference at the top gives no gain
    codes2 = np.array([[2, 0, 4]], np.uint8)  # ref G at window position 0 (start=0)
    probs[0, 0, :, 0] = [0.5, 0.2, 0.9, 0.4]
    loss, gain = loss_gain(probs, codes2)
    assert loss[0, 0, 0] == pytest.approx(0.7) and gain[0, 0, 0] == 0


def test_loss_gain_and_delta_on_model_output():
    preset, over, length = ARCHS["basset-like"]
    model = random_model(preset, over, length)
    codes = random_codes(2, length)
    start, end = 20, 80
    probs = ism(model, codes, start, end)
    loss, gain = loss_gain(probs, codes, start)
    assert loss.shape == gain.shape == (2, end - start, 3)
    assert (loss >= 0).all() and (gain >= 0).all() and (loss + gain > 0).any()
    is_n = codes[:, start:end] == 4
    assert is_n.any() and (loss[is_n] == 0).all() and (gain[is_n] == 0).all()
    ref = reference_probs(probs, codes, start)
    d = delta(probs, ref)
    assert d.shape == probs.shape
    # loss and gain are the extremes of the heat map away from the reference base
    k = ~is_n
    np.testing.assert_allclose(np.maximum(-d.min(2), 0)[k], loss[k], atol=1e-6)
    np.testing.assert_allclose(np.maximum(d.max(2), 0)[k], gain[k], atol=1e-6)
    with pytest.raises(ValueError, match="reference probabilities"):
        delta(probs, ref[:, :2])

"""Tests of basset.ism: fast ISM against naive ISM and against hand-made mutants, loss/gain scores."""

import numpy as np
import pytest
import torch

import basset.ism
from basset.ism import delta, ism, ism_naive, loss_gain, reference_probs, satmut_map
from basset.models import build_model, model_config
from basset.predict import predict_codes
from basset.sequence import one_hot, reverse_complement

# torch warns that "same" padding with an even width copies the input; the even widths are on purpose
pytestmark = [pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning"),
              pytest.mark.usefixtures("one_torch_thread")]

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
    # the basset preset pools in ceil mode (a partial last window kept): 600 bp ends in 13 positions; floor, 12
    "basset-600-floor": ("basset", dict(conv_filters=[6, 5, 4], dense_units=[8], dense_dropout=0.3,
                                        pool_ceil=False), 600),
    # ceil mode with a partial window at every pooling: 97 -> 33 -> 9 -> 3 (floor: 32 -> 8 -> 2)
    "ceil-partial-each": ("cpu", dict(conv_filters=[6, 5, 4], conv_widths=[5, 3, 3], conv_pools=[3, 4, 3],
                                      dense_units=[8], dense_dropout=0.0, pool_ceil=True), 97),
    # the paper's N: 0.25 in each channel (random_codes puts N in 10 % of the positions, and at both ends)
    "n-fill-quarter": ("basset", dict(conv_filters=[8, 6], conv_widths=[7, 4], conv_pools=[3, 2], conv_dropout=0.0,
                                      dense_units=[12], dense_dropout=0.0, n_fill=0.25), 90),
}



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
    assert spread > 4e-3  # mutations change the predictions (40x the tolerance), so agreement means something
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


class FakeNet(torch.nn.Module):
    """A hand-built net with BassetNet's anatomy (``conv`` blocks, ``dense``, ``output``) for a length of 20."""

    def __init__(self, blocks, dense_units=6, flat=None):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.ModuleList([torch.nn.Sequential(*b) for b in blocks])
        with torch.no_grad():
            flat = flat or self.conv_out(torch.zeros(1, 4, 20)).numel()
        self.dense = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(flat, dense_units), torch.nn.ReLU(),
                                         torch.nn.Dropout(0.5))
        self.output = torch.nn.Linear(dense_units, 2)

    def conv_out(self, x):
        for block in self.conv:
            x = block(x)
        return x

    def forward(self, x):
        return self.output(self.dense(self.conv_out(x)))


def test_unsupported_model_is_refused():
    with pytest.raises(TypeError, match="BassetNet"):
        ism(torch.nn.Conv1d(4, 2, 3), np.zeros((1, 10), np.uint8))
    nn = torch.nn
    refused = [  # (what the error says, the conv blocks)
        ("expected ReLU", [[nn.Conv1d(4, 3, 3, padding=1), nn.BatchNorm1d(3), nn.Tanh()]]),
        ("stride k", [[nn.Conv1d(4, 3, 3), nn.ReLU(), nn.MaxPool1d(4, stride=2)]]),
        ("stride k", [[nn.Conv1d(4, 3, 3), nn.ReLU(), nn.MaxPool1d(2, padding=1)]]),
        ("stride k", [[nn.Conv1d(4, 3, 3), nn.ReLU(), nn.MaxPool1d(2, dilation=2)]]),
        ("only stride 1", [[nn.Conv1d(4, 3, 3, stride=2), nn.ReLU()]]),
        ("only stride 1", [[nn.Conv1d(4, 3, 3, dilation=2), nn.ReLU()]]),
        ("only stride 1", [[nn.Conv1d(4, 4, 3, groups=2), nn.ReLU()]]),
        ("only stride 1", [[nn.Conv1d(4, 3, 3, padding=1, padding_mode="reflect"), nn.ReLU()]]),
        ("unsupported layers", [[nn.Conv1d(4, 3, 3), nn.ReLU(), nn.AvgPool1d(2)]]),
        ("unsupported layers", [[nn.Conv1d(4, 3, 3), nn.ReLU()], [nn.Linear(18, 18), nn.ReLU()]]),
    ]
    codes = random_codes(1, 20)
    for message, blocks in refused:
        with pytest.raises(NotImplementedError, match=message):
            ism(FakeNet(blocks), codes)
        assert ism_naive(FakeNet(blocks), codes, 0, 2).shape == (1, 2, 4, 2)  # any model works there
    net = FakeNet([[nn.Conv1d(4, 3, 3), nn.ReLU()]])
    net.dense = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(54, 6))
    with pytest.raises(NotImplementedError, match="feed a Linear layer"):
        ism(net, codes)


@pytest.mark.parametrize("padding", [0, 1, 2, "same", "valid"])
def test_hand_built_net_with_integer_padding(padding):
    """Integer padding, Dropout/Identity inside blocks, a block without pooling: fast = by hand."""
    nn = torch.nn
    net = FakeNet([[nn.Conv1d(4, 5, 4 if padding == "same" else 3, padding=padding), nn.ReLU(), nn.MaxPool1d(2),
                    nn.Dropout(0.3)],
                   [nn.Conv1d(5, 3, 2, padding=padding if padding != "same" else "valid"), nn.BatchNorm1d(3),
                    nn.Identity(), nn.ReLU()]])
    with torch.no_grad():
        for mod in net.modules():
            if isinstance(mod, (nn.Conv1d, nn.Linear)):
                mod.weight.mul_(3.0)
        net.conv[1][1].running_var.fill_(0.5)
    net.eval()
    codes = random_codes(2, 20, seed=3)
    want = hand_ism(net, codes)
    assert np.abs(want - want.mean(2, keepdims=True)).max() > 1e-2
    np.testing.assert_allclose(ism(net, codes, batch_size=16), want, atol=2e-5, rtol=0)


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
    assert (loss + gain > 1e-3).any()  # the model output moves: the checks below mean something
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


# ------------------------------------------------------------------------- tiny models, by hand
# One conv layer and a dense layer over positions: position-dependent (a shifted window changes the
# numbers) and not strand-symmetric (rc_average changes them). Odd length with an odd width and no pooling;
# even length with an even width and pooling by 2.
TINY = {
    9: dict(conv_filters=[4], conv_widths=[3], conv_pools=[0], conv_dropout=0.0, dense_units=[6], dense_dropout=0.0),
    10: dict(conv_filters=[4], conv_widths=[4], conv_pools=[2], conv_dropout=0.0, dense_units=[6],
             dense_dropout=0.0),
}


def tiny(length, seed=6):
    model = random_model("basset", TINY[length], length, n_targets=2, seed=seed)
    with torch.no_grad():  # larger weights: single substitutions move the predictions by ~0.1
        for mod in model.modules():
            if isinstance(mod, (torch.nn.Conv1d, torch.nn.Linear)):
                mod.weight.mul_(2.0)
    return model


def hand_ism(model, codes, rc=False):
    """ISM by writing out every mutant ``(N, L, 4, T)``: one forward pass of all of them (and of their reverse
    complements, averaged, with ``rc``)."""
    n, length = codes.shape
    mutants = np.repeat(np.repeat(codes[:, None, None, :], length, 1), 4, 2)  # (N, L, 4, L)
    for pos in range(length):
        for base in range(4):
            mutants[:, pos, base, pos] = base
    flat = mutants.reshape(-1, length)
    with torch.no_grad():
        p = torch.sigmoid(model(one_hot(torch.as_tensor(flat)))).numpy()
        if rc:
            rc_flat = np.ascontiguousarray(reverse_complement(flat))
            p = 0.5 * (p + torch.sigmoid(model(one_hot(torch.as_tensor(rc_flat)))).numpy())
    return p.reshape(n, length, 4, -1)


def windows(length):
    """(start, end) windows: even and odd widths, both edges, a single position."""
    return [(0, length), (0, 3), (0, 4), (length - 3, length), (length - 4, length), (2, 7), (3, 5), (4, 5)]


@pytest.mark.parametrize("rc", [False, True])
@pytest.mark.parametrize("length", [9, 10])
@pytest.mark.parametrize("fn", [ism, ism_naive])
def test_windows_against_every_mutant_by_hand(fn, length, rc):
    model = tiny(length)
    codes = random_codes(3, length, seed=length)
    want = hand_ism(model, codes, rc)
    # the toy model is position-dependent and strand-asymmetric: a wrong window or a dropped flag shows
    assert np.abs(want[:, 1:] - want[:, :-1]).max() > 1e-2
    assert np.abs(want - hand_ism(model, codes, not rc)).max() > 1e-2
    kw = {"rc_average": True} if rc else {}  # the default is no averaging
    for start, end in windows(length):
        got = fn(model, codes, start, end, **kw)
        assert got.shape == (3, end - start, 4, 2) and got.dtype == np.float32
        np.testing.assert_allclose(got, want[:, start:end], atol=2e-5, rtol=0, err_msg=f"[{start}, {end})")
    # defaults: the whole sequence; start alone runs to the end, end alone from 0
    np.testing.assert_allclose(fn(model, codes, **kw), want, atol=2e-5, rtol=0)
    np.testing.assert_allclose(fn(model, codes, start=5, **kw), want[:, 5:], atol=2e-5, rtol=0)
    np.testing.assert_allclose(fn(model, codes, end=2, **kw), want[:, :2], atol=2e-5, rtol=0)


def test_rc_average_is_the_mean_of_two_runs_at_the_edges():
    """rc_average = mean of the forward ISM and the ISM of the reverse complement (run in the test), mapped
    back: RC window [L - end, L - start), position reversed, base complemented."""
    length = 10
    model = tiny(length)
    codes = random_codes(2, length, seed=4)
    rc_codes = np.ascontiguousarray(reverse_complement(codes))
    for start, end in ((0, 3), (7, 10), (0, 10), (2, 6)):
        fwd = ism_naive(model, codes, start, end)
        back = ism_naive(model, rc_codes, length - end, length - start)
        want = 0.5 * (fwd + back[:, ::-1, ::-1])
        got = ism(model, codes, start, end, rc_average=True)
        np.testing.assert_allclose(got, want, atol=2e-5, rtol=0)
        assert np.abs(got - fwd).max() > 1e-2
        # without the flag the fast path is the forward run alone
        np.testing.assert_allclose(ism(model, codes, start, end, rc_average=False), fwd, atol=2e-5, rtol=0)


@pytest.mark.parametrize("batch_size", [1, 5, 7])
@pytest.mark.parametrize("cache_floats", [1, 200])
def test_sequence_groups_and_small_batches(batch_size, cache_floats, monkeypatch):
    """Reference activations cached for groups of 1 or 2 sequences (uneven last group), batches of a single
    position and batches splitting the 4 substitutions of N positions: the same numbers."""
    length = 9
    model = tiny(length)
    codes = random_codes(5, length, seed=6, p_n=0.3)
    want = hand_ism(model, codes)
    monkeypatch.setattr(basset.ism, "_CACHE_FLOATS", cache_floats)
    np.testing.assert_allclose(ism(model, codes, batch_size=batch_size), want, atol=2e-5, rtol=0)
    np.testing.assert_allclose(ism(model, codes, 2, 8, batch_size=batch_size), want[:, 2:8], atol=2e-5, rtol=0)
    np.testing.assert_allclose(ism_naive(model, codes, 1, 6, batch_size=batch_size), want[:, 1:6], atol=2e-5,
                               rtol=0)


class _Bar:
    """Stands in for the progress bar: records its total, whether it is shown and its updates."""

    made = []

    def __init__(self, total, enabled=True, desc=None, unit="it"):
        self.total, self.enabled, self.count, self.closed = total, enabled, 0, False
        self.desc, self.unit = desc, unit
        _Bar.made.append(self)

    def update(self, k):
        self.count += int(k)

    def close(self):
        self.closed = True


@pytest.mark.parametrize("rc", [False, True])
@pytest.mark.parametrize("fn", [ism, ism_naive])
def test_progress_counts_every_mutant(fn, rc, monkeypatch):
    length = 10
    model = tiny(length)
    codes = random_codes(3, length, seed=1, p_n=0.3)
    start, end = 2, 9
    n_mutants = 3 * (end - start) * 3 + int((codes[:, start:end] == 4).sum())  # ACGT: 3 each; N: 4
    assert (codes[:, start:end] == 4).sum() >= 2
    for progress in (False, True):
        _Bar.made = []
        monkeypatch.setattr(basset.ism, "progress_bar", _Bar)
        fn(model, codes, start, end, rc_average=rc, progress=progress, batch_size=8)
        assert sum(b.total for b in _Bar.made) == n_mutants * (1 + rc)
        assert all(b.count == b.total and b.closed and b.enabled == progress for b in _Bar.made)


def test_codes_out_of_range_are_refused():
    model = tiny(9)
    codes = random_codes(1, 9)
    codes[0, 3] = 5
    for fn in (ism, ism_naive):
        with pytest.raises(ValueError, match=r"codes must be 0\.\.4"):
            fn(model, codes)
        with pytest.raises(ValueError, match=r"expected \(N, L\) codes"):
            fn(model, codes[None])
    codes[0, 3] = 4  # N is a valid code
    assert ism(model, codes, 3, 4).shape == (1, 1, 4, 2)


# ------------------------------------------------------------------------------------ summaries by hand
def test_reference_probs_by_hand():
    rng = np.random.default_rng(0)
    probs = rng.random((3, 4, 4, 2)).astype(np.float32)
    #                  window [2, 6): ACGT    NNGC          NNNN
    codes = np.array([[4, 4, 0, 1, 2, 3], [0, 1, 4, 4, 2, 1], [0, 0, 4, 4, 4, 4]], np.uint8)
    ref = reference_probs(probs, codes, start=2)
    assert ref.shape == (3, 2) and ref.dtype == np.float32
    np.testing.assert_array_equal(ref[0], probs[0, 0, 0])  # first window position, base A
    np.testing.assert_array_equal(ref[1], probs[1, 2, 2])  # the first non-N position (2), base G
    assert np.isnan(ref[2]).all()  # only N: no reference
    # the default window starts at 0
    np.testing.assert_array_equal(reference_probs(probs, codes[:, 2:]), ref)
    np.testing.assert_array_equal(reference_probs(probs[:2], codes[:2, :4])[1], probs[1, 0, 0])
    with pytest.raises(ValueError, match="outside"):
        reference_probs(probs, codes, start=3)
    with pytest.raises(ValueError, match="outside"):
        reference_probs(probs, codes, start=-1)


def test_loss_gain_by_hand_on_a_random_matrix():
    rng = np.random.default_rng(9)
    N, L, W, T, start = 3, 12, 7, 4, 3
    probs = rng.random((N, W, 4, T)).astype(np.float32)
    codes = rng.integers(0, 5, (N, L)).astype(np.uint8)
    codes[1, start + 2] = 4
    loss, gain = loss_gain(probs, codes, start)
    assert loss.shape == gain.shape == (N, W, T) and loss.dtype == gain.dtype == np.float32
    for n in range(N):
        for i in range(W):
            b = codes[n, start + i]
            for t in range(T):
                if b == 4:  # N: no reference base, no evidence
                    want_loss = want_gain = 0.0
                else:
                    ref, alts = probs[n, i, b, t], [probs[n, i, a, t] for a in range(4) if a != b]
                    want_loss, want_gain = max(0.0, ref - min(alts)), max(0.0, max(alts) - ref)
                assert loss[n, i, t] == pytest.approx(want_loss, abs=1e-7)
                assert gain[n, i, t] == pytest.approx(want_gain, abs=1e-7)
    assert (loss > 0.1).any() and (gain > 0.1).any()
    with pytest.raises(ValueError, match="expected ISM probabilities"):
        loss_gain(probs[..., 0], codes, start)
    with pytest.raises(ValueError, match="expected ISM probabilities"):
        loss_gain(probs[:, :, :3], codes, start)
    with pytest.raises(ValueError, match="2 sequences but ISM for 3"):
        loss_gain(probs, codes[:2], start)
    with pytest.raises(ValueError, match="outside"):
        loss_gain(probs, codes, L - W + 1)


def test_delta_and_satmut_map_by_hand():
    probs = np.zeros((1, 3, 4, 2), np.float32)
    probs[0, :, :, 0] = [[0.1, 0.2, 0.3, 0.4], [0.6, 0.7, 0.8, 0.9], [0.5, 0.5, 0.5, 0.5]]
    probs[0, :, :, 1] = [[0.9, 0.8, 0.3, 0.4], [0.2, 0.4, 0.7, 0.1], [0.3, 0.6, 0.1, 0.6]]
    codes = np.array([4, 2, 1], np.uint8)  # N, G, C: the reference is read at position 1 (G)
    ref = np.array([[0.8, 0.7]], np.float32)
    d = delta(probs, ref)
    np.testing.assert_allclose(d[0, :, :, 1], [[0.2, 0.1, -0.4, -0.3], [-0.5, -0.3, 0.0, -0.6],
                                               [-0.4, -0.1, -0.6, -0.1]], atol=1e-7)
    np.testing.assert_allclose(d[0, :, :, 0], probs[0, :, :, 0] - 0.8, atol=1e-7)
    with pytest.raises(ValueError, match="reference probabilities"):
        delta(probs, ref.T)
    m = satmut_map(probs, codes, target=1, start=17, label="cellA", mark=2)
    assert set(m) == {"codes", "delta", "loss", "gain", "start", "label", "mark"}
    np.testing.assert_array_equal(m["codes"], codes)
    np.testing.assert_allclose(m["delta"], d[0, :, :, 1], atol=1e-7)
    # target 1: position 0 is N (0, 0); G 0.7 -> min 0.1 (T), max 0.4 (C); C 0.6 -> min 0.1, no gain
    np.testing.assert_allclose(m["loss"], [0.0, 0.6, 0.5], atol=1e-7)
    np.testing.assert_allclose(m["gain"], [0.0, 0.0, 0.0], atol=1e-7)
    assert (m["start"], m["label"], m["mark"]) == (17, "cellA", 2)
    m = satmut_map(probs, codes, target=0)
    assert (m["start"], m["label"], m["mark"]) == (0, "", None)
    np.testing.assert_allclose(m["loss"], [0.0, 0.2, 0.0], atol=1e-7)
    np.testing.assert_allclose(m["gain"], [0.0, 0.1, 0.0], atol=1e-7)


@pytest.mark.parametrize(("fn", "desc"), [(ism, "ISM"), (ism_naive, "ISM (naive)")])
def test_progress_bar_is_off_by_default_and_labelled(fn, desc, monkeypatch):
    model = tiny(9)
    codes = random_codes(2, 9, seed=2, p_n=0.0)
    codes[0, 0] = codes[0, -1] = 2  # no N: 3 substitutions at each position
    _Bar.made = []
    monkeypatch.setattr(basset.ism, "progress_bar", _Bar)
    fn(model, codes)
    assert [(b.total, b.enabled, b.desc, b.unit) for b in _Bar.made] == [(2 * 9 * 3, False, desc, "mutant")]


def test_more_sequences_than_positions_in_small_batches():
    """Reference predictions come in batches of sequences: with more sequences (14) than positions (9) every
    sequence still gets its own, checked against whole-model predictions."""
    model = tiny(9)
    codes = random_codes(14, 9, seed=3, p_n=0.0)
    codes[0, 0] = codes[0, -1] = 1
    want = predict_codes(model, codes, rc_average=False)
    for fn in (ism, ism_naive):
        out = fn(model, codes, batch_size=4)
        np.testing.assert_allclose(reference_probs(out, codes), want, rtol=1e-5, atol=1e-6)


def test_summaries_keep_float32_whatever_the_input():
    """float64 ISM output (or reference predictions) gives the float32 results that the float32 input gives."""
    rng = np.random.default_rng(4)
    probs = rng.random((2, 3, 4, 2)) + 2.0 ** -30  # float64 detail below float32 resolution
    codes = np.array([[0, 1, 2], [3, 4, 0]], np.uint8)
    ref64 = rng.random((2, 2))
    for got, want in ((loss_gain(probs, codes), loss_gain(probs.astype(np.float32), codes)),
                      ((delta(probs, ref64),), (delta(probs.astype(np.float32), ref64.astype(np.float32)),))):
        for g, w in zip(got, want):
            assert g.dtype == np.float32
            np.testing.assert_array_equal(g, w)


def test_satmut_map_of_a_list_gives_uint8_codes():
    probs = np.random.default_rng(5).random((1, 3, 4, 2)).astype(np.float32)
    m = satmut_map(probs, [0, 1, 3], target=1)
    assert m["codes"].dtype == np.uint8 and m["codes"].tolist() == [0, 1, 3]


def test_summary_errors_name_the_shapes():
    probs = np.zeros((2, 3, 4, 5), np.float32)
    with pytest.raises(ValueError, match=r"^expected reference probabilities \(2, 5\), got \(3, 5\)$"):
        delta(probs, np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"^window \[4, 7\) outside sequences of 6 bp$"):
        loss_gain(probs[:, :3], np.zeros((2, 6), np.uint8), start=4)


def test_models_missing_a_part_or_with_layers_after_the_pool_are_refused_by_name():
    nn = torch.nn
    for missing in ("conv", "dense", "output"):
        net = FakeNet([[nn.Conv1d(4, 3, 3), nn.ReLU()]])
        delattr(net, missing)
        with pytest.raises(TypeError, match=r"^expected a BassetNet \(conv, dense, output\), got FakeNet$"):
            ism(net, random_codes(1, 20))
    net = FakeNet([[nn.Conv1d(4, 3, 3), nn.ReLU(), nn.MaxPool1d(2), nn.Tanh()]])
    with pytest.raises(NotImplementedError,
                       match=r"^conv block 0: unsupported layers \['Conv1d', 'ReLU', 'MaxPool1d', 'Tanh'\]$"):
        ism(net, random_codes(1, 20))
    net = FakeNet([[nn.Conv1d(4, 3, 3), nn.ReLU()]])
    net.dense = nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Linear(54, 6))
    with pytest.raises(NotImplementedError, match="^expected the flattened conv output to feed a Linear layer$"):
        ism(net, random_codes(1, 20))


@pytest.mark.parametrize("batch_norm", [False, True])
def test_width_one_filters_and_a_single_output_position(batch_norm):
    """A first layer of width-1 filters, and a stack whose last layer has exactly one output position (the
    shortest input the model takes): fast ISM equals naive ISM; one base shorter is refused by name."""
    nn = torch.nn
    blocks = [[nn.Conv1d(4, 3, 1), *([nn.BatchNorm1d(3)] if batch_norm else []), nn.ReLU(), nn.MaxPool1d(2)],
              [nn.Conv1d(3, 2, 5), nn.ReLU()]]
    net = FakeNet(blocks, flat=2).eval()  # 12 bp -> 6 pooled -> 2 after width 5; 10 bp -> 1 position
    net.dense = nn.Sequential(nn.Flatten(), nn.Linear(2, 6), nn.ReLU())
    for length, flat in ((12, 4), (10, 2)):
        net.dense[1] = nn.Linear(flat, 6)
        codes = random_codes(3, length, seed=length, p_n=0.1)
        np.testing.assert_allclose(ism(net, codes), ism_naive(net, codes), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"^input of 9 bp is too short for the model's conv/pool stack$"):
        ism(net, random_codes(1, 9))

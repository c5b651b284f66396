"""Tests of basset.models: presets, config validation, layer arithmetic and padding, max-norm, save/load."""

import os
import pickle
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import basset
from basset.errors import ConfigError, InputError
from basset.models import (
    PRESETS,
    BassetNet,
    apply_max_norm,
    atomic_save,
    build_model,
    conv_padding,
    count_parameters,
    cpu_state,
    eval_mode,
    first_block_tail,
    first_layer_geometry,
    flat_length,
    load_model,
    model_config,
    model_seq_len,
    rest_of_network,
    save_model,
    unwrap,
)
from basset.sequence import one_hot
from basset.train import loss_fn

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = dict(
    seq_len=60,
    conv_filters=[8, 6],
    conv_widths=[7, 3],
    conv_pools=[3, 2],
    conv_dropout=0.1,
    dense_units=[16],
    dense_dropout=0.2,
    batch_norm=True,
)



def tiny(**over):
    return model_config("cpu", **{**TINY, **over})


def codes(n, length, seed=0):
    return torch.randint(0, 4, (n, length), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_shapes(preset):
    cfg = model_config(preset)
    torch.manual_seed(0)
    model = build_model(cfg, 5).eval()
    x = one_hot(torch.randint(0, 5, (2, cfg["seq_len"]), dtype=torch.uint8))
    with torch.no_grad():
        assert model(x).shape == (2, 5)
        first = model.first_layer(x)
    width = cfg["conv_widths"][0]
    length = cfg["seq_len"] if cfg["conv_padding"] == "same" else cfg["seq_len"] - width + 1
    assert first.shape == (2, cfg["conv_filters"][0], length)
    assert (first >= 0).all()  # after ReLU


def test_basset_preset_is_the_paper():
    cfg = model_config("basset")
    assert cfg["conv_filters"] == [300, 200, 200] and cfg["conv_widths"] == [19, 11, 7]
    assert cfg["conv_pools"] == [3, 4, 4] and cfg["dense_units"] == [1000, 1000]
    assert cfg["dense_dropout"] == [0.3, 0.3] and cfg["batch_norm"] and cfg["seq_len"] == 600
    assert cfg["conv_padding"] == "same" and cfg["conv_dropout"] == [0.0, 0.0, 0.0]
    # Torch7's ceil pooling: 600 -> 200 -> 50 -> 13 positions x 200 filters = 2,600 inputs to the first dense
    # layer, as the published model (shared/reference/basset_pretrained_params.txt); floor pooling gives 12
    assert cfg["pool_ceil"] and flat_length(cfg) == 13
    model = build_model(cfg, 164)
    assert model.dense[1].in_features == 2600 and model.dense[1].out_features == 1000
    x = one_hot(torch.randint(0, 4, (2, 600), dtype=torch.uint8))
    with torch.no_grad():
        h = x
        for block in model.conv:
            h = block(h)
    assert h.shape == (2, 200, 13)
    assert build_model(model_config("basset", pool_ceil=False), 164).dense[1].in_features == 2400


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"^model\.conv_filterz"):
        model_config("basset", conv_filterz=[1])
    with pytest.raises(ConfigError, match=r"^model\.conv_widths"):
        model_config("basset", conv_filters=[10, 10])
    with pytest.raises(ConfigError, match=r"^model\.dense_dropout"):
        model_config("basset", dense_dropout=[0.1])
    with pytest.raises(ConfigError, match=r"^model\.preset"):
        model_config("nope")
    with pytest.raises(ConfigError, match=r"^model\.seq_len"):
        model_config("basset", seq_len=20, pool_ceil=False)  # 20 -> 6 -> 1 -> 0 positions
    assert model_config("basset", seq_len=20)["pool_ceil"]  # ceil: 20 -> 7 -> 2 -> 1, enough
    with pytest.raises(ConfigError, match=r"^model\.pool_ceil: expected true or false"):
        model_config("cpu", pool_ceil="yes")
    # None means "the preset's default"; scalar dropout applies to every layer
    cfg = model_config("basset", seq_len=None, conv_dropout=0.1)
    assert cfg["seq_len"] == 600 and cfg["conv_dropout"] == [0.1, 0.1, 0.1]


def test_build_model_needs_a_target():
    for n in (0, -2):
        with pytest.raises(ValueError, match=rf"^n_targets must be >= 1, got {n}$"):
            build_model(tiny(), n)
    assert build_model(tiny(), 1).output.out_features == 1


def test_a_config_is_settings_not_a_preset():
    """build_model and BassetNet take model_config's settings (over the basset preset); a ``preset`` key in the
    dict is refused, never read as the preset to start from."""
    cfg = {**tiny(), "preset": "cpu"}
    for make in (build_model, BassetNet):
        with pytest.raises(TypeError, match="preset"):
            make(cfg, 2)


# ------------------------------------------------------------------------------------------- layers
def test_layers_follow_the_config():
    """Each conv block is Conv -> [BN] -> ReLU -> [MaxPool(p) if p > 1] -> [Dropout(d) if d > 0], as configured."""
    model = build_model(tiny(conv_pools=[3, 1], conv_dropout=[0.0, 0.25], dense_dropout=[0.4]), 3)
    kinds = [[type(m).__name__ for m in block] for block in model.conv]
    assert kinds == [["Conv1d", "BatchNorm1d", "ReLU", "MaxPool1d"], ["Conv1d", "BatchNorm1d", "ReLU", "Dropout"]]
    assert model.conv[0][3].kernel_size == model.conv[0][3].stride == 3
    assert model.conv[1][3].p == 0.25
    conv0, conv1 = model.conv[0][0], model.conv[1][0]
    assert (conv0.in_channels, conv0.out_channels, conv0.kernel_size) == (4, 8, (7,))
    assert (conv1.in_channels, conv1.out_channels, conv1.kernel_size) == (8, 6, (3,))
    dense = [type(m).__name__ for m in model.dense]
    assert dense == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout"] and model.dense[4].p == 0.4
    assert (model.output.in_features, model.output.out_features) == (16, 3) and model.n_targets == 3
    plain = build_model(tiny(batch_norm=False, conv_dropout=0.0, dense_dropout=0.0), 2)
    assert not any(isinstance(m, nn.BatchNorm1d | nn.Dropout) for m in plain.modules())
    assert [type(m).__name__ for m in plain.dense] == ["Flatten", "Linear", "ReLU"]


# lengths after each conv block, by hand: "valid" L -> L - w + 1, "same" L -> L; pool p: L -> floor(L / p)
@pytest.mark.parametrize(
    "seq_len, widths, pools, padding, lengths, ceil",
    [
        (61, [6, 3], [3, 2], "valid", [18, 8], False),  # 61-5=56 -> 18; 18-2=16 -> 8
        (61, [6, 3], [3, 2], "same", [20, 10], False),  # 61 -> 20; 20 -> 10
        (60, [7, 4], [4, 1], "valid", [13, 10], False),  # 60-6=54 -> 13; 13-3=10 (pool 1: none)
        (60, [7, 4], [4, 1], "same", [15, 15], False),  # 60 -> 15; 15
        (64, [8, 5], [2, 3], "valid", [28, 8], False),  # 64-7=57 -> 28; 28-4=24 -> 8
        (64, [8, 5], [2, 3], "same", [32, 10], False),  # 64 -> 32; 32 -> 10 (floor)
        (61, [6, 3], [3, 2], "valid", [19, 9], True),  # ceil: 56 -> 19; 19-2=17 -> 9
        (64, [8, 5], [2, 3], "same", [32, 11], True),  # ceil: 64 -> 32; 32 -> 11
        (60, [7, 4], [4, 1], "same", [15, 15], True),  # ceil with exact windows: as floor
    ],
)
def test_lengths_through_the_conv_stack(seq_len, widths, pools, padding, lengths, ceil):
    cfg = tiny(seq_len=seq_len, conv_widths=widths, conv_pools=pools, conv_padding=padding, pool_ceil=ceil)
    assert flat_length(cfg) == lengths[-1]
    torch.manual_seed(0)
    model = build_model(cfg, 2).eval()
    h = one_hot(codes(3, seq_len))
    seen = []
    with torch.no_grad():
        for block in model.conv:
            h = block(h)
            seen.append(h.shape[-1])
        assert model(one_hot(codes(3, seq_len))).shape == (3, 2)
    assert seen == lengths
    assert model.dense[1].in_features == cfg["conv_filters"][-1] * lengths[-1]


@pytest.mark.parametrize("width, expected", [(1, (0, 0)), (2, (0, 1)), (3, (1, 1)), (4, (1, 2)), (5, (2, 2)),
                                             (8, (3, 4)), (19, (9, 9))])
def test_conv_padding_same_is_what_pytorch_pads(width, expected):
    """``"same"``: ``w - 1`` zeros, the odd one on the right; checked against PyTorch's own output."""
    torch.manual_seed(0)
    conv = nn.Conv1d(4, 3, width, padding="same")
    assert conv_padding(conv) == expected
    x = torch.randn(2, 4, 13)
    unpadded = nn.Conv1d(4, 3, width)
    unpadded.load_state_dict(conv.state_dict())
    with torch.no_grad():
        assert torch.allclose(conv(x), unpadded(F.pad(x, expected)), atol=1e-6)


def test_conv_padding_valid_and_integer():
    assert conv_padding(nn.Conv1d(4, 3, 6, padding="valid")) == (0, 0)
    assert conv_padding(nn.Conv1d(4, 3, 6)) == (0, 0)
    assert conv_padding(nn.Conv1d(4, 3, 5, padding=2)) == (2, 2)
    assert conv_padding(nn.Conv1d(4, 3, 4, padding=3)) == (3, 3)


@pytest.mark.parametrize("width", [4, 5])
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_first_layer_position_i_sees_the_window_starting_at_i_minus_left(width, padding):
    """first_layer_geometry's ``(w, left)``: changing base ``j`` changes exactly the first-layer positions ``i``
    with ``i - left <= j < i - left + w``; the first layer is ``L`` long ("same") or ``L - w + 1`` ("valid")."""
    L = 23
    torch.manual_seed(0)
    model = build_model(tiny(seq_len=L, conv_widths=[width, 3], conv_pools=[2, 1], conv_padding=padding,
                             batch_norm=False, conv_dropout=0.0), 1).eval()
    with torch.no_grad():
        model.conv[0][0].bias.fill_(100.0)  # every pre-activation positive: the ReLU passes every change
    w, left = first_layer_geometry(model)
    assert (w, left) == (width, (width - 1) // 2 if padding == "same" else 0)
    assert first_layer_geometry(Wrapper(model)) == (w, left)
    x = codes(1, L, seed=1)
    with torch.no_grad():
        base = model.first_layer(one_hot(x))
        assert base.shape == (1, 8, L if padding == "same" else L - width + 1)
        for j in (0, 1, 11, L - 2, L - 1):
            y = x.clone()
            y[0, j] = (y[0, j] + 1) % 4
            changed = (model.first_layer(one_hot(y)) != base).any(dim=1)[0]
            expected = [i - left <= j < i - left + w for i in range(base.shape[-1])]
            assert changed.tolist() == expected, j


class Wrapper(nn.Module):
    """A stand-in for DistributedDataParallel (``.module``) and torch.compile (``._orig_mod``)."""

    def __init__(self, model, attr="module"):
        super().__init__()
        setattr(self, attr, model)


def test_first_layer_and_rest_of_network_make_the_forward_pass():
    torch.manual_seed(0)
    model = build_model(tiny(), 3).eval()
    assert [type(m).__name__ for m in first_block_tail(model)] == ["MaxPool1d", "Dropout"]
    x = one_hot(codes(4, 60))
    with torch.no_grad():
        first = model.first_layer(x)
        assert torch.equal(first, model.conv[0][2](model.conv[0][1](model.conv[0][0](x))))  # conv, BN, ReLU
        assert torch.allclose(rest_of_network(model, first), model(x), atol=1e-6)
    unpooled = build_model(tiny(conv_pools=[1, 2], conv_dropout=0.5), 3).train()  # dropout right after the ReLU
    with torch.no_grad():
        first = unpooled.first_layer(x)  # stops before the dropout, also in train mode
        assert torch.equal(first, unpooled.conv[0][2](unpooled.conv[0][1](unpooled.conv[0][0](x))))
        assert [type(m).__name__ for m in first_block_tail(unpooled)] == ["Dropout"]


@pytest.mark.parametrize("batch_norm", [True, False])
def test_one_conv_layer_network_splits_after_its_relu(batch_norm):
    """With a single conv block, the tail after the first ReLU is that block's pooling, then the dense layers."""
    torch.manual_seed(0)
    cfg = tiny(conv_filters=[5], conv_widths=[5], conv_pools=[4], conv_dropout=0.0, batch_norm=batch_norm)
    model = build_model(cfg, 2).eval()
    assert [type(m).__name__ for m in first_block_tail(model)] == ["MaxPool1d"]
    x = one_hot(codes(3, 60))
    with torch.no_grad():
        first = model.first_layer(x)
        by_hand = model.output(model.dense(F.max_pool1d(first, 4)))  # pool 4, flatten, dense, output
        assert torch.allclose(rest_of_network(model, first), by_hand, atol=1e-6)
        assert torch.allclose(rest_of_network(model, first), model(x), atol=1e-6)


def test_a_first_block_without_relu_is_refused():
    model = build_model(tiny(), 2).eval()
    model.conv[0][2] = nn.ELU()  # conv, BN, ELU: no ReLU to split the network at
    h = torch.rand(1, 8, 60)
    with pytest.raises(ValueError, match=r"^the first conv block has no ReLU$"):
        first_block_tail(model)
    with pytest.raises(ValueError, match=r"^the first conv block has no ReLU$"):
        rest_of_network(model, h)


def test_unwrap_and_model_seq_len():
    model = build_model(tiny(seq_len=61), 2)
    assert unwrap(model) is model
    assert unwrap(Wrapper(model)) is model
    assert unwrap(Wrapper(model, "_orig_mod")) is model
    assert unwrap(Wrapper(Wrapper(model, "_orig_mod"))) is model  # DDP around a compiled model
    assert model_seq_len(model) == 61 and model_seq_len(Wrapper(model)) == 61
    assert model_seq_len(nn.Linear(3, 2)) is None
    odd = nn.Linear(3, 2)
    odd.config = {"conv_filters": [3]}
    assert model_seq_len(odd) is None
    odd.config = "seq_len"
    assert model_seq_len(odd) is None


def test_count_parameters_by_hand():
    model = build_model(tiny(), 3)
    conv = (8 * 4 * 7 + 8) + 2 * 8 + (6 * 8 * 3 + 6) + 2 * 6  # conv 0, its BN (weight, bias), conv 1, its BN
    flat = 6 * ((60 // 3) // 2)  # same padding: 60 -> 20 -> 10 positions of 6 filters
    dense = (flat * 16 + 16) + 2 * 16 + (16 * 3 + 3)
    assert count_parameters(model) == conv + dense
    model.output.weight.requires_grad_(False)  # frozen parameters are not counted
    assert count_parameters(model) == conv + dense - 16 * 3


def test_eval_mode_restores_the_training_flag():
    model = build_model(tiny(), 2)
    model.train()
    with eval_mode(model) as m:
        assert m is model and not model.training and not model.conv[0][1].training
    assert model.training and model.conv[0][1].training
    model.eval()
    with pytest.raises(RuntimeError), eval_mode(model):
        raise RuntimeError
    assert not model.training


def test_cpu_state_is_a_detached_copy():
    torch.manual_seed(0)
    model = build_model(tiny(), 2)
    state = cpu_state(Wrapper(model))
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        model.output.weight.add_(1.0)
    assert not torch.equal(state["output.weight"], model.output.weight)


# -------------------------------------------------------------------------------------------- max norm
def test_training_steps_reduce_loss_and_max_norm_holds():
    torch.manual_seed(0)
    model = build_model(tiny(dense_dropout=0.0, conv_dropout=0.0), 3)
    x = torch.randint(0, 4, (32, 60), dtype=torch.uint8)
    targets = (x[:, :3] == 1).to(torch.uint8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss_fn(model, x, targets).item()
    for _ in range(10):
        opt.zero_grad()
        loss_fn(model, x, targets).backward()
        opt.step()
        apply_max_norm(model, 0.5)
    assert loss_fn(model, x, targets).item() < first
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)):
            norms = m.weight.flatten(1).norm(dim=1)
            assert (norms <= 0.5 + 1e-5).all()


def test_max_norm_rescales_only_the_rows_above_it():
    """Rows of Conv1d/Linear weights above the norm are scaled down to it (same direction); rows below it,
    biases and batch-norm parameters are untouched; ``None`` and ``0`` do nothing."""
    torch.manual_seed(0)
    model = build_model(tiny(), 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    limit = 0.5
    apply_max_norm(model, limit)
    after = model.state_dict()
    rescaled = 0
    for name, old in before.items():
        new = after[name]
        weight_of = name.endswith("weight") and old.dim() > 1  # Conv1d / Linear weights
        if not weight_of:
            assert torch.equal(old, new), name
            continue
        norms = old.flatten(1).norm(dim=1)
        for row, norm in enumerate(norms):
            if norm > limit:
                assert torch.allclose(new[row], old[row] * (limit / norm), rtol=1e-4), (name, row)
                assert new[row].norm() == pytest.approx(limit, rel=1e-4)
                rescaled += 1
            else:
                assert torch.equal(new[row], old[row]), (name, row)
    assert rescaled > 0 and rescaled < sum(v.shape[0] for k, v in before.items() if v.dim() > 1)
    for off in (None, 0, 0.0):
        state = {k: v.clone() for k, v in model.state_dict().items()}
        with torch.no_grad():
            model.output.weight.mul_(100.0)
        big = model.output.weight.clone()
        apply_max_norm(model, off)
        assert torch.equal(model.output.weight, big)
        model.load_state_dict(state)


# ------------------------------------------------------------------------------------------- save/load
def trained_tiny():
    torch.manual_seed(0)
    model = build_model(tiny(), 3)
    model.train()
    model(one_hot(codes(8, 60)))  # move the batch-norm running stats
    return model.eval()


def test_save_load_round_trip(tmp_path):
    model = trained_tiny()
    path = tmp_path / "model.pt"
    save_model(path, model, ["a", "b", "c"], {"epoch": 4})
    raw = torch.load(path, weights_only=True)
    assert raw["target_names"] == ["a", "b", "c"] and raw["n_targets"] == 3 and raw["epoch"] == 4
    assert raw["config"] == model.config and raw["basset_version"] == basset.__version__
    assert all(torch.equal(raw["state_dict"][k], v) for k, v in model.state_dict().items())
    loaded, meta = load_model(path)
    assert not loaded.training and loaded.n_targets == 3
    assert meta["config"] == model.config and "state_dict" not in meta and meta["epoch"] == 4
    assert meta["target_names"] == ["a", "b", "c"]
    x = one_hot(torch.randint(0, 5, (4, 60), dtype=torch.uint8))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    with pytest.raises(ValueError, match="1 target names for a model with 3 outputs"):
        save_model(path, model, ["a"])
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left


def test_fill_n_puts_the_value_in_every_channel_of_an_n():
    """An all-zero column (N) gets 0.25 in each channel, bases are unchanged; a model with n_fill 0.25 gives
    the same logits as one without it fed that input by hand (same weights)."""
    from basset.models import fill_n

    x = one_hot(torch.tensor([[0, 4, 3, 4]], dtype=torch.uint8))
    want = torch.tensor([[[1, 0.25, 0, 0.25], [0, 0.25, 0, 0.25], [0, 0.25, 0, 0.25], [0, 0.25, 1, 0.25]]])
    assert torch.equal(fill_n(x, 0.25), want) and fill_n(x, 0.0) is x
    torch.manual_seed(0)
    plain = build_model(tiny(), 3).eval()
    filled = build_model(tiny(n_fill=0.25), 3).eval()
    filled.load_state_dict(plain.state_dict())
    c = codes(3, 60)
    c[:, ::7] = 4
    with torch.no_grad():
        assert torch.allclose(filled(one_hot(c)), plain(fill_n(one_hot(c), 0.25)))
        assert not torch.allclose(filled(one_hot(c)), plain(one_hot(c)), atol=1e-4)
        assert torch.allclose(filled.first_layer(one_hot(c)), plain.first_layer(fill_n(one_hot(c), 0.25)))
    with pytest.raises(ConfigError, match=r"^model\.n_fill"):
        model_config("cpu", n_fill=2)


def test_a_model_saved_before_pool_ceil_loads_with_floor_pooling(tmp_path):
    """Files written before pool_ceil existed have no such key: they pooled with floor, whatever their preset
    (the basset preset's default is now ceil), so they load as floor models, and meta says so."""
    model = build_model(model_config("basset", conv_filters=[6, 5, 4], dense_units=[8], dense_dropout=0.3,
                                     pool_ceil=False), 2)
    path = tmp_path / "old.pt"
    save_model(path, model, ["a", "b"])
    raw = torch.load(path, weights_only=True)
    del raw["config"]["pool_ceil"]
    torch.save(raw, path)
    loaded, meta = load_model(path)
    assert meta["config"]["pool_ceil"] is False and loaded.dense[1].in_features == 4 * 12
    x = one_hot(torch.randint(0, 4, (2, 600), dtype=torch.uint8))
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded(x))


def test_save_model_writes_the_given_state(tmp_path):
    """``state=``: those weights (an earlier epoch's) are written, the model gives only the architecture."""
    model = trained_tiny()
    earlier = cpu_state(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    save_model(tmp_path / "m.pt", Wrapper(model), ("a", "b", "c"), state=earlier)
    saved = torch.load(tmp_path / "m.pt", weights_only=True)
    assert saved["target_names"] == ["a", "b", "c"] and saved["n_targets"] == 3
    assert all(torch.equal(saved["state_dict"][k], v) for k, v in earlier.items())
    assert not torch.equal(saved["state_dict"]["output.weight"], model.output.weight)


def test_load_model_refuses_bad_files_naming_them(tmp_path):
    model = trained_tiny()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match=f"^{bad}: not a readable basset model"):
        load_model(bad)
    crafted = tmp_path / "crafted.pt"  # a pickle that would run code: refused by weights_only
    crafted.write_bytes(pickle.dumps(os.getcwd))
    with pytest.raises(InputError, match=f"^{crafted}: not a readable basset model"):
        load_model(crafted)
    partial = tmp_path / "partial.pt"
    torch.save({"state_dict": model.state_dict(), "n_targets": 3}, partial)
    with pytest.raises(InputError, match=f"^{partial}: not a basset model file: missing config$"):
        load_model(partial)
    listed = tmp_path / "list.pt"
    torch.save([1, 2], listed)
    with pytest.raises(InputError, match="missing state_dict, config, n_targets$"):
        load_model(listed)
    other = tmp_path / "other.pt"  # weights of another architecture
    save_model(other, model, ["a", "b", "c"])
    raw = torch.load(other, weights_only=True)
    raw["config"] = tiny(conv_filters=[4, 6])
    torch.save(raw, other)
    with pytest.raises(InputError, match=f"^{other}: model does not match its config"):
        load_model(other)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_model(tmp_path / "missing.pt")


class RunsCode:
    """Unpickled, this calls ``os.makedirs(path)``: code in a file that a weights-only load must never run."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.makedirs, (self.path,)


@pytest.mark.parametrize("force_no_weights_only", [None, "1"])
def test_load_model_never_runs_code_from_the_file(tmp_path, monkeypatch, force_no_weights_only):
    """A model file with an entry that runs code is refused without running it, also when the environment
    asks torch to unpickle everything by default (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD)."""
    if force_no_weights_only:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", force_no_weights_only)
    ran = tmp_path / "ran"
    path = tmp_path / "m.pt"
    save_model(path, trained_tiny(), ["a", "b", "c"], {"note": RunsCode(str(ran))})
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: not a readable basset model"):
        load_model(path)
    assert not ran.exists()
    torch.load(path, weights_only=False)  # the file does run its code when fully unpickled
    assert ran.is_dir()


def test_load_model_puts_a_gpu_saved_model_on_the_cpu(tmp_path, monkeypatch):
    """A file whose tensors are tagged ``cuda:0`` (saved from a GPU) loads on the CPU with the default
    map_location, a device, a dict or a function, with the saved weights."""
    model = trained_tiny()
    path = tmp_path / "gpu.pt"
    with monkeypatch.context() as m:
        m.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        save_model(path, model, ["a", "b", "c"])
    if not torch.cuda.is_available():  # the tag is in the file: a plain load looks for the GPU
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    x = one_hot(codes(4, 60))
    with torch.no_grad():
        expected = model(x)
    for where in (None, "cpu", torch.device("cpu"), {"cuda:0": "cpu"}, lambda storage, loc: storage):
        loaded, meta = load_model(path) if where is None else load_model(path, map_location=where)
        assert not loaded.training and meta["target_names"] == ["a", "b", "c"]
        assert {t.device.type for t in loaded.state_dict().values()} == {"cpu"}, where
        with torch.no_grad():
            assert torch.equal(loaded(x), expected), where


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_load_model_onto_the_gpu(tmp_path):
    model = trained_tiny()
    path = tmp_path / "m.pt"
    save_model(path, model, ["a", "b", "c"])
    x = one_hot(codes(4, 60))
    with torch.no_grad():
        expected = model(x)
    for where in ("cuda", torch.device("cuda")):
        loaded, _ = load_model(path, map_location=where)
        assert {t.device.type for t in loaded.state_dict().values()} == {"cuda"}, where
        with torch.no_grad():
            assert torch.allclose(loaded(x.cuda()).cpu(), expected, atol=1e-4), where


def test_load_model_names_the_file_for_a_malformed_config(tmp_path):
    """A config that is not a dict of settings, or a target count below 1, is an InputError naming the file."""
    path = tmp_path / "m.pt"
    save_model(path, trained_tiny(), ["a", "b", "c"])
    raw = torch.load(path, weights_only=True)
    changes = [{"config": {**raw["config"], "preset": "cpu"}}, {"config": [1, 2]}, {"config": {**raw["config"], 3: 4}},
               {"n_targets": 0}, {"n_targets": "three"}]
    for change in changes:
        torch.save({**raw, **change}, path)
        with pytest.raises(InputError, match=f"^{re.escape(str(path))}: model does not match its config"):
            load_model(path)


def test_atomic_save_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "obj.pt"
    atomic_save({"a": torch.arange(3)}, path)
    atomic_save({"b": torch.ones(2)}, path)
    loaded = torch.load(path, weights_only=True)
    assert list(loaded) == ["b"] and torch.equal(loaded["b"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["obj.pt"]

"""Tests of basset.models: presets, config validation, max-norm, save/load, a learning step."""

import pytest
import torch

from basset.errors import ConfigError, InputError
from basset.models import (
    PRESETS,
    apply_max_norm,
    build_model,
    load_model,
    model_config,
    save_model,
)
from basset.sequence import one_hot
from basset.train import loss_fn

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
        model_config("basset", seq_len=20)
    # None means "the preset's default"; scalar dropout applies to every layer
    cfg = model_config("basset", seq_len=None, conv_dropout=0.1)
    assert cfg["seq_len"] == 600 and cfg["conv_dropout"] == [0.1, 0.1, 0.1]


def test_training_steps_reduce_loss_and_max_norm_holds():
    torch.manual_seed(0)
    model = build_model(tiny(dense_dropout=0.0, conv_dropout=0.0), 3)
    codes = torch.randint(0, 4, (32, 60), dtype=torch.uint8)
    targets = (codes[:, :3] == 1).to(torch.uint8)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss_fn(model, codes, targets).item()
    for _ in range(10):
        opt.zero_grad()
        loss_fn(model, codes, targets).backward()
        opt.step()
        apply_max_norm(model, 0.5)
    assert loss_fn(model, codes, targets).item() < first
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)):
            norms = m.weight.flatten(1).norm(dim=1)
            assert (norms <= 0.5 + 1e-5).all()


def test_max_norm_only_shrinks():
    torch.manual_seed(0)
    model = build_model(tiny(), 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    apply_max_norm(model, 1e6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    apply_max_norm(model, None)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    model = build_model(tiny(), 3)
    model.train()
    model(one_hot(torch.randint(0, 4, (8, 60), dtype=torch.uint8)))  # move the batch-norm running stats
    model.eval()
    path = tmp_path / "model.pt"
    save_model(path, model, ["a", "b", "c"], {"epoch": 4})
    raw = torch.load(path, weights_only=True)
    assert raw["target_names"] == ["a", "b", "c"] and raw["n_targets"] == 3 and raw["epoch"] == 4
    loaded, meta = load_model(path)
    assert meta["config"] == model.config and "state_dict" not in meta
    x = one_hot(torch.randint(0, 5, (4, 60), dtype=torch.uint8))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    with pytest.raises(ValueError):
        save_model(path, model, ["a"])
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="bad.pt"):
        load_model(tmp_path / "bad.pt")

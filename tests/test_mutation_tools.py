"""The rules by which tests/mutation/score.py calls a surviving mutant equivalent: each must classify only the
changes it names (a wrong rule would hide real survivors from the mutation score)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "mutation"))
from score import equivalent_by_rule  # noqa: E402


def _fn(*body):
    return "\n".join(["def x_f__mutmut_orig(model, codes, device):", *("    " + line for line in body)])


@pytest.mark.parametrize(("orig", "mutant", "rule"), [
    ("idx = torch.arange(c, device=h.device)", "idx = torch.arange(c, device=None)", "device"),
    ("idx = torch.arange(c, device=h.device)", "idx = torch.arange(c, )", "device"),
    ("y = t.to(device, torch.float64)", "y = t.to(torch.float64)", "device"),
    ("m = mean_activation(model, codes, 8, device)", "m = mean_activation(model, codes, 8, )", "device"),
    ("model.to(device)", "model.to(None)", "device"),
    ("y = t.to(device, torch.float64)", "y = t.to(device, None)", None),  # the dtype, not the device
    ("y = t.to(device, torch.float64)", "y = t.to(device, )", None),
    ("x = f(a, None, device)", "x = f(a, device)", None),
    ("device = torch.device(device)", "device = None", None),
    ('log.info("scored %d", n)', 'log.info("XXscored %dXX", n)', "log"),
    ('raise ValueError(f"{path}: bad", "more text")', 'raise ValueError(f"{path}: bad", "XXmore textXX")',
     "error wording"),
    ('raise ValueError("no sequences")', 'raise ValueError("XXno sequencesXX")', None),  # the message itself
    ("m = f(codes, batch_size=256)", "m = f(codes, batch_size=257)", "work size default"),
    ("bar = tqdm(total=n, desc='sites')", "bar = tqdm(total=n, desc='XXsitesXX')", "progress label"),
    ("bar = tqdm(total=n, desc='sites')", "bar = tqdm(total=None, desc='sites')", None),
    ("n = a + b", "n = a - b", None),
])
def test_equivalence_rules(orig, mutant, rule):
    a = _fn("codes = codes + 0", orig, "return codes")
    b = a.replace(orig, mutant).replace("x_f__mutmut_orig", "x_f__mutmut_1")
    assert equivalent_by_rule(a, b) == rule


def test_a_rule_must_hold_for_every_changed_line():
    a = _fn("model.to(device)", "n = a + b")
    b = _fn("model.to(None)", "n = a - b").replace("x_f__mutmut_orig", "x_f__mutmut_2")
    assert equivalent_by_rule(a, b) is None


def test_a_log_call_rewrapped_over_other_lines_is_a_log_change():
    a = _fn('log.info("PICS %s: %d high "', '         "and %d low", score, hi,', "         lo)", "return codes")
    b = _fn('log.info("PICS %s: %d high "', '         "and %d low", score, hi)', "return codes")
    b = b.replace("x_f__mutmut_orig", "x_f__mutmut_3")
    assert equivalent_by_rule(a, b) == "log"
    c = _fn('log.info("PICS %s", score)', "return codes + 1").replace("x_f__mutmut_orig", "x_f__mutmut_4")
    assert equivalent_by_rule(a, c) is None  # a change outside the log call too

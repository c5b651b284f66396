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


def test_results_round_trip_through_the_committed_file(tmp_path):
    """save_results then restore_results on a checkout without mutants/ gives mutmut's .meta back: the same exit
    codes by mutant name (gaps as None) and the same function hashes."""
    import json

    from run import restore_results, save_results

    meta = tmp_path / "mutants" / "src" / "basset" / "ism.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {"basset.ism.x_f__mutmut_1": 1, "basset.ism.x_f__mutmut_3": 0, "basset.ism.xǁ_Cǁm__mutmut_2": None,
             "basset.ism.xǁ_Cǁm__mutmut_1": 33}
    hashes = {"x_f": "abc", "xǁ_Cǁm": "def"}
    meta.write_text(json.dumps({"exit_code_by_key": codes, "hash_by_function_name": hashes, "durations_by_key": {},
                                "estimated_durations_by_key": {}}))
    saved = tmp_path / "results.json"
    assert save_results(tmp_path, saved) == 4
    assert '"x_f": [1,null,0]' in saved.read_text()  # one line per function
    assert restore_results(tmp_path, saved) == 0  # mutants/ exists: left alone
    (tmp_path / "mutants").rename(tmp_path / "old")
    assert restore_results(tmp_path, saved) == 3  # results, not the gap or the pending one
    back = json.loads(meta.read_text())
    assert back["exit_code_by_key"] == {**codes, "basset.ism.x_f__mutmut_2": None}
    assert back["hash_by_function_name"] == hashes


def test_also_lines_add_tests_that_start_processes_after_the_own_ones(tmp_path):
    """own.py: a function's covering tests are cut to its module's files and sorted by duration; an ``also`` line
    adds tests that mutmut cannot see calling it (the code runs in other processes), after the others, also for a
    function no recorded test calls."""
    from own import OwnTests, read_also, read_own_tests

    own_txt = tmp_path / "own.txt"
    own_txt.write_text("basset.m  tests/test_m.py  # the module's own file\n"
                       "also basset.m.x_f basset.m.x_g tests/test_m.py::test_ddp tests/test_m.py::test_run\n")
    own, also = read_own_tests(own_txt), read_also(own_txt)
    assert own == {"basset.m": ("tests/test_m.py",)}
    assert also == {f"basset.m.x_{f}": ("tests/test_m.py::test_ddp", "tests/test_m.py::test_run") for f in "fg"}
    durations = {"tests/test_m.py::test_ddp": 0.001, "tests/test_m.py::slow": 2.0, "tests/test_m.py::fast": 0.5,
                 "tests/test_other.py::t": 0.1}
    lookup = OwnTests({"basset.m.x_f": ["tests/test_m.py::slow", "tests/test_other.py::t", "tests/test_m.py::fast"],
                       "basset.m.x_h": ["tests/test_m.py::fast"]}, own, durations, also)
    assert lookup["basset.m.x_f"] == ["tests/test_m.py::fast", "tests/test_m.py::slow", "tests/test_m.py::test_ddp",
                                      "tests/test_m.py::test_run"]
    assert lookup.get("basset.m.x_g") == ["tests/test_m.py::test_ddp", "tests/test_m.py::test_run"]
    assert lookup["basset.m.x_h"] == ["tests/test_m.py::fast"]
    assert lookup.get("basset.m.x_nobody", "none") == "none"

"""Run mutmut's command line with each mutant tested by its module's own unit tests only, fastest first.

``python tests/mutation/own.py run NAMES...`` is ``mutmut run NAMES...``, except that the tests mutmut found
covering a function (its stats) are cut down to those in the files that ``tests/mutation/own_tests.txt`` names for
the function's module (issue 20: each engine on its own unit tests; a model test that happens to call
``basset.metrics`` is not a metrics test), and handed over sorted by their recorded duration, so that a killed
mutant is usually told by the fastest test. mutmut's saved stats keep every covering test: only the lookups
that choose a mutant's tests are filtered.

A module marked ``--every-test`` in own_tests.txt gets every test of its files instead of the covering ones. mutmut
finds the covering tests by recording which test calls a function, and a module- or session-scoped fixture calls
it once, inside the first test that asks for it: the other tests that read the fixture's output would never run on
a mutant (the simulation's writers run once per module, in a fixture, and are read by every file check).

A line ``also FUNCTION... TEST-ID...`` adds tests to the mutants of the functions named (mangled names such as
``basset.train.x_end_epoch``; the test ids hold ``::``). mutmut records the calls made in its own test process
only: code that runs in processes a test starts (the DDP ranks of ``mp.spawn`` and ``torchrun``) is never
associated with those tests, which are the only ones that reach it.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


EVERY = "--every-test"
ALSO = "also"


def _lines(path: Path) -> list[list[str]]:
    """The words of each line of ``path`` that holds any (``#`` starts a comment)."""
    return [words for line in path.read_text().splitlines() if (words := line.split("#", 1)[0].split())]


def read_own_tests(path: Path = HERE / "own_tests.txt") -> dict[str, tuple[str, ...]]:
    """``module -> test files`` from lines ``module [--every-test] file...`` (``#`` comments); the flag, when
    given, stays in the tuple."""
    return {words[0]: tuple(words[1:]) for words in _lines(path) if words[0] != ALSO}


def read_also(path: Path = HERE / "own_tests.txt") -> dict[str, tuple[str, ...]]:
    """``function -> test ids`` from the lines ``also FUNCTION... TEST-ID...`` (test ids hold ``::``)."""
    also: dict[str, tuple[str, ...]] = {}
    for words in _lines(path):
        if words[0] == ALSO:
            tests = tuple(w for w in words[1:] if "::" in w)
            for function in (w for w in words[1:] if "::" not in w):
                also[function] = also.get(function, ()) + tests
    return also


def own_module(function: str, own: dict) -> str | None:
    """The longest module of ``own`` that the mangled function name (``basset.metrics.x_auroc``) sits in."""
    hits = [m for m in own if function.startswith(m + ".")]
    return max(hits, key=len) if hits else None


class OwnTests(dict):
    """mutmut's ``tests_by_mangled_function_name`` whose lookups return only the module's own tests, sorted by
    duration; iteration (and so mutmut's saved stats) still sees every test."""

    def __init__(self, data, own: dict, durations: dict, also: dict | None = None):
        super().__init__(data)
        self.own, self.durations, self.also = own, durations, also or {}

    def _filter(self, key, tests):
        module = own_module(key, self.own)
        if module is not None:
            files = self.own[module]
            if EVERY in files:
                tests = self.durations  # every test of the last stats run, also those that call no mutant
            tests = [t for t in tests if t.split("::", 1)[0] in files]
        extra = [t for t in self.also.get(key, ()) if t not in tests]  # last: they start processes (slow)
        return sorted(tests, key=lambda t: (self.durations.get(t, 0.0), t)) + extra

    def __getitem__(self, key):  # mutmut's own mapping is a defaultdict: a function no test calls has no tests
        return self._filter(key, super().get(key, []))

    def get(self, key, default=None):
        return self._filter(key, super().get(key, [])) if key in self or key in self.also else default


def main() -> None:
    import mutmut.__main__ as mm

    own, also = read_own_tests(), read_also()
    collect = mm.collect_or_load_stats

    def collect_then_filter(*args, **kwargs):
        collect(*args, **kwargs)
        st = mm.state()
        st.tests_by_mangled_function_name = OwnTests(st.tests_by_mangled_function_name, own, st.duration_by_test,
                                                   also)

    mm.collect_or_load_stats = collect_then_filter
    sys.argv[0] = "mutmut"
    mm.cli()


if __name__ == "__main__":
    main()

"""``make mutate``: run mutmut on the engines named in ``tests/mutation/scope.txt``, then score them.

    python tests/mutation/run.py                        # every mutant in scope (hours on 2 cores; resumable)
    python tests/mutation/run.py 'basset.metrics.*'     # some of them (mutmut-style globs)
    python tests/mutation/run.py --rerun 'basset.sad.*' # forget their results first (after adding tests)
    python tests/mutation/run.py --fresh-stats          # after moving code between modules (see --help)

mutmut keeps a copy of src/ and tests/ under ``mutants/`` and the result of every mutant there, so a run that is
stopped goes on where it was. It re-copies tests/ on each run, and re-mutates a source file that changed, but it
keeps its old copy of a file it does not mutate (another module, or package data such as the config schema): this
script refreshes those copies first, so the tests run against the current code. ``--rerun`` clears the results of the mutants it names, which mutmut would otherwise
keep when only the tests changed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from score import read_scope  # noqa: E402


def refresh_unmutated(root: Path = ROOT) -> int:
    """Copy each file under src/ that mutmut does not mutate (no ``.meta`` beside its copy: other modules, and the
    package data such as the config schema, whose defaults the code reads) over its stale or missing copy."""
    n = 0
    for src in (root / "src").rglob("*"):
        if not src.is_file() or "__pycache__" in src.parts or src.suffix in (".pyc", ".meta", ".spans"):
            continue
        copy = root / "mutants" / src.relative_to(root)
        if copy.with_name(copy.name + ".meta").exists():
            continue
        if not copy.exists() or copy.read_bytes() != src.read_bytes():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, copy)
            n += 1
    return n


def _metas(root: Path = ROOT):
    """mutmut's ``.meta`` files (one per mutated source file, in path order) with their parsed JSON."""
    for meta in sorted((root / "mutants" / "src").rglob("*.py.meta")):
        yield meta, json.loads(meta.read_text())


def _matches(key: str, globs: list[str]) -> bool:
    return any(fnmatch(key, g) for g in globs)


def forget(globs: list[str], root: Path = ROOT) -> int:
    """Set the results of the mutants matching ``globs`` back to 'not checked'."""
    n = 0
    for meta, data in _metas(root):
        codes = data["exit_code_by_key"]
        hit = [k for k in codes if _matches(k, globs)]
        for k in hit:
            codes[k] = None
        if hit:
            meta.write_text(json.dumps(data))
            n += len(hit)
    return n


def mutant_results(globs: list[str], root: Path = ROOT) -> dict[str, int | None]:
    """``name -> exit code`` (``None``: not run yet) of the mutants matching ``globs``, from mutmut's ``.meta``
    files. mutmut reruns every mutant it is given by name, so :func:`main` names only those without a result and
    a stopped run goes on from there."""
    return {key: code for _, data in _metas(root) for key, code in data["exit_code_by_key"].items()
            if _matches(key, globs)}


def _score(readme: Path) -> int:
    return subprocess.call([sys.executable, str(HERE / "score.py"), "--readme", str(readme)], cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="mutant-name globs (default: tests/mutation/scope.txt)")
    ap.add_argument("--rerun", action="store_true", help="forget the named mutants' results first")
    ap.add_argument("--fresh-stats", action="store_true",
                    help="collect again which tests call which function (after code moved between modules: mutmut "
                         "collects stats only for new tests, so old tests of moved code are not associated with it)")
    ap.add_argument("--max-children", type=int, default=2, help="parallel test runs (default: %(default)s)")
    ap.add_argument("--readme", type=Path, default=ROOT / "tests" / "README.md", help="where the score table goes")
    args = ap.parse_args(argv)
    names = args.names or read_scope()
    if (ROOT / "mutants").exists():
        print(f"refreshed {refresh_unmutated()} unmutated source file(s) under mutants/")
        if args.rerun:
            print(f"forgot the results of {forget(names)} mutant(s)")
        stats = ROOT / "mutants" / "mutmut-stats.json"
        if args.fresh_stats and stats.exists():
            stats.unlink()
            print("removed mutmut's test stats: they are collected again over every test")
        # explicit names of the mutants still to run (mutmut would rerun every mutant matching a glob); on the
        # first run there are no .meta files yet and mutmut expands the globs itself
        results = mutant_results(names)
        pending = [key for key, code in results.items() if code is None]
        if results and not pending:
            print("every mutant named has a result: nothing to run (--rerun to run them again)")
            return _score(args.readme)
        names = pending or names
    # mutmut's command line, each mutant tested by its module's own unit tests (own.py, own_tests.txt)
    rc = subprocess.call([sys.executable, str(HERE / "own.py"), "run", "--max-children", str(args.max_children),
                          *names], cwd=ROOT)
    if rc:
        print(f"mutmut run exited {rc}", file=sys.stderr)
        return rc
    return _score(args.readme)


if __name__ == "__main__":
    sys.exit(main())

"""``make mutate``: run mutmut on the engines named in ``tests/mutation/scope.txt``, then score them.

    python tests/mutation/run.py                        # every mutant in scope (hours on 2 cores; resumable)
    python tests/mutation/run.py 'basset.metrics.*'     # some of them (mutmut-style globs)
    python tests/mutation/run.py --rerun 'basset.sad.*' # forget their results first (after adding tests)
    python tests/mutation/run.py --fresh-stats          # after moving code between modules (see --help)

mutmut keeps a copy of src/ and tests/ under ``mutants/`` and the result of every mutant there, so a run that is
stopped goes on where it was. It re-copies tests/ on each run, and re-mutates a source file that changed, but it
keeps its old copy of a file it does not mutate (another module, or package data such as the config schema): this
script refreshes those copies first, so the tests run against the current code. ``--rerun`` clears the results of the
mutants it names, which mutmut would otherwise keep when only the tests changed.

The results live on in ``tests/mutation/results.json`` (committed): after each run this script writes there every
mutant's exit code with the hash of its function, and on a checkout without ``mutants/`` it puts them back before
mutmut starts. mutmut keeps a result only while its function's hash is unchanged, so a fresh clone runs just the
mutants of the functions that changed since (plus a collection of which tests call what, about as long as the unit
tests).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from score import module_of, read_scope  # noqa: E402


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


RESULTS = HERE / "results.json"


def save_results(root: Path = ROOT, path: Path = RESULTS) -> int:
    """Write each mutated file's function hashes and its mutants' exit codes (a list per function, mutant N at
    index N - 1) to ``path``; returns the number of mutants written."""
    out, n = {}, 0
    for meta, data in _metas(root):
        codes: dict[str, list] = {}
        for key, code in data["exit_code_by_key"].items():
            func, _, num = key.rpartition(".")[2].rpartition("__mutmut_")
            row = codes.setdefault(func, [])
            row.extend([None] * (int(num) - len(row)))
            row[int(num) - 1] = code
            n += 1
        rel = meta.relative_to(root / "mutants").as_posix()[: -len(".meta")]
        out[rel] = {"hash_by_function_name": data.get("hash_by_function_name", {}), "codes": codes}
    text = json.dumps(out, indent=1, sort_keys=True)
    # one line per function's codes (a diff then shows which functions' results changed)
    text = re.sub(r"\[[^\[\]{}]*\]", lambda m: "[" + ",".join(x.strip() for x in m.group(0)[1:-1].split(",")) + "]",
                  text)
    path.write_text(text + "\n")
    return n


def restore_results(root: Path = ROOT, path: Path = RESULTS) -> int:
    """On a checkout without ``mutants/``: write mutmut's ``.meta`` files back from ``path`` (mutmut then keeps the
    results of every function whose hash has not changed); returns the number of results restored."""
    if (root / "mutants").exists() or not path.exists():
        return 0
    n = 0
    for rel, data in json.loads(path.read_text()).items():
        meta = root / "mutants" / f"{rel}.meta"
        module = module_of(meta, root / "mutants")
        codes = {f"{module}.{func}__mutmut_{i + 1}": code for func, row in data["codes"].items()
                 for i, code in enumerate(row)}
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": codes, "hash_by_function_name": data["hash_by_function_name"],
                                    "durations_by_key": {}, "estimated_durations_by_key": {}}))
        n += sum(code is not None for code in codes.values())
    return n


def generate(max_children: int = 2, root: Path = ROOT) -> None:
    """mutmut's mutant generation alone (the first step of ``mutmut run``), at the start of each run (after
    :func:`restore_results` on a fresh clone): the results of changed functions are cleared (and new mutants listed)
    before the pending ones are chosen."""
    code = ("import mutmut.__main__ as m; from pathlib import Path; m.set_mutant_under_test('mutant_generation'); "
            "Path('mutants').mkdir(exist_ok=True); m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths(); "
            f"m.store_lines_covered_by_tests(); m.create_mutants({int(max_children)})")
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


def _score(readme: Path) -> int:
    return subprocess.call([sys.executable, str(HERE / "score.py"), "--readme", str(readme)], cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="mutant-name globs (default: tests/mutation/scope.txt)")
    ap.add_argument("--rerun", action="store_true", help="forget the named mutants' results first")
    ap.add_argument("--fresh-stats", action="store_true",
                    help="collect again which tests call which function (after code moved between modules: mutmut "
                         "collects stats only for new tests, so old tests of moved code are not associated with it)")
    ap.add_argument("--save", action="store_true", help=f"only write the results to {RESULTS.name} and score them")
    ap.add_argument("--max-children", type=int, default=2, help="parallel test runs (default: %(default)s)")
    ap.add_argument("--readme", type=Path, default=ROOT / "tests" / "README.md", help="where the score table goes")
    args = ap.parse_args(argv)
    names = args.names or read_scope()
    if args.save:
        print(f"saved {save_results()} result(s) to {RESULTS.relative_to(ROOT)}")
        return _score(args.readme)
    restored = restore_results()
    if restored:
        print(f"restored {restored} result(s) from {RESULTS.relative_to(ROOT)}; "
              "mutmut keeps those of unchanged functions")
    if (ROOT / "mutants").exists():
        # mutants of functions changed since the last run are made (and their old results cleared) before the
        # pending ones are listed: otherwise they would wait for the next run
        generate(args.max_children)
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
    if (ROOT / "mutants").exists():
        print(f"saved {save_results()} result(s) to {RESULTS.relative_to(ROOT)}")
    if rc:
        print(f"mutmut run exited {rc}", file=sys.stderr)
        return rc
    return _score(args.readme)


if __name__ == "__main__":
    sys.exit(main())

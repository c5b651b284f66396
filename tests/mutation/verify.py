"""Check new tests against named mutants at once, without a whole mutmut run.

    python tests/mutation/verify.py tests/test_influence.py --names survivors.txt [-k EXPR] [--record]

For each mutant name (one a line in ``--names``, or ``-`` for stdin; text after the name is ignored, so
``score.py``'s "name: survived" lines work), the given test files, copied from ``tests/`` as they are now, run
against mutmut's mutated sources under ``mutants/src`` with that mutant switched on (each in a fork of one process
that has imported torch and basset once: a second or two per mutant). It prints ``killed`` or ``survived`` per
mutant. ``--record`` writes each kill into mutmut's results (a failing test kills a mutant whichever tests ran);
a survival is not recorded, since only the chosen tests ran. Run ``run.py --save`` afterwards to keep the results.
Record only into modules that mutmut is not running at that moment: mutmut rewrites a file's results from memory
after each of its mutants, which would drop the recorded kills.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def record_kills(killed: dict[str, int], root: Path = ROOT) -> int:
    """Write exit codes of killed mutants into mutmut's ``.meta`` files; returns how many were written."""
    from run import _metas

    n = 0
    for meta, data in _metas(root):
        hit = {k: v for k, v in killed.items() if k in data["exit_code_by_key"]}
        if hit:
            data["exit_code_by_key"].update(hit)
            meta.write_text(json.dumps(data, indent=4))
            n += len(hit)
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tests", nargs="+", help="test files under tests/")
    ap.add_argument("--names", required=True, help="file of mutant names, one a line ('-': stdin)")
    ap.add_argument("-k", default=None, help="pytest -k expression (only these tests)")
    ap.add_argument("--record", action="store_true", help="write the kills into mutmut's results")
    args = ap.parse_args(argv)
    lines = (sys.stdin if args.names == "-" else open(args.names)).read().splitlines()
    names = [line.split(":")[0].split()[0] for line in lines if line.strip() and not line.startswith("#")]
    mutants = ROOT / "mutants"
    if not (mutants / "src").is_dir():
        print("no mutants/: run `make mutate` first", file=sys.stderr)
        return 2
    copy = mutants / "tests-verify"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ROOT / "tests", copy, ignore=shutil.ignore_patterns("__pycache__", "mutation"))
    paths = [str(copy / Path(t).name) for t in args.tests]
    os.chdir(mutants)
    sys.path.insert(0, str(mutants / "src"))
    os.environ["PYTHONPATH"] = str(mutants / "src")
    os.environ["MUTANT_UNDER_TEST"] = ""
    import pytest  # noqa: F401  (imported once, before the forks)
    import torch  # noqa: F401

    import basset  # noqa: F401

    killed = {}
    for name in names:
        pid = os.fork()
        if pid == 0:
            os.environ["MUTANT_UNDER_TEST"] = name
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            opts = ["-x", "-q", "-p", "no:cacheprovider", *(["-k", args.k] if args.k else []), *paths]
            os._exit(int(pytest.main(opts)))
        rc = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if rc != 0:
            killed[name] = 1 if rc > 0 else rc
        print(("survived" if rc == 0 else f"killed ({rc})"), name, flush=True)
    shutil.rmtree(copy, ignore_errors=True)
    if args.record:
        print(f"recorded {record_kills(killed)} kill(s) in mutants/")
    return 0


if __name__ == "__main__":
    sys.exit(main())

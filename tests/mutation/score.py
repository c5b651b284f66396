"""The mutation score per module, from the last `mutmut run` (``make mutate``).

    python tests/mutation/score.py                 # print the table and the mutants left to look at
    python tests/mutation/score.py --readme tests/README.md   # also rewrite the table in tests/README.md
    python tests/mutation/score.py --diff          # and each survivor's changed lines (faster than `mutmut show`)

mutmut (https://github.com/boxed/mutmut) keeps one ``mutants/<path>.meta`` JSON per mutated file, with the
exit code of the test run of every mutant (1: a test failed, the mutant is killed; 0: every test passed, it
survived; 33: no unit test calls the function). This script reads those files, takes away the mutants listed
in ``tests/mutation/equivalent.txt`` (a mutant that behaves exactly like the original, with the reason), and
prints ``killed / (total - equivalent)`` per module, counting only the mutants that ``tests/mutation/scope.txt``
names (the engines; ``make mutate`` runs those). A timeout or a crash counts as killed, as mutmut counts it.

It exits 1 when a mutant survived that is not listed as equivalent, or when the overall score is below
``--min`` (90 %), so that ``make mutate`` fails until each survivor is killed by a test or explained.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EQUIVALENT = HERE / "equivalent.txt"
SCOPE = HERE / "scope.txt"
BEGIN, END = "<!-- mutation-score:begin -->", "<!-- mutation-score:end -->"

KILLED = {1, 3, 36, 24, -24, 152, 255, -11, -9, 37}  # a failed test, a timeout, a crash, a type error
SURVIVED = {0}
NO_TESTS = {5, 33}


def read_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """``mutant name -> reason`` from lines ``basset.module.x_function__mutmut_N  reason``."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, reason = line.partition(" ")
                out[name] = reason.strip()
    return out


# Mutants equivalent by a rule: every line the mutant changes lies in a statement of one of these kinds.
# - a logging call: only the text or level of a log line changes (the logs are read by people, not code);
# - the default of a parameter that only sizes the work (batch_size, chunk_size, block_rows, buffer_blocks, ...):
#   results do not depend on it,
#   which tests/test_*.py check where it matters (batched == unbatched);
# - a progress bar's label (tqdm desc=/unit=);
# - a device argument dropped or set to None (`device=x.device`, `.to(device)`, a positional `device`): the tests run
#   on the CPU, the default device, so such a mutant is equivalent there; it would show only on a GPU, which CI lacks;
# - the wording of an error message: a change inside a string literal of a `raise` that is not the exception's
#   first argument (the key, file or option that the error names is that first argument, and tests check it).
RULES = {
    "log": re.compile(r"^\s*(log|logger|logging)\.(debug|info|warning|error|exception)\("),
    "work size default": re.compile(r"\b(batch_size|valid_batch_size|chunk_size|block_rows|buffer_blocks|loader_chunk"
                                    r"|max_elements)\s*(:\s*int\s*)?=\s*\d+"),
    "progress label": re.compile(r"\b(desc|unit)\s*=\s*[\"'f]"),
}


def _functions(path: Path) -> dict[str, str]:
    """``function name -> source`` of every function in a mutmut-generated file (originals and mutants)."""
    text = path.read_text()
    tree = ast.parse(text)
    lines = text.splitlines()
    out = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "__mutmut_" in node.name:
            out[node.name] = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    return out


def _statement_lines(source: str) -> list[tuple[int, int, str]]:
    """``(first, last, text)`` of each simple statement and each def/if/for header in ``source`` (0-based lines)."""
    import textwrap

    src = textwrap.dedent(source)
    lines = src.splitlines()
    out = []
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.stmt):
            last = node.body[0].lineno - 2 if hasattr(node, "body") and node.body else node.end_lineno - 1
            last = max(last, node.lineno - 1)
            out.append((node.lineno - 1, last, "\n".join(lines[node.lineno - 1 : last + 1])))
    return out


LINE_RULES = ("work size default", "progress label")  # the change itself must lie inside the rule's match


def _common_ends(x, y) -> tuple[int, int]:
    """Lengths of the common prefix and of the common suffix (not overlapping it) of two sequences."""
    p = 0
    while p < min(len(x), len(y)) and x[p] == y[p]:
        p += 1
    q = 0
    while q < min(len(x), len(y)) - p and x[len(x) - 1 - q] == y[len(y) - 1 - q]:
        q += 1
    return p, q


def _changed_span(x: str, y: str) -> tuple[int, int]:
    """``(start, end)`` of the part of line ``x`` that differs from line ``y`` (common prefix and suffix removed)."""
    p, q = _common_ends(x, y)
    return p, len(x) - q


def _error_wording(x: str, y: str, statement: str) -> bool:
    """The change from line ``x`` to ``y`` lies inside a string literal, not the first argument, of a raise."""
    import io
    import tokenize

    if not statement.lstrip().startswith("raise "):
        return False
    a, b = _changed_span(x, y)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(x.strip() + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return False
    indent = len(x) - len(x.lstrip())
    for k, tok in enumerate(tokens):
        if tok.type == tokenize.STRING:
            lo, hi = tok.start[1] + indent, tok.end[1] + indent
            first_arg = k > 0 and tokens[k - 1].string == "(" and k > 1 and tokens[k - 2].string.endswith("Error")
            if lo < a and b < hi and not first_arg:  # strictly inside the quotes
                return True
    return False


_DEVICE = re.compile(r"^,?(device=)?(\w+\.)*(device|dev),?$")


def _device_only(x: str, y: str) -> bool:
    """Line ``y`` is ``x`` with one device expression removed or replaced by None (compared token by token)."""
    tx, ty = re.findall(r"\w+|[^\w\s]", x), re.findall(r"\w+|[^\w\s]", y)
    p, q = _common_ends(tx, ty)
    gone, new = "".join(tx[p : len(tx) - q]), "".join(ty[p : len(ty) - q])
    return bool(_DEVICE.match(gone)) and new in ("", "None", ",")


def _line_rule(x: str, y: str) -> str | None:
    if _device_only(x, y):
        return "device"
    a, b = _changed_span(x, y)
    for name in LINE_RULES:
        for m in RULES[name].finditer(x):
            end = m.end()
            while end < len(x) and x[end] not in ",)":  # the value after `=`, up to the next comma or bracket
                end += 1
            if m.start() <= a and b <= end:
                return name
    return None


_LOG_LEVELS = {"debug", "info", "warning", "error", "exception"}


def _without_logs(source: str) -> str | None:
    """The AST dump of a function without its logging calls (statements ``log.info(...)`` and the like) and with
    its name blanked, or None when it does not parse."""
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.name = "f"
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list):
                kept = [s for s in stmts if not (
                    isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                    and isinstance(s.value.func, ast.Attribute) and s.value.func.attr in _LOG_LEVELS
                    and isinstance(s.value.func.value, ast.Name)
                    and s.value.func.value.id in ("log", "logger", "logging"))]
                setattr(node, field, kept or [ast.Pass()])
    return ast.dump(tree)


def equivalent_by_rule(orig: str, mutant: str) -> str | None:
    """The name of the rule that makes ``mutant`` equivalent to ``orig`` (function sources), or None."""
    if orig != mutant and (stripped := _without_logs(orig)) is not None and stripped == _without_logs(mutant):
        return "log"  # only logging calls differ (also where mutmut re-wrapped a call over other lines)
    a, b = orig.splitlines(), mutant.splitlines()
    a[0], b[0] = re.sub(r"__mutmut_\w+\(", "(", a[0]), re.sub(r"__mutmut_\w+\(", "(", b[0])
    if len(a) != len(b):
        return None
    changed = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if not changed:
        return None
    stmts = _statement_lines(orig)
    found = set()
    for line in changed:
        rule = _line_rule(a[line], b[line])
        if rule is None:
            inner = [s for s in stmts if s[0] <= line <= s[1]]
            text = min(inner, key=lambda s: s[1] - s[0])[2] if inner else ""
            rule = "log" if RULES["log"].search(text) else None
            if rule is None and _error_wording(a[line], b[line], text):
                rule = "error wording"
        if rule is None:
            return None
        found.add(rule)
    return ", ".join(sorted(found))


def read_scope(path: Path = SCOPE) -> list[str]:
    """The mutant-name globs that `make mutate` runs (one a line; # comments)."""
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def module_of(meta: Path, mutants: Path) -> str:
    rel = meta.relative_to(mutants / "src").with_suffix("").with_suffix("")
    return ".".join(rel.parts)


def collect(mutants: Path, equivalent: dict[str, str], scope: list[str]
            ) -> tuple[dict[str, Counter], dict[str, list[str]]]:
    counts: dict[str, Counter] = {}
    left: dict[str, list[str]] = {}
    for meta in sorted((mutants / "src").rglob("*.py.meta")):
        module = module_of(meta, mutants)
        c = counts.setdefault(module, Counter())
        sources = None
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if not any(fnmatch(name, glob) for glob in scope):
                continue
            c["total"] += 1
            if name in equivalent:
                c["equivalent"] += 1
                continue
            if code not in KILLED:
                sources = sources if sources is not None else _functions(meta.with_suffix(""))
                short = name.rsplit(".", 1)[1]
                orig = sources.get(short.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
                if orig and short in sources and equivalent_by_rule(orig, sources[short]):
                    c["equivalent"] += 1
                    continue
            if code in KILLED:
                c["killed"] += 1
            elif code in SURVIVED:
                c["survived"] += 1
                left.setdefault(module, []).append(f"{name}: survived")
            elif code in NO_TESTS:
                c["no tests"] += 1
                left.setdefault(module, []).append(f"{name}: no tests")
            else:
                c["not run"] += 1
                left.setdefault(module, []).append(f"{name}: not run (exit code {code})")
    return counts, left


def survivor_diff(mutants: Path, name: str) -> str:
    """The lines that mutant ``name`` changes, ``-`` original then ``+`` mutant, from mutmut's generated file."""
    module, short = name.rsplit(".", 1)
    sources = _functions(mutants / "src" / (module.replace(".", "/") + ".py"))
    orig = sources.get(short.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "").splitlines()[1:]
    mutant = sources.get(short, "").splitlines()[1:]
    if len(orig) != len(mutant):
        return "\n".join(["    - " + x for x in orig] + ["    + " + y for y in mutant])
    return "\n".join(f"    - {x.strip()}\n    + {y.strip()}" for x, y in zip(orig, mutant) if x != y)


def table(counts: dict[str, Counter]) -> tuple[str, float]:
    rows = ["| module | mutants | killed | survived | no test | not run yet | equivalent | score of those run |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    total = Counter()
    for module, c in counts.items():
        total.update(c)
        rows.append(_row(f"`{module}`", c))
    rows.append(_row("**all**", total))
    scored = total["total"] - total["equivalent"]  # a mutant not run yet counts against the score
    return "\n".join(rows), (total["killed"] / scored if scored else float("nan"))


def _row(name: str, c: Counter) -> str:
    run = c["killed"] + c["survived"] + c["no tests"]
    score = f"{100 * c['killed'] / run:.1f} %" if run else "-"
    return (f"| {name} | {c['total']} | {c['killed']} | {c['survived']} | {c['no tests']} | {c['not run']} | "
            f"{c['equivalent']} | {score} |")


def rewrite_readme(readme: Path, text: str) -> None:
    old = readme.read_text()
    if BEGIN not in old or END not in old:
        raise SystemExit(f"{readme}: the markers {BEGIN} and {END} are missing")
    head, rest = old.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutants", type=Path, default=ROOT / "mutants", help="mutmut's folder (default: %(default)s)")
    ap.add_argument("--readme", type=Path, help="rewrite the table between the markers in this file")
    ap.add_argument("--diff", action="store_true", help="print each survivor's changed lines")
    ap.add_argument("--min", type=float, default=0.90, help="the lowest overall score accepted (default: %(default)s)")
    args = ap.parse_args(argv)
    if not (args.mutants / "src").is_dir():
        print(f"{args.mutants}: no mutmut results; run `make mutate` first", file=sys.stderr)
        return 2
    equivalent = read_equivalent()
    counts, left = collect(args.mutants, equivalent, read_scope())
    counts = {module: c for module, c in counts.items() if c["total"]}
    text, score = table(counts)
    print(text)
    for module, names in left.items():
        print(f"\n{module}: {len(names)} to look at")
        for name in names:
            print(f"  {name}")
            if args.diff and name.endswith(": survived"):
                print(survivor_diff(args.mutants, name.split(":")[0]))
    if args.readme:
        rewrite_readme(args.readme, text)
    print(f"\noverall {100 * score:.1f} % (minimum {100 * args.min:.0f} %)")
    return 0 if score >= args.min and not any(left.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

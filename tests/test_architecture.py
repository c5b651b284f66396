"""The package's shape: layers without cycles, one device decision, one results layout (DESIGN.md, "Layout").

The imports are read with ``ast`` (nothing is imported), so the test also sees imports inside functions.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "basset"

#: layer of each module (by its first component under basset); a module may import its own layer and those below
LAYERS = {
    "base": {"errors", "logs", "tables", "fileio", "layout", "device", "config", "presets", "samples"},
    "engines": {"sequence", "bed", "peaks", "dataset", "models", "train", "transfer", "predict", "evaluate", "ism",
                "sad", "sadfile", "vcf", "pics", "influence", "motifs", "tomtom", "memefile", "metrics", "kmer", "jaspar",
                "conservation", "download", "simulate",
                "gkmsvm", "fidelity", "attribution", "modisco", "bins", "coverage"},
    "plots": {"plots"},
    "stages": {"stages"},
    "faces": {"cli"},
}
ORDER = list(LAYERS)

#: the only modules that library code may import inside a function: third-party dependencies that are slow to
#: import (the workflow's parse runs in every cluster job and imports basset.config, .samples, .simulate, .layout)
#: or that only one stage needs (pyBigWig, pybedtools, memelite, pyjaspar, sklearn, gkmsvm: importing gkmsvm-lite also
#: pins numba's threading layer, and basset.gkmsvm sets numba's thread count around its calls), and tqdm for progress
#: bars
LAZY_IMPORTS = {"gkmsvm", "h5py", "jsonschema", "matplotlib", "memelite", "modiscolite", "numba", "pyBigWig",
                "pybedtools", "pyfaidx", "pyjaspar", "scipy", "sklearn", "tangermeme", "torch", "tqdm", "yaml"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(), filename=str(path))


def _imports(name: str, path: Path, tree: ast.AST):
    """(imported basset module or third-party top name, line, inside a function?) of every import."""
    is_package = path.name == "__init__.py"
    package = name.split(".") if is_package else name.split(".")[:-1]

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, in_function
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                for alias in child.names:
                    yield (f"{module}.{alias.name}" if module.startswith("basset") else module), child.lineno, \
                        in_function
            else:
                yield from visit(child, inner)

    yield from visit(tree, False)


def _known(modules: set[str], target: str) -> str | None:
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def _graph():
    mods = {name: (path, tree) for name, path, tree in _modules()}
    edges = {}
    for name, (path, tree) in mods.items():
        deps = set()
        for target, line, _inner in _imports(name, path, tree):
            if target.startswith("basset"):
                dep = _known(set(mods), target)
                if dep and dep not in (name, "basset") and not name.startswith(dep + "."):
                    deps.add((dep, line))
        edges[name] = deps
    return mods, edges


def _layer(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    for layer, members in LAYERS.items():
        if top in members:
            return layer
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py LAYERS: add it where it belongs")


def test_every_module_has_a_layer():
    for name, _path, _tree in _modules():
        if name != "basset":
            _layer(name)


def test_layers_import_only_downwards():
    _mods, edges = _graph()
    wrong = []
    for name, deps in edges.items():
        if name == "basset":
            continue
        for dep, line in deps:
            if dep != "basset" and ORDER.index(_layer(dep)) > ORDER.index(_layer(name)):
                wrong.append(f"{name}:{line} imports {dep} ({_layer(name)} -> {_layer(dep)})")
    assert not wrong, "imports that point up the layers:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    _mods, edges = _graph()
    graph = {name: {dep for dep, _ in deps} for name, deps in edges.items()}
    cycles, state = [], {}

    def walk(node, stack):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                walk(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_imports_inside_functions_are_only_optional_dependencies():
    """The face basset.cli imports each command's stage when the command runs (so that `basset --help` answers at
    once); everywhere else an import inside a function is of an optional or heavy dependency of LAZY_IMPORTS."""
    inner = []
    for name, path, tree in _modules():
        for target, line, in_function in _imports(name, path, tree):
            if name == "basset.cli" and target.startswith("basset."):
                continue
            if in_function and target.split(".")[0] not in LAZY_IMPORTS:
                inner.append(f"{name}:{line} imports {target} inside a function")
    assert not inner, "\n".join(inner)


def test_no_private_names_imported_across_modules():
    found = []
    for name, path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("basset")):
                found += [f"{name}:{node.lineno} imports {a.name}" for a in node.names
                          if a.name.startswith("_") and a.name != "__version__"]
    assert not found, "\n".join(found)


# ------------------------------------------------------------------------------------------------- device
def test_only_basset_device_decides_between_cpu_and_cuda():
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), *(ROOT / "workflow" / "scripts").glob("*.py")]:
        if path == PACKAGE / "device.py":
            continue
        for lineno, line in enumerate(path.read_text().splitlines(), 1):
            if "cuda.is_available" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}")
    assert not offenders, "device decided outside basset.device:\n" + "\n".join(offenders)


def test_cpu_is_honoured_where_a_gpu_is_available(monkeypatch):
    from basset.device import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == "cuda"  # auto takes the GPU it sees
    assert resolve_device(None).type == "cuda"


def test_cuda_without_a_gpu_names_the_key(monkeypatch):
    from basset.device import resolve_device
    from basset.errors import ConfigError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="train.device"):
        resolve_device("cuda")


def _rules():
    """{rule name: its text} of every rule in workflow/rules/*.smk."""
    rules = {}
    for path in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        text = path.read_text()
        for m in re.finditer(r"^ *rule (\w+):\n(.*?)(?=^ *rule \w+:|\Z)", text, re.S | re.M):
            rules[m.group(1)] = m.group(2)
    return rules


def test_every_rule_that_runs_a_model_gets_the_device_and_the_gpu_resource_from_one_key():
    rules = _rules()
    model_rules = {name for name, body in rules.items() if "model=" in body and "input:" in body
                   and re.search(r"^\s+(model|pretrained)=rules\.", body, re.M)} | {"train_model", "pretrain_public"}
    assert len(model_rules) >= 10, sorted(model_rules)
    for name in sorted(model_rules):
        body = rules[name]
        assert re.search(r"^\s+device=DEVICE,", body, re.M), f"rule {name} does not pass device=DEVICE"
        assert re.search(r"^\s+gpu=GPU,", body, re.M), f"rule {name} does not ask for gpu=GPU"
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert len(re.findall(r'config\["train"\]\["device"\]', "".join((ROOT / "workflow" / "rules").joinpath(p).read_text()
                                                                   for p in ("common.smk",)))) == 1
    assert "DEVICE = config[\"train\"][\"device\"]" in common
    for name, body in rules.items():
        assert '["device"]' not in body, f"rule {name} reads the device key itself"


# ------------------------------------------------------------------------------------------------- layout
def test_results_file_names_are_spelled_once():
    """Every file name of basset.layout.STAGES appears in the code only in layout.py (tests and docs may quote)."""
    from basset.layout import STAGES

    names = {name for files in STAGES.values() for name in files.values()}
    stems = {n[: -len(".png")] for n in names if n.endswith(".png")}  # figures: a PDF is written beside the PNG
    pattern = re.compile(r"[\"'/](" + "|".join(map(re.escape, sorted(names))) + r")[\"']"
                         r"|[\"'/](" + "|".join(map(re.escape, sorted(stems))) + r")\.(pdf|png)")
    sources = [p for p in [*PACKAGE.rglob("*.py"), *(ROOT / "workflow").rglob("*.py"),
                           *(ROOT / "workflow").rglob("*.smk"), ROOT / "Snakefile"] if p.name != "layout.py"]
    found = []
    for path in sources:
        text = path.read_text()
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0)}")
    assert not found, "results file names spelled outside basset.layout:\n" + "\n".join(found)

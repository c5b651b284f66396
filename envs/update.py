"""Write the conda environments of the rules (envs/*.yaml) from pyproject.toml's dependencies.

pyproject.toml owns which packages basset needs and which versions it accepts; this file owns only how those
packages are named on conda-forge and bioconda, which of them only pip carries, and what each environment adds
(bedtools, MEME). ``python envs/update.py`` rewrites the files; ``--check`` exits 1, naming the stale file, when
one differs from what it would write (tests/test_envs.py runs it). ``make envs`` does the first.

The environments hold third-party packages only, never basset itself: Snakemake copies an env file to
``.snakemake/conda/<hash>.yaml`` before building it, so a relative ``pip: -e ..`` would point into ``.snakemake/``.
The rule scripts import basset from the workflow's own ``src/`` (the Snakefile explains how).

Written here rather than with a tool: conda-lock and grayskull resolve against the channels, which this project's
machines cannot reach; the mapping itself is a dozen names.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import tomllib  # Python 3.11+: the Python of the environments and of the test suite

ROOT = Path(__file__).resolve().parents[1]

#: pip distribution name (lower case) -> conda-forge/bioconda package, where they differ
CONDA_NAME = {
    "torch": "pytorch",
    "isal": "python-isal",
    "matplotlib": "matplotlib-base",  # the library without a GUI toolkit
}

#: installed with pip inside the conda environment, and why
PIP_ONLY = {
    "pyjaspar": "bioconda's pyjaspar predates 4.0, the release that ships JASPAR 2024",
    "memelite": "published on PyPI only",
    "gkmsvm-lite": "published on PyPI only",
    "tangermeme": "published on PyPI only",
    "modisco-lite": "pinned to the PyPI release tested here (3.0, which the attribution stage's tests use)",
}

#: dependencies of the process that runs Snakemake, not of the rule jobs
RUNNER_ONLY = {
    "snakemake": "the workflow engine itself, installed where `snakemake` is started",
    "pygments": "Snakemake's HTML report, written by that process",
}

#: the Python of the environments: the one the test suite runs on
PYTHON = "3.11"

#: environment -> (first comment lines, conda packages added to the Python dependencies)
ENVS = {
    "basset": (
        ["Conda environment of every basset rule but tomtom_filters (`snakemake --use-conda`): the package's",
         "dependencies, with bedtools (used by pybedtools) from bioconda."],
        ["bedtools"],
    ),
    "meme": (
        ["Conda environment of rule tomtom_filters: the rules' Python dependencies and the MEME suite, so that",
         "`--use-conda` runs MEME's `tomtom` (the paper's tool). Without conda the rule runs MEME's tomtom where it",
         "is on PATH, else basset's engine."],
        ["meme=5.5"],
    ),
}

CHANNELS = ["conda-forge", "bioconda", "nodefaults"]


def dependencies(pyproject: Path = ROOT / "pyproject.toml") -> list[tuple[str, str]]:
    """``(name, version specifier)`` of every runtime dependency of pyproject.toml, in its order."""
    out = []
    for req in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        found = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*([^;]*?)\s*", req)
        if found is None or ";" in req or "[" in req or "@" in req:
            raise ValueError(f"{pyproject}: cannot map the dependency {req!r} to conda (name and version only)")
        out.append((found.group(1), found.group(2).replace(" ", "")))
    return out


def source(dist: str) -> tuple[str, str]:
    """Where dependency ``dist`` goes: ``("runner", "-")``, ``("pip", "-")`` or ``("conda", conda package)``."""
    key = dist.lower()
    if key in RUNNER_ONLY:
        return "runner", "-"
    if key in PIP_ONLY:
        return "pip", "-"
    return "conda", CONDA_NAME.get(key, key)


def env_text(name: str, deps: list[tuple[str, str]]) -> str:
    """The YAML of environment ``name``."""
    comment, extra = ENVS[name]
    conda, pip = [f"python={PYTHON}"], []
    for dist, spec in deps:
        where, package = source(dist)
        if where == "pip":
            pip.append(f"{dist}{spec}")
        elif where == "conda":
            conda.append(f"{package}{spec}")
    conda += extra + ["pip"]
    lines = [f"# {c}" for c in comment]
    lines += ["# Written by envs/update.py from pyproject.toml: change the dependencies there, then run `make envs`.",
              "channels:"] + [f"  - {c}" for c in CHANNELS] + ["dependencies:"]
    lines += [f"  - {d}" for d in conda] + ["  - pip:"] + [f"      - {d}" for d in pip]
    return "\n".join(lines) + "\n"


def tested_versions(deps: list[tuple[str, str]]) -> str:
    """A Markdown table of the versions installed here (the test suite's): pip name, version, the conda package
    that should carry the same version, and where it comes from in the environments."""
    from importlib.metadata import version

    rows = [f"| python | {sys.version.split()[0]} | python | conda-forge |"]
    label = {"runner": "runner only", "pip": "pip", "conda": "conda-forge / bioconda"}
    for dist, _ in deps:
        where, package = source(dist)
        rows.append(f"| {dist} | {version(dist).split('+')[0]} | {package} | {label[where]} |")
    return "\n".join(["| pip package | version tested | conda package | in the environments from |",
                      "|---|---|---|---|"] + rows) + "\n"


def main(argv=None, root: Path = ROOT) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a file differs from what would be written")
    ap.add_argument("--versions", action="store_true",
                    help="print the installed versions as envs/README.md's table, and write nothing")
    args = ap.parse_args(argv)
    deps = dependencies(root / "pyproject.toml")
    if args.versions:
        print(tested_versions(deps), end="")
        return 0
    stale = []
    for name in ENVS:
        path = root / "envs" / f"{name}.yaml"
        text = env_text(name, deps)
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(path)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(root)}")
    for path in stale:
        print(f"{path.relative_to(root)} is out of date with pyproject.toml: run `make envs`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())

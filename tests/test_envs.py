"""`snakemake --use-conda` as the README promises (issue 19).

No conda channel is reachable here, so the environments are never built in these tests. What can be checked is:
- the env files list every runtime dependency of pyproject.toml, with the same version range, and the versions
  the test suite runs on fall inside it;
- Snakemake's deployment (the env file copied to ``.snakemake/conda/<hash>.yaml``) leaves no entry pointing at a
  path relative to the env file (the old ``pip: -e ..`` pointed into ``.snakemake/``);
- every rule has an environment, the Tomtom rule MEME's, and a dry run with ``--use-conda`` (conda replaced by a
  stand-in that answers Snakemake's version checks) plans both;
- a rule job imports basset from the workflow's own ``src/`` when nothing installed it: a relocated copy of the
  workflow runs a job under a Python that has every third-party package and no basset, as a conda environment
  built from these files would.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from conftest import copy_workflow
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+, as envs/update.py

ROOT = Path(__file__).resolve().parents[1]
ENV_DIR = ROOT / "envs"
PYTHON_ENVS = ("basset.yaml", "meme.yaml")  # the environments of rules that run a basset script


def _update_module():
    spec = importlib.util.spec_from_file_location("envs_update", ENV_DIR / "update.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _entries(env: dict) -> tuple[dict[str, str], dict[str, str]]:
    """``(conda, pip)``: package name -> version specifier as written."""
    conda, pip = {}, {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for p in dep["pip"]:
                name, spec = re.fullmatch(r"([A-Za-z0-9._-]+)(.*)", p).groups()
                pip[canonicalize_name(name)] = spec
        else:
            name, spec = re.fullmatch(r"([A-Za-z0-9._-]+)(.*)", dep).groups()
            conda[name.lower()] = spec
    return conda, pip


def _runtime_requirements() -> list[Requirement]:
    return [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]


def test_env_files_are_written_from_pyproject():
    """The committed env files are what envs/update.py writes from pyproject.toml today."""
    res = subprocess.run([sys.executable, str(ENV_DIR / "update.py"), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_a_stale_env_file_is_named(tmp_path, capsys):
    mod = _update_module()
    (tmp_path / "envs").mkdir()
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    assert mod.main(["--check"], root=tmp_path) == 1  # missing files
    assert mod.main([], root=tmp_path) == 0 and mod.main(["--check"], root=tmp_path) == 0
    assert (tmp_path / "envs" / "basset.yaml").read_text() == (ENV_DIR / "basset.yaml").read_text()
    (tmp_path / "envs" / "meme.yaml").write_text("dependencies: []\n")
    capsys.readouterr()
    assert mod.main(["--check"], root=tmp_path) == 1
    assert capsys.readouterr().err == "envs/meme.yaml is out of date with pyproject.toml: run `make envs`\n"
    text = (tmp_path / "pyproject.toml").read_text().replace('"xlrd>=2"', '"xlrd @ https://example.org/x.whl"')
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ValueError, match=r"cannot map the dependency 'xlrd @ https://example.org/x.whl'"):
        mod.main(["--check"], root=tmp_path)


@pytest.mark.parametrize("env_file", PYTHON_ENVS)
def test_every_runtime_dependency_is_in_the_env_with_the_same_range(env_file):
    """Every runtime dependency of pyproject.toml (but those of the Snakemake process itself) appears under conda
    or pip, with pyproject's version range, and the version this test suite runs on lies in it."""
    mod = _update_module()
    conda, pip = _entries(yaml.safe_load((ENV_DIR / env_file).read_text()))
    for req in _runtime_requirements():
        key = canonicalize_name(req.name)
        if key in mod.RUNNER_ONLY:
            assert key not in pip and mod.CONDA_NAME.get(key, key) not in conda, key
            continue
        spec = pip[key] if key in pip else conda.get(mod.CONDA_NAME.get(key, key))
        assert spec is not None, f"{req.name} is missing from {env_file}"
        assert SpecifierSet(spec) == req.specifier, (req.name, spec, str(req.specifier))
        tested = Version(importlib.metadata.version(req.name))
        assert SpecifierSet(spec).contains(tested, prereleases=True), (req.name, spec, tested)
    requires = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    assert requires.contains(conda["python"].lstrip("=")), conda["python"]
    assert "basset" not in pip and "basset" not in conda


def test_meme_env_adds_meme_and_bedtools_stays_in_the_main_env():
    conda, _ = _entries(yaml.safe_load((ENV_DIR / "meme.yaml").read_text()))
    assert conda["meme"] == "=5.5"
    assert "bedtools" in _entries(yaml.safe_load((ENV_DIR / "basset.yaml").read_text()))[0]


def _looks_like_a_path(entry: str) -> bool:
    return bool(re.match(r"^\s*(-e|--editable|-r|--requirement|-c|--constraint|\.|/|~|file:)", entry)
                or re.search(r"(^|[\s=@])\.{1,2}/", entry))


@pytest.mark.parametrize("env_file", sorted(p.name for p in ENV_DIR.glob("*.yaml")))
def test_no_entry_depends_on_the_env_files_place(env_file, tmp_path):
    """Snakemake builds ``.snakemake/conda/<hash>.yaml``, a copy of the env file: no entry may be a path (an
    editable install, a requirements file, a local package), since it would resolve against that copy."""
    text = (ENV_DIR / env_file).read_text()
    deployed = tmp_path / "project" / ".snakemake" / "conda" / f"{hashlib.md5(text.encode()).hexdigest()}.yaml"
    deployed.parent.mkdir(parents=True)
    deployed.write_text(text)
    env = yaml.safe_load(deployed.read_text())
    entries = [p for d in env["dependencies"] for p in (d["pip"] if isinstance(d, dict) else [d])]
    assert entries
    for entry in entries:
        assert not _looks_like_a_path(entry), entry
        for base in (deployed.parent, ENV_DIR):
            assert not (base / entry.split("=")[0].strip()).exists(), (entry, base)
    assert _looks_like_a_path("-e ..") and _looks_like_a_path("./pkg") and _looks_like_a_path("file:../x")


def _rules():
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, ResourceSettings

    with SnakemakeApi() as api:
        wf = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(),
                          snakefile=ROOT / "Snakefile", workdir=ROOT)
        return {r.name: (r.conda_env, r.script) for r in wf._workflow.rules}


def test_every_rule_has_an_existing_env_and_tomtom_has_memes():
    rules = _rules()
    rules_dir = ROOT / "workflow" / "rules"
    for name, (env, script) in rules.items():
        if script is None:
            continue
        assert env is not None, f"rule {name} runs a script without a conda environment"
        path = (rules_dir / env).resolve()
        assert path.parent == ENV_DIR and path.name in PYTHON_ENVS, (name, env)
        assert path.name == ("meme.yaml" if name == "tomtom_filters" else "basset.yaml"), (name, env)


FAKE_CONDA = """#!/bin/sh
# stands in for conda: answers the checks Snakemake makes before a run; builds nothing
case "$*" in
  "--version") echo "conda 24.11.3" ;;
  "info --json") echo '{"conda_prefix": "PREFIX", "platform": "linux-64", "envs_dirs": [], "root_prefix": "PREFIX"}' ;;
  "config --get channel_priority --json") echo '{"get": {"channel_priority": "strict"}}' ;;
  *) echo "conda stand-in: $*: no channel is reachable" >&2; exit 1 ;;
esac
"""


def test_dry_run_with_conda_plans_the_meme_environment(tmp_path):
    """``snakemake -n --use-conda`` on the default: both environments would be built, MEME's for Tomtom."""
    (tmp_path / "conda").write_text(FAKE_CONDA.replace("PREFIX", str(tmp_path / "prefix")))
    (tmp_path / "conda").chmod(0o755)
    env = {"PATH": f"{tmp_path}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--use-conda", "--cores", "1",
                          "--conda-prefix", str(tmp_path / "envs")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "Conda environment envs/meme.yaml will be created" in out
    assert "Conda environment envs/basset.yaml will be created" in out
    assert re.search(r"^tomtom_filters\s+1$", out, re.M)


def _python_without_basset(tmp_path) -> Path:
    """A Python with every package of the test environment on its path but basset, as a conda env built from
    envs/basset.yaml has: a venv whose only addition is the test venv's site-packages as a plain directory
    (its .pth files, among them basset's editable install, are not read from there)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "jobenv")], check=True)
    python = tmp_path / "jobenv" / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = subprocess.run([python, "-c", "import numpy, snakemake, torch\nimport basset"], capture_output=True,
                           text=True, cwd=tmp_path)
    assert "No module named 'basset'" in probe.stderr, probe.stderr
    return python


@pytest.mark.parametrize("deployed", ["copy", "module"])
def test_a_job_imports_basset_from_the_workflows_src_without_an_install(tmp_path, deployed):
    """The workflow elsewhere, run by a Python without basset, either from its own folder (``copy``) or as a
    module of another project's Snakefile, as snakedeploy writes it (``module``): Snakemake parses it and the
    simulate_genome job runs, both importing basset from the workflow's src/ (the job's log names it)."""
    python = _python_without_basset(tmp_path)
    wf = tmp_path / "elsewhere" / "basset"
    wf.mkdir(parents=True)
    copy_workflow(wf, with_src=True)
    run = wf
    if deployed == "module":
        run = tmp_path / "project"
        shutil.copytree(ROOT / "config", run / "config")
        (run / "Snakefile").write_text(f'configfile: "config/tiny.yaml"\n\n\nmodule basset:\n'
                                       f'    snakefile:\n        "{wf / "Snakefile"}"\n    config:\n'
                                       f'        config\n\n\nuse rule * from basset\n')
    args = ["--cores", "1", "--until", "simulate_genome"] + (["--configfile", "config/tiny.yaml"] if run == wf else [])
    res = subprocess.run([python, "-m", "snakemake", *args], cwd=run, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    log = (run / "logs" / "tiny" / "simulate" / "simulate_genome.log").read_text()
    assert f"basset 0.1.0 from {(wf / 'src' / 'basset').resolve()}" in log, log[:2000]


def test_a_workflow_beside_another_installed_basset_says_so(tmp_path):
    """Run from a copy while this checkout is the installed basset: the Snakemake process uses the copy's src/,
    and warns that rules run without conda would import the installed one."""
    wf = tmp_path / "copy"
    wf.mkdir()
    copy_workflow(wf, with_src=True)
    installed = importlib.util.find_spec("basset").origin
    res = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=wf, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (f"basset is installed from {Path(installed).parent}, not from this workflow's {wf / 'src'}: rules run "
            f"without --use-conda will import the installed one") in " ".join((res.stdout + res.stderr).split())


def test_the_recorded_tested_versions_fit_the_ranges():
    """envs/README.md's table of tested versions: one row per runtime dependency, each version inside pyproject's
    range (so inside the environments' ranges)."""
    rows = re.findall(r"^\| (\S+) \| (\S+) \| (\S+) \| ([^|]+) \|$", (ENV_DIR / "README.md").read_text(), re.M)
    versions = {canonicalize_name(name): Version(v) for name, v, _, _ in rows if name not in ("pip", "python")}
    reqs = _runtime_requirements()
    assert set(versions) == {canonicalize_name(r.name) for r in reqs}
    for req in reqs:
        assert req.specifier.contains(versions[canonicalize_name(req.name)], prereleases=True), req

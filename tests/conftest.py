"""Fixtures shared by several test files: a small tmpfs for full-disk tests, a loopback HTTP server, and
``run_script`` to run a rule's script under a stand-in for Snakemake's ``snakemake`` object."""

import contextlib
import http.server
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest


def _shared_reference() -> Path:
    """``shared/reference`` in the nearest folder above the tests that has one: ``../shared`` beside the checkout,
    where CI puts it, also for mutmut's copy of the tests one level deeper (``mutants/tests``)."""
    here = Path(__file__).resolve()
    for parent in here.parents[1:]:
        if (parent / "shared" / "reference").is_dir():
            return parent / "shared" / "reference"
    return here.parents[2] / "shared" / "reference"


#: the project's shared reference files (CIS-BP, the paper's targets and AUROCs, the PICS excerpt); tests that read
#: them are skipped, naming the path, when they are absent
SHARED_REFERENCE = _shared_reference()


def this_basset_env() -> dict[str, str]:
    """The environment for a subprocess that must import the basset these tests imported (``src/`` of this
    checkout, or mutmut's mutated copy under ``mutants/src``), not whichever one is installed: ``PYTHONPATH``
    starts with its folder."""
    import basset

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(basset.__file__).resolve().parents[1]),
                                         *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 256 KiB tmpfs mounted on a fresh folder (skipped unless root and ``mount`` works); unmounted after."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "tmpfs"
    folder.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)], capture_output=True,
                         text=True)
    if res.returncode:
        pytest.skip(f"cannot mount a tmpfs: {res.stderr.strip()}")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill_up(folder, leave: int = 0):
    """Fill the file system of ``folder`` with ``folder/filler``, leaving about ``leave`` bytes free."""
    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as fh:
        fh.write(bytes(max(free - leave, 0)))


def leftovers(folder) -> list[str]:
    """Names in ``folder`` other than the filler (temporary files, staging folders, partial outputs)."""
    return sorted(p.name for p in folder.iterdir() if p.name != "filler")


@contextlib.contextmanager
def loopback_server(handler, **attributes):
    """An HTTP server on 127.0.0.1 (a free port) serving with ``handler`` in a thread; ``attributes`` are set on
    it (the handler reads them as ``self.server.<name>``) and ``.url`` is its base URL. Shut down on exit."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attributes.items():
        setattr(httpd, name, value)
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


class Namedlist(list):
    """A stand-in for Snakemake's Namedlist (a rule's input, output, params, log): a list of the values, each
    also reachable by its name as an attribute, as ``[name]`` and through ``.get()``; ``.items()`` and ``.keys()``
    give the names in order. As Snakemake does for files, a named list of files (``flatten``) is spread into the
    list and its name gives the list; params (not flattened) keep each value whole. Names that a list's methods
    take (``items``, ``count``...) are refused, as Snakemake refuses them, except ``index`` and ``sort``."""

    def __init__(self, named: dict | None = None, *, flatten: bool = True):
        super().__init__()
        self._names = {}
        for name, value in (named or {}).items():
            if name not in ("index", "sort") and hasattr(type(self), name):
                raise AttributeError(f"invalid name for a rule's input, output, params or log: {name}")
            if flatten and isinstance(value, (list, tuple)):
                value = list(value)
                self.extend(value)
            else:
                self.append(value)
            self._names[name] = value
            setattr(self, name, value)

    def __getitem__(self, key):
        return self._names[key] if isinstance(key, str) else super().__getitem__(key)

    def items(self):
        yield from self._names.items()

    def keys(self):
        return self._names.keys()

    def get(self, key, default=None):
        return self._names.get(key, default)


def copy_workflow(dest: Path, with_src: bool = False) -> Path:
    """The workflow's files (Snakefile, rules, config, envs, profiles) copied into ``dest``, and with ``with_src``
    the basset package as ``dest/src/basset`` (a checkout elsewhere, whose rules import it from there)."""
    root = Path(__file__).resolve().parents[1]
    for item in ("Snakefile", "workflow", "config", "envs", "profiles"):
        (shutil.copytree if (root / item).is_dir() else shutil.copy)(root / item, dest / item)
    if with_src:
        shutil.copytree(root / "src" / "basset", dest / "src" / "basset", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def run_script(rule: str, *, input: dict | None = None, output: dict, params: dict | None = None, log,
               threads: int = 1):
    """Run ``main`` of workflow/scripts/<rule>.py with a stand-in for the ``snakemake`` object: named
    ``input``, ``output`` and ``params`` (:class:`Namedlist`), ``log`` (a path, or a list of paths: the first is
    the rule's log) and ``threads``. Afterwards the root logger's file handlers (the rule's log, opened by
    ``setup_logging``) are closed and removed and ``sys.excepthook`` is put back. Returns what ``main`` returns."""
    spec = importlib.util.spec_from_file_location(rule, SCRIPTS / f"{rule}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    logs = [str(p) for p in log] if isinstance(log, (list, tuple)) else [str(log)]
    snakemake = types.SimpleNamespace(
        rule=rule, input=Namedlist(input), output=Namedlist(output), params=Namedlist(params, flatten=False),
        log=Namedlist(), threads=threads, wildcards=Namedlist(), resources=Namedlist(), config={})
    snakemake.log.extend(logs)
    hook = sys.excepthook
    try:
        return module.main(snakemake)
    finally:
        sys.excepthook = hook
        root = logging.getLogger()
        for handler in [h for h in root.handlers if isinstance(h, logging.FileHandler)]:
            root.removeHandler(handler)
            handler.close()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of tiny models (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``):
    on 2 shared cores they run many times faster without intra-op threads, and train bitwise the same weights."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

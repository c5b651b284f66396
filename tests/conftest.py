"""Fixtures shared by several test files: a small tmpfs for full-disk tests, a loopback HTTP server."""

import contextlib
import http.server
import os
import shutil
import subprocess
import threading

import pytest


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

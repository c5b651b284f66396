"""basset.download against a local HTTP server, the download stages, and the paper's sample sheet."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
from collections import Counter
from pathlib import Path

import pytest
from conftest import SHARED_REFERENCE, loopback_server, run_script

import basset.download
from basset.download import DownloadError, fetch, md5sum
from basset.errors import BassetError
from basset.samples import SAFE_NAME, read_sample_sheet
from basset.stages.download import download_file, index_genome

ROOT = Path(__file__).resolve().parents[1]
TARGETS = SHARED_REFERENCE / "basset_targets.txt"
SHEET = ROOT / "config" / "samples" / "encode_roadmap.tsv"

PLAIN = b"chr1\t100\t200\tpeak1\n" * 500
GZ = gzip.compress(PLAIN)
PLAIN_MD5 = hashlib.md5(PLAIN).hexdigest()
GZ_MD5 = hashlib.md5(GZ).hexdigest()


TRICKLE_INTERVAL = 0.25  # s between the bytes of /trickle
TRICKLE_BYTES = 80  # /trickle would need 20 s; the handler stops at the first failed write (client gone)


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves fixed bytes; ``/flaky`` fails with 500 once, ``/down`` always 500s, ``/moved`` and ``/found``
    redirect (301, 302), ``/truncated`` promises more bytes than it sends, ``/trickle`` sends one byte every
    ``TRICKLE_INTERVAL`` s; anything else is 404."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        server = self.server
        with server.lock:
            server.hits[self.path] += 1
            hits = server.hits[self.path]
        if self.path == "/plain.bed":
            self._send(200, PLAIN)
        elif self.path == "/peaks.bed.gz":
            self._send(200, GZ)
        elif self.path == "/flaky" and hits == 1:
            self._send(500, b"try again")
        elif self.path == "/flaky":
            self._send(200, PLAIN)
        elif self.path == "/down":
            self._send(500, b"server error")
        elif self.path == "/moved":
            self._redirect(301, "/plain.bed")
        elif self.path == "/found":
            self._redirect(302, f"{server.url}/peaks.bed.gz")
        elif self.path == "/truncated":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PLAIN) + 100))
            self.end_headers()
            self.wfile.write(PLAIN)  # then the connection closes (HTTP/1.0), 100 bytes short
        elif self.path == "/trickle":
            self._trickle()
        else:
            self._send(404, b"not found")

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(TRICKLE_BYTES))
        self.end_headers()
        try:
            for _ in range(TRICKLE_BYTES):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(TRICKLE_INTERVAL)
        except OSError:  # the client hung up (deadline, SIGTERM)
            pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep pytest's output quiet
        pass


@pytest.fixture
def server():
    with loopback_server(Handler, hits=Counter(), lock=threading.Lock()) as httpd:
        yield httpd


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if ".part-" in p.name)


def test_plain_download_with_md5(server, tmp_path):
    dest = tmp_path / "sub" / "plain.bed"
    out = fetch(f"{server.url}/plain.bed", dest, md5=PLAIN_MD5, backoff=0, progress=False)
    assert out == dest
    assert dest.read_bytes() == PLAIN
    assert md5sum(dest) == PLAIN_MD5
    assert leftovers(dest.parent) == []
    assert server.hits["/plain.bed"] == 1


def test_gunzip(server, tmp_path):
    dest = tmp_path / "peaks.bed"
    fetch(f"{server.url}/peaks.bed.gz", dest, md5=GZ_MD5, gunzip=True, backoff=0, progress=False)
    assert dest.read_bytes() == PLAIN
    assert leftovers(tmp_path) == []


def test_gunzip_of_plain_bytes_fails_cleanly(server, tmp_path):
    dest = tmp_path / "plain.bed"
    with pytest.raises(DownloadError, match="gunzip"):
        fetch(f"{server.url}/plain.bed", dest, gunzip=True, backoff=0, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_retry_after_server_error(server, tmp_path):
    dest = tmp_path / "flaky.bed"
    fetch(f"{server.url}/flaky", dest, md5=PLAIN_MD5, retries=3, backoff=0, progress=False)
    assert dest.read_bytes() == PLAIN
    assert server.hits["/flaky"] == 2
    assert leftovers(tmp_path) == []


def test_persistent_server_error_gives_up(server, tmp_path):
    dest = tmp_path / "down.bed"
    with pytest.raises(DownloadError, match=r"after 3 attempts.*500") as info:
        fetch(f"{server.url}/down", dest, retries=3, backoff=0, progress=False)
    assert isinstance(info.value, BassetError)
    assert f"{server.url}/down" in str(info.value)
    assert server.hits["/down"] == 3
    assert list(tmp_path.iterdir()) == []


def test_not_found_fails_at_once(server, tmp_path):
    dest = tmp_path / "missing.bed"
    with pytest.raises(DownloadError, match="404") as info:
        fetch(f"{server.url}/missing", dest, retries=5, backoff=0, progress=False)
    assert info.value.status == 404
    assert f"{server.url}/missing" in str(info.value)
    assert server.hits["/missing"] == 1
    assert list(tmp_path.iterdir()) == []


def test_wrong_checksum(server, tmp_path):
    dest = tmp_path / "plain.bed"
    wrong = "0" * 32
    with pytest.raises(DownloadError) as info:
        fetch(f"{server.url}/plain.bed", dest, md5=wrong, backoff=0, progress=False)
    message = str(info.value)
    assert wrong in message and PLAIN_MD5 in message and f"{server.url}/plain.bed" in message
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_existing_file_replaced_only_on_success(server, tmp_path):
    dest = tmp_path / "plain.bed"
    dest.write_bytes(b"old contents\n")
    with pytest.raises(DownloadError):
        fetch(f"{server.url}/down", dest, retries=2, backoff=0, progress=False)
    assert dest.read_bytes() == b"old contents\n"
    with pytest.raises(DownloadError):
        fetch(f"{server.url}/plain.bed", dest, md5="f" * 32, backoff=0, progress=False)
    assert dest.read_bytes() == b"old contents\n"
    assert leftovers(tmp_path) == []
    fetch(f"{server.url}/plain.bed", dest, md5=PLAIN_MD5, backoff=0, progress=False)
    assert dest.read_bytes() == PLAIN
    assert [p.name for p in tmp_path.iterdir()] == ["plain.bed"]


@pytest.mark.parametrize("md5", [0, 12345678901234567890123456789012, "abc", "g" * 32])
def test_malformed_md5_is_refused_before_downloading(server, tmp_path, md5):
    with pytest.raises(DownloadError, match="32 hexadecimal"):
        fetch(f"{server.url}/plain.bed", tmp_path / "plain.bed", md5=md5, backoff=0, progress=False)
    assert server.hits["/plain.bed"] == 0
    assert list(tmp_path.iterdir()) == []


def test_md5_is_case_insensitive(server, tmp_path):
    fetch(f"{server.url}/plain.bed", tmp_path / "p", md5=PLAIN_MD5.upper(), backoff=0, progress=False)
    assert md5sum(tmp_path / "p") == PLAIN_MD5


def test_file_url(tmp_path):
    source = tmp_path / "source.bed.gz"
    source.write_bytes(GZ)
    dest = tmp_path / "out" / "copy.bed"
    fetch(source.as_uri(), dest, md5=GZ_MD5, gunzip=True, backoff=0, progress=False)
    assert dest.read_bytes() == PLAIN
    with pytest.raises(DownloadError, match="cannot read"):
        fetch((tmp_path / "absent.bed").as_uri(), tmp_path / "out" / "absent.bed", backoff=0, progress=False)
    assert leftovers(dest.parent) == []


def test_connection_refused_is_retried_then_fails(tmp_path):
    # Bind and close a socket to get a port that nothing listens on.
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError, match="after 2 attempts"):
        fetch(f"http://127.0.0.1:{port}/x", tmp_path / "x", retries=2, backoff=0, timeout=5, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_truncated_body_is_retried_then_fails(server, tmp_path):
    """A Content-Length larger than the bytes sent (connection closed early) is a transient failure: retried,
    then DownloadError; nothing is left in the folder."""
    dest = tmp_path / "truncated.bed"
    with pytest.raises(DownloadError, match=rf"after 2 attempts: truncated: received {len(PLAIN)} of "
                                            rf"{len(PLAIN) + 100} bytes"):
        fetch(f"{server.url}/truncated", dest, retries=2, backoff=0, progress=False)
    assert server.hits["/truncated"] == 2
    assert list(tmp_path.iterdir()) == []


def test_redirects_are_followed(server, tmp_path):
    """301 to a relative path and 302 to an absolute URL are followed; the bytes are the target's."""
    fetch(f"{server.url}/moved", tmp_path / "moved.bed", md5=PLAIN_MD5, backoff=0, progress=False)
    assert (tmp_path / "moved.bed").read_bytes() == PLAIN
    fetch(f"{server.url}/found", tmp_path / "found.bed", md5=GZ_MD5, gunzip=True, backoff=0, progress=False)
    assert (tmp_path / "found.bed").read_bytes() == PLAIN
    assert server.hits == Counter({"/moved": 1, "/plain.bed": 1, "/found": 1, "/peaks.bed.gz": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["found.bed", "moved.bed"]


@pytest.fixture
def no_sleep(monkeypatch):
    """Record the back-off waits of basset.download instead of sleeping (only that module's ``time``)."""
    waits: list[float] = []
    fake = types.SimpleNamespace(sleep=waits.append, monotonic=time.monotonic)
    monkeypatch.setattr(basset.download, "time", fake)
    return waits


def attempts_logged(caplog) -> int:
    return sum("(attempt " in r.getMessage() for r in caplog.records if r.name == "basset.download")


@pytest.mark.parametrize("path, problem", [
    ("/with space.bed", "contains a space at character"),
    ("/tab\there.bed", "control character"),
    ("HOST/plain.bed", "no scheme"),
    ("plain.bed", "no scheme"),
    ("htp://HOST/plain.bed", "unknown url type 'htp'"),
    ("http:///plain.bed", "no host"),
    ("http://127.0.0.1:80x/plain.bed", "bad port"),
])
def test_malformed_url_fails_at_once(server, tmp_path, no_sleep, caplog, path, problem):
    """Reproduction: ``fetch(server.url + "/with space.bed", ...)`` raised http.client.InvalidURL inside
    urlopen, an HTTPException, and was retried ``retries`` times with back-off, as were an unknown scheme, a
    missing host and a non-numeric port; ``fetch("plain.bed", ...)`` escaped as a bare ValueError. Now:
    DownloadError naming the URL and the problem, no request, no back-off."""
    host = server.url.removeprefix("http://")
    url = path.replace("HOST", host)
    url = server.url + url if url.startswith("/") else url
    caplog.set_level(logging.INFO, logger="basset.download")
    with pytest.raises(DownloadError, match="malformed URL") as info:
        fetch(url, tmp_path / "x.bed", retries=3, backoff=30, progress=False)
    assert problem in str(info.value) and url in str(info.value)
    assert attempts_logged(caplog) <= 1 and no_sleep == []
    assert sum(server.hits.values()) == 0
    assert list(tmp_path.iterdir()) == []


def test_invalid_url_raised_by_http_client_is_not_retried(server, tmp_path, no_sleep, caplog, monkeypatch):
    """Reproduction: with the up-front check bypassed, http.client.InvalidURL (a space in the path) was
    caught as an HTTPException and retried; it is permanent: one attempt, no back-off, no request sent."""
    monkeypatch.setattr(basset.download, "check_url", lambda url: None)
    caplog.set_level(logging.INFO, logger="basset.download")
    url = f"{server.url}/with space.bed"
    with pytest.raises(DownloadError, match="malformed URL") as info:
        fetch(url, tmp_path / "x.bed", retries=3, backoff=30, progress=False)
    assert url in str(info.value)
    assert attempts_logged(caplog) == 1 and no_sleep == []
    assert sum(server.hits.values()) == 0
    assert list(tmp_path.iterdir()) == []


def test_slow_server_hits_the_deadline_and_is_retried(server, tmp_path):
    """Reproduction: a server trickling one byte every 0.25 s never trips the per-read socket timeout, and
    ``response.read(1 MiB)`` waited for the whole body (20 s here, forever for a real trickle). With
    ``deadline=1`` each attempt stops after about 1 s, counts as transient, and the last one fails."""
    dest = tmp_path / "slow.bed"
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"after 2 attempts: deadline of 1 s passed after \d+ of 80 bytes"):
        fetch(f"{server.url}/trickle", dest, retries=2, backoff=0, timeout=5, deadline=1, progress=False)
    elapsed = time.monotonic() - start
    assert 1.9 <= elapsed < 6
    assert server.hits["/trickle"] == 2
    assert list(tmp_path.iterdir()) == []


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_dead_processes_are_swept(server, tmp_path):
    """Reproduction: a ``kill -9`` during a download left its part file for ever. fetch now sweeps the
    ``.part-<pid>-`` (and ``.tmp-<pid>-``) files of processes that are gone, and leaves live ones alone."""
    stale = tmp_path / f".part-{dead_pid()}-plain.bed"
    stale.write_bytes(b"half")
    live = tmp_path / f".part-{os.getppid()}-other.bed"  # our parent is alive: another job writing now
    live.write_bytes(b"busy")
    fetch(f"{server.url}/plain.bed", tmp_path / "plain.bed", md5=PLAIN_MD5, backoff=0, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "plain.bed"]


def test_sigterm_during_download_removes_the_part_file(server, tmp_path):
    """Reproduction: ``kill -TERM`` of a process downloading from a slow server ended it without running any
    clean-up and left a 0-byte ``.<name>.part-*`` file. Now the part file is ``.part-<pid>-<name>``, SIGTERM
    removes it, and the process still ends as killed by SIGTERM."""
    dest = tmp_path / "slow.bed"
    code = ("import sys; from basset.download import fetch; "
            "fetch(sys.argv[1], sys.argv[2], retries=1, timeout=30, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code, f"{server.url}/trickle", str(dest)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        part = tmp_path / f".part-{proc.pid}-slow.bed"
        limit = time.monotonic() + 30
        while not part.exists() and proc.poll() is None and time.monotonic() < limit:
            time.sleep(0.05)
        assert part.exists(), f"no {part.name} while downloading: {sorted(p.name for p in tmp_path.iterdir())}"
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert returncode == -signal.SIGTERM, stderr
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


# --- the stage functions of the download rules ------------------------------------------------------------


def test_download_file_script_and_stage(server, tmp_path):
    dest = tmp_path / "resources" / "peaks.bed"
    run_script("download_file", output={"file": str(dest)},
               params={"url": f"{server.url}/peaks.bed.gz", "md5": GZ_MD5, "gunzip": True},
               log=tmp_path / "rule.log")
    assert dest.read_bytes() == PLAIN
    assert "(verified)" in (tmp_path / "rule.log").read_text()
    again = download_file(out={"file": str(tmp_path / "plain.bed")}, url=f"{server.url}/plain.bed")
    assert again == {"file": str(tmp_path / "plain.bed"), "bytes": len(PLAIN)}


def test_download_file_script_fails_naming_the_url(server, tmp_path):
    with pytest.raises(DownloadError, match="MD5 mismatch"):
        run_script("download_file", output={"file": str(tmp_path / "x.bed")},
                   params={"url": f"{server.url}/plain.bed", "md5": "0" * 32, "gunzip": False},
                   log=tmp_path / "rule.log")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rule.log"]


def test_index_genome_links_and_indexes_outside_the_users_folder(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "genome.fa").write_text(">chr1\nACGTACGTAC\nGT\n>chr2\nAAAA\n")
    user.chmod(0o555)  # read-only: nothing may be written beside the user's FASTA
    try:
        link = tmp_path / "resources" / "genome" / "genome.fa"
        run_script("index_genome", input={"fasta": str(user / "genome.fa")},
                   output={"fasta": str(link), "fai": f"{link}.fai"}, log=tmp_path / "rule.log")
    finally:
        user.chmod(0o755)
    assert "(2 sequences, 16 bp)" in (tmp_path / "rule.log").read_text()
    again = tmp_path / "again" / "genome.fa"
    assert index_genome(fasta=str(user / "genome.fa"), out={"fasta": str(again), "fai": f"{again}.fai"}) == \
        {"sequences": 2, "bp": 16}
    assert link.is_symlink() and link.resolve() == (user / "genome.fa").resolve()
    assert Path(f"{link}.fai").read_text().split("\n")[0].split("\t")[:2] == ["chr1", "12"]
    assert sorted(p.name for p in user.iterdir()) == ["genome.fa"]


# --- the paper's sample sheet ---------------------------------------------------------------------------


def read_targets() -> list[tuple[str, str]]:
    rows = []
    for line in TARGETS.read_text().splitlines():
        if line.strip():
            label, path = line.split("\t")
            rows.append((label.strip(), path.strip()))
    return rows


@pytest.mark.skipif(not TARGETS.exists(), reason="shared reference basset_targets.txt not available")
def test_encode_roadmap_sheet_matches_targets():
    targets = read_targets()
    sheet = read_sample_sheet(SHEET)
    assert len(sheet) == len(targets) == 164
    assert list(sheet["label"]) == [label for label, _ in targets]
    assert [url.rsplit("/", 1)[1] for url in sheet["peaks"]] == [path.split("/", 1)[1] for _, path in targets]
    assert all(SAFE_NAME.match(name) for name in sheet["name"])
    assert sheet["name"].is_unique
    assert Counter(sheet["format"]) == {"narrowPeak": 125, "hotspot": 39}
    for (_, path), url, fmt in zip(targets, sheet["peaks"], sheet["format"]):
        if path.startswith("encode/"):
            assert url.startswith("https://hgdownload.soe.ucsc.edu/goldenPath/hg19/encodeDCC/wgEncodeAwgDnaseUniform/")
            assert fmt == "narrowPeak"
        else:
            assert url.startswith(
                "https://egg2.wustl.edu/roadmap/data/byFileType/peaks/consolidated/narrowPeak/archive_DNase_hotspot_peaks/"
            )
            assert fmt == "hotspot"
    assert all(md5 == "" or re.fullmatch(r"[0-9a-f]{32}", md5) for md5 in sheet["md5"])


def test_encode_roadmap_sheet_is_valid_without_reference():
    sheet = read_sample_sheet(SHEET)
    assert len(sheet) == 164
    assert Counter(sheet["format"]) == {"narrowPeak": 125, "hotspot": 39}

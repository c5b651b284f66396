"""basset.download against a local HTTP server, and the paper's sample sheet."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import re
import threading
from collections import Counter
from pathlib import Path

import pytest

from basset.download import DownloadError, fetch, md5sum
from basset.errors import BassetError
from basset.samples import SAFE_NAME, read_sample_sheet

ROOT = Path(__file__).resolve().parents[1]
TARGETS = Path("/work/shared/reference/basset_targets.txt")
SHEET = ROOT / "config" / "samples" / "encode_roadmap.tsv"

PLAIN = b"chr1\t100\t200\tpeak1\n" * 500
GZ = gzip.compress(PLAIN)
PLAIN_MD5 = hashlib.md5(PLAIN).hexdigest()
GZ_MD5 = hashlib.md5(GZ).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves fixed bytes; ``/flaky`` fails with 500 once, ``/down`` always 500s, anything else is 404."""

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
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep pytest's output quiet
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.hits = Counter()
    httpd.lock = threading.Lock()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


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

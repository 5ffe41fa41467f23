"""`corpora list|info|fetch|import` and the data resolution order.

fetch runs against a real HTTP server on 127.0.0.1 that serves a small
tarball in the aclImdb layout, built from records of the embedded sample, so
that the converted JSONL can be compared byte for byte with the sample's own
lines (the format of ../shared/corpora/imdb).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nlpkit import corpora
from nlpkit.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "corpora" / "imdb-sample"
ID_RE = re.compile(r"^(train|test)/(pos|neg|unsup)/(\d+)_(\d+)$")


# --------------------------------------------------------------------------- a small aclImdb


def sample_lines(split: str, n_per_label: int) -> list[bytes]:
    """The first raw JSONL lines of the sample per label, in the corpus order (pos, then neg, by id)."""
    with gzip.open(SAMPLE / f"{split}.jsonl.gz", "rb") as f:
        lines = [line for line in f if line.strip()]
    chosen = []
    for label in ("pos", "neg"):
        mine = [line for line in lines if json.loads(line)["label"] == label][:n_per_label]
        chosen += sorted(mine, key=lambda line: int(ID_RE.match(json.loads(line)["id"]).group(3)))
    return chosen


UNSUP_TEXT = "An unlabelled review, caf\u00e9 and all.<br /><br />Still no stars."


def acl_files() -> dict[str, bytes]:
    """aclImdb/ member name -> content: 3 + 3 train, 2 + 2 test, 1 unsup, plus files that are not reviews."""
    files = {"aclImdb/README": b"readme", "aclImdb/imdb.vocab": b"the\nand\n",
             "aclImdb/train/urls_pos.txt": b"http://example\n", "aclImdb/train/unsup/7_0.txt": UNSUP_TEXT.encode()}
    for split, n in (("train", 3), ("test", 2)):
        for line in sample_lines(split, n):
            record = json.loads(line)
            files[f"aclImdb/{record['id']}.txt"] = record["text"].encode("utf-8")
    return files


def make_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in sorted(files, reverse=True):  # an order unlike the corpus's: conversion must sort
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def tarball() -> bytes:
    return make_tarball(acl_files())


def check_converted(directory: Path) -> None:
    """The converted corpus holds exactly the sample's lines (same bytes), in corpus order."""
    for split, n in (("train", 3), ("test", 2)):
        with gzip.open(directory / f"{split}.jsonl.gz", "rb") as f:
            assert f.read().splitlines(keepends=True) == sample_lines(split, n)
    with gzip.open(directory / "unsup.jsonl.gz", "rt") as f:
        assert [json.loads(line) for line in f] == [
            {"id": "train/unsup/7_0", "text": UNSUP_TEXT, "label": None, "rating": None}]
    manifest = json.loads((directory / "corpus.json").read_text())
    assert {s: v["records"] for s, v in manifest["splits"].items()} == {"train": 6, "test": 4, "unsup": 1}
    assert manifest["verified"] is False  # a subset: its checksums cannot match the full corpus


# --------------------------------------------------------------------------- a local HTTP server


class Server:
    """Serves byte strings by path, honours Range, and can cut a response short once."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.cut_once: dict[str, int] = {}  # path -> bytes to send before hanging up (first request only)
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                match = re.match(r"bytes=(\d+)-$", self.headers.get("Range") or "")
                if match:
                    start = int(match.group(1))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cut = server.cut_once.pop(self.path, None)
                if cut is not None:
                    self.wfile.write(body[start:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty nlpkit cache."""
    path = tmp_path / "home"
    monkeypatch.setenv("NLPKIT_HOME", str(path))
    return path


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --------------------------------------------------------------------------- fetch


def test_fetch_downloads_checks_and_converts(invoke, server, home, tarball):
    server.files["/aclImdb_v1.tar.gz"] = tarball
    result = invoke("corpora", "fetch", "imdb", "--url", server.url("/aclImdb_v1.tar.gz"), "--md5", md5(tarball))
    assert result.exit_code == 0, result.stderr
    assert "train 6, test 4, unsup 1 records" in result.stderr
    check_converted(home / "corpora" / "imdb")
    assert not (home / "downloads" / "aclImdb_v1.tar.gz").exists()  # the archive goes once converted
    assert server.requests == [("/aclImdb_v1.tar.gz", None)]


def test_fetch_resumes_an_interrupted_transfer_with_range(invoke, server, home, tarball):
    server.files["/a.tgz"] = tarball
    half = len(tarball) // 2
    server.cut_once["/a.tgz"] = half
    result = invoke("corpora", "fetch", "imdb", "--url", server.url("/a.tgz"), "--md5", md5(tarball))
    assert result.exit_code == 0, result.stderr
    # the second request asked only for the rest
    assert server.requests == [("/a.tgz", None), ("/a.tgz", f"bytes={half}-")]
    check_converted(home / "corpora" / "imdb")


def test_fetch_resumes_on_the_next_run(invoke, server, home, tarball):
    server.files["/a.tgz"] = tarball
    server.cut_once["/a.tgz"] = 1000
    args = ("corpora", "fetch", "imdb", "--url", server.url("/a.tgz"), "--md5", md5(tarball))
    first = invoke(*args, "--retries", "0")
    assert first.exit_code == 1
    assert f"interrupted at 1,000 of {len(tarball):,} bytes" in first.stderr
    assert "run the same command again to resume" in first.stderr
    assert "Traceback" not in first.stderr
    assert (home / "downloads" / "aclImdb_v1.tar.gz.part").stat().st_size == 1000
    second = invoke(*args, "--retries", "0")
    assert second.exit_code == 0, second.stderr
    assert server.requests[-1] == ("/a.tgz", "bytes=1000-")
    check_converted(home / "corpora" / "imdb")


def test_fetch_refuses_a_bad_checksum_and_deletes_the_download(invoke, server, home, tarball):
    corrupt = bytearray(tarball)
    corrupt[len(corrupt) // 2] ^= 0xFF
    server.files["/a.tgz"] = bytes(corrupt)
    result = invoke("corpora", "fetch", "imdb", "--url", server.url("/a.tgz"), "--md5", md5(tarball))
    assert result.exit_code == 1
    assert f"checksum mismatch (md5 {md5(bytes(corrupt))}, expected {md5(tarball)})" in result.stderr
    assert "Traceback" not in result.stderr
    assert not list((home / "downloads").iterdir())  # neither the file nor a .part to resume into
    assert not (home / "corpora" / "imdb").exists()


def test_fetch_expects_the_official_checksum_from_a_mirror(invoke, server, home, tarball):
    server.files["/mirror.tgz"] = tarball  # not the authors' archive: its size and md5 differ
    result = invoke("corpora", "fetch", "imdb", "--url", server.url("/mirror.tgz"))
    assert result.exit_code == 1
    assert f"downloaded {len(tarball):,} bytes, expected 84,125,825" in result.stderr


def test_fetch_of_something_that_is_not_a_tarball(invoke, server, home):
    page = b"<html><body>Moved to a new site</body></html>\n"
    server.files["/a.tgz"] = page
    result = invoke("corpora", "fetch", "imdb", "--url", server.url("/a.tgz"), "--md5", md5(page))
    assert result.exit_code == 1
    assert "aclImdb_v1.tar.gz: not a (gzip) tar archive" in result.stderr
    assert not (home / "corpora" / "imdb").exists()


def test_fetch_of_a_tarball_without_reviews(invoke, server, home):
    data = make_tarball({"other/readme.txt": b"hello"})
    server.files["/a.tgz"] = data
    result = invoke("corpora", "fetch", "imdb", "--url", server.url("/a.tgz"), "--md5", md5(data))
    assert result.exit_code == 1
    assert "no train and test reviews found (no reviews)" in result.stderr


def test_fetch_http_error_and_unknown_corpus(invoke, server, home):
    result = invoke("corpora", "fetch", "imdb", "--url", server.url("/missing.tgz"))
    assert result.exit_code == 1
    assert "HTTP 404" in result.stderr and "Traceback" not in result.stderr
    result = invoke("corpora", "fetch", "imbd")
    assert result.exit_code == 1
    assert "unknown corpus 'imbd'; known: ag_news, imdb, nfcorpus, scifact, sst2" in result.stderr


# --------------------------------------------------------------------------- import


@pytest.mark.parametrize("form", ["tarball", "aclImdb directory", "its parent directory", "jsonl directory"])
def test_import_from_each_form(invoke, home, tmp_path, tarball, form):
    source = tmp_path / "source"
    source.mkdir()
    if form == "tarball":
        path = source / "aclImdb_v1.tar.gz"
        path.write_bytes(tarball)
    elif form == "jsonl directory":
        corpora.import_corpus("imdb", _write_tar(source, tarball), dest=source / "jsonl")
        path = source / "jsonl"
    else:
        with tarfile.open(fileobj=io.BytesIO(tarball)) as tar:
            tar.extractall(source, filter="data")
        path = source / "aclImdb" if form == "aclImdb directory" else source
    result = invoke("corpora", "import", "imdb", path)
    assert result.exit_code == 0, result.stderr
    check_converted(home / "corpora" / "imdb")


def _write_tar(directory: Path, data: bytes) -> Path:
    path = directory / "a.tar.gz"
    path.write_bytes(data)
    return path


def test_import_the_sample_and_list_it(invoke, home):
    result = invoke("corpora", "import", "imdb", SAMPLE)
    assert result.exit_code == 0, result.stderr
    listed = json.loads(invoke("corpora", "list", "--json").stdout)
    cache = next(r for r in listed if r["origin"] == "cache")
    assert cache["present"] and cache["path"] == str(home / "corpora" / "imdb") and cache["bytes"] > 0
    info = json.loads(invoke("corpora", "info", "imdb", "--json").stdout)
    assert info["path"] == str(home / "corpora" / "imdb")
    assert info["splits"]["train"]["labels"] == {"neg": 500, "pos": 500}


def test_import_refuses_what_is_not_a_corpus(invoke, home, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("corpora", "import", "imdb", empty)
    assert result.exit_code == 1
    assert "not a corpus: expected a tarball, an aclImdb/ directory" in result.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.jsonl").write_text('{"text": "fine", "label": "pos"}\n{"text": "no label"}\n')
    (bad / "test.jsonl").write_text('{"text": "fine", "label": "pos"}\n')
    result = invoke("corpora", "import", "imdb", bad)
    assert result.exit_code == 1
    assert f"{bad / 'train.jsonl'}:2: not a corpus record" in result.stderr
    assert not (home / "corpora" / "imdb").exists()


# --------------------------------------------------------------------------- resolution order


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Cache, shared and sample locations under tmp_path, each filled on demand."""
    dirs = {"cache": tmp_path / "cache", "shared": tmp_path / "shared", "sample": tmp_path / "sample"}
    monkeypatch.setattr(corpora, "cache_corpus_dir", lambda name="imdb": dirs["cache"])
    monkeypatch.setattr(corpora, "shared_corpus_dir", lambda name="imdb": dirs["shared"])
    monkeypatch.setattr(corpora, "sample_dir", lambda name="imdb": dirs["sample"])

    def fill(where: str) -> Path:
        dirs[where].mkdir()
        for split in ("train", "test"):
            (dirs[where] / f"{split}.jsonl").write_text('{"text": "x", "label": "pos"}\n')
        return dirs[where]

    return fill


def test_resolution_order(places, tmp_path):
    with pytest.raises(corpora.ResourceMissing, match="nlpkit corpora fetch imdb"):
        corpora.resolve("imdb")
    places("sample")
    source = corpora.resolve("imdb")
    assert source.origin == "sample" and "NOT comparable with published ones" in source.notice
    places("shared")
    assert (corpora.resolve("imdb").origin, corpora.resolve("imdb").notice) == ("shared", None)
    places("cache")
    assert corpora.resolve("imdb").origin == "cache"
    given = corpora.resolve("imdb", data=SAMPLE)
    assert (given.origin, given.path) == ("--data", SAMPLE)
    sample = corpora.resolve("imdb", data=tmp_path / "sample")  # the sample, named with --data, still says so
    assert sample.origin == "sample" and "NOT comparable" in sample.notice
    with pytest.raises(InputError, match="not a corpus directory"):
        corpora.resolve("imdb", data=tmp_path)


def test_list_shows_where_each_place_is(invoke, places):
    places("shared")
    rows = [r for r in json.loads(invoke("corpora", "list", "--json").stdout) if r["name"].startswith("imdb")]
    assert [(r["name"], r["origin"], r["present"]) for r in rows] == [
        ("imdb", "cache", False), ("imdb", "shared", True), ("imdb-sample", "sample", False)]
    table = invoke("corpora", "list").stdout
    assert "shared" in table and "yes" in table


def test_info_of_the_sample(invoke):
    result = invoke("corpora", "info", "imdb-sample")
    assert result.exit_code == 0
    assert "train    1,000 records (neg 500, pos 500)" in result.stdout
    assert "test     1,000 records (neg 500, pos 500)" in result.stdout


def test_a_conversion_identical_to_the_reference_is_verified(invoke, home, tmp_path, tarball, monkeypatch):
    import dataclasses

    # the reference checksums of a corpus that is exactly this small one
    unsup = (json.dumps({"id": "train/unsup/7_0", "text": UNSUP_TEXT, "label": None, "rating": None}) + "\n").encode()
    reference = {"train": hashlib.sha256(b"".join(sample_lines("train", 3))).hexdigest(),
                 "test": hashlib.sha256(b"".join(sample_lines("test", 2))).hexdigest(),
                 "unsup": hashlib.sha256(unsup).hexdigest()}
    monkeypatch.setitem(corpora.KNOWN, "imdb", dataclasses.replace(corpora.KNOWN["imdb"], jsonl_sha256=reference))
    result = invoke("corpora", "import", "imdb", _write_tar(tmp_path, tarball))
    assert result.exit_code == 0, result.stderr
    assert "(sha256 of every split matches the reference corpus)" in result.stderr
    assert json.loads((home / "corpora" / "imdb" / "corpus.json").read_text())["verified"] is True

"""`corpora fetch sst2|ag_news` against a real HTTP server on 127.0.0.1: the happy path, a bad checksum, a wrong format.

The served files have the layout of the real ones (GLUE's SST-2.zip with
SST-2/{train,dev,test}.tsv; Zhang et al.'s train.csv and test.csv), a few lines each.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import zipfile

import pytest
import test_corpora
from test_corpora import md5

from nlpkit import corpora

# the same local HTTP server and empty cache as the imdb tests
server = test_corpora.server
home = test_corpora.home


def split(home, name: str, which: str) -> list[dict]:
    with gzip.open(home / "corpora" / name / f"{which}.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


# --------------------------------------------------------------------------- SST-2

SST2_FILES = {
    "SST-2/train.tsv": "sentence\tlabel\nhide new secretions from the parental units \t0\nthe greatest musicians \t1\n"
                       "contains no wit , only labored gags \t0\n",
    "SST-2/dev.tsv": "sentence\tlabel\nit 's a charming and often affecting journey . \t1\nunflinchingly bleak \t0\n",
    "SST-2/test.tsv": "index\tsentence\n0\tuneasy mishmash of styles and genres .\n",
}


def make_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_fetch_sst2(invoke, server, home):
    data = make_zip(SST2_FILES)
    server.files["/glue/SST-2.zip"] = data
    result = invoke("corpora", "fetch", "sst2", "--url", server.url("/glue/SST-2.zip"), "--md5", md5(data))
    assert result.exit_code == 0, result.stderr
    assert "sst2: train 3, test 2, unsup 1 records" in result.stderr
    assert split(home, "sst2", "train") == [
        {"id": "train/1", "text": "hide new secretions from the parental units ", "label": "negative"},
        {"id": "train/2", "text": "the greatest musicians ", "label": "positive"},
        {"id": "train/3", "text": "contains no wit , only labored gags ", "label": "negative"}]
    assert [r["label"] for r in split(home, "sst2", "test")] == ["positive", "negative"]  # GLUE's dev set
    assert split(home, "sst2", "unsup") == [
        {"id": "unsup/1", "text": "uneasy mishmash of styles and genres .", "label": None}]
    manifest = json.loads((home / "corpora" / "sst2" / "corpus.json").read_text())
    assert manifest["name"] == "sst2" and manifest["source"]["md5"] == md5(data)
    assert not (home / "downloads" / "SST-2.zip").exists()


def test_fetch_sst2_refuses_a_bad_checksum(invoke, server, home):
    good = make_zip(SST2_FILES)
    server.files["/SST-2.zip"] = good[:-1] + bytes([good[-1] ^ 0xFF])
    result = invoke("corpora", "fetch", "sst2", "--url", server.url("/SST-2.zip"), "--md5", md5(good))
    assert result.exit_code == 1
    assert f"checksum mismatch (md5 {md5(server.files['/SST-2.zip'])}, expected {md5(good)})" in result.stderr
    assert "Traceback" not in result.stderr and not (home / "corpora" / "sst2").exists()


@pytest.mark.parametrize("files, problem", [
    ({k: v for k, v in SST2_FILES.items() if k != "SST-2/train.tsv"}, "no SST-2/train.tsv in the archive"),
    ({**SST2_FILES, "SST-2/dev.tsv": "sentence\tlabel\nfine \t1\nno label here\n"},
     "SST-2/dev.tsv:3: expected sentence TAB label, got 'no label here'"),
    (None, "not a zip archive"),
])
def test_fetch_sst2_of_the_wrong_format(invoke, server, home, files, problem):
    data = make_zip(files) if files else b"<html>moved</html>\n"
    server.files["/SST-2.zip"] = data
    result = invoke("corpora", "fetch", "sst2", "--url", server.url("/SST-2.zip"), "--md5", md5(data))
    assert result.exit_code == 1
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert not (home / "corpora" / "sst2").exists()


# --------------------------------------------------------------------------- AG News

AG_TRAIN = ('"3","Wall St. Bears Claw Back Into the Black (Reuters)","Reuters - Short-sellers, Wall Street\'s dwindling'
            '\\nband of ultra-cynics, are seeing green again."\n'
            '"2","Phelps Wins Again","ATHENS (Reuters) - Michael Phelps won his fifth gold medal."\n'
            '"1","Talks Stall","Negotiators said on Monday that ""no deal"" was near."\n'
            '"4","New Chip","A faster processor was unveiled."\n')
AG_TEST = '"4","Space Probe","NASA launched a probe."\n"1","Election","Voters went to the polls."\n'


@pytest.fixture
def ag_news_at(server, monkeypatch):
    """Serve train.csv and test.csv under /mirror/ and expect their md5s (the official URLs' names)."""

    def serve(train: str, test: str, expect: tuple[str, str] | None = None) -> str:
        server.files["/mirror/train.csv"] = train.encode()
        server.files["/mirror/test.csv"] = test.encode()
        sums = expect or (md5(train.encode()), md5(test.encode()))
        spec = corpora.KNOWN["ag_news"]
        monkeypatch.setitem(corpora.KNOWN, "ag_news", dataclasses.replace(spec, downloads=tuple(
            dataclasses.replace(d, md5=m) for d, m in zip(spec.downloads, sums))))
        return server.url("/mirror/")

    return serve


def test_fetch_ag_news(invoke, server, home, ag_news_at):
    result = invoke("corpora", "fetch", "ag_news", "--url", ag_news_at(AG_TRAIN, AG_TEST))
    assert result.exit_code == 0, result.stderr
    assert "ag_news: train 4, test 2 records" in result.stderr
    train = split(home, "ag_news", "train")
    assert [r["label"] for r in train] == ["Business", "Sports", "World", "Sci/Tech"]
    # title + description; the CSV's escaped newline (backslash-n) is a space, doubled quotes are one
    assert train[0]["text"] == ("Wall St. Bears Claw Back Into the Black (Reuters) Reuters - Short-sellers, Wall "
                                "Street's dwindling band of ultra-cynics, are seeing green again.")
    assert train[2]["text"] == 'Talks Stall Negotiators said on Monday that "no deal" was near.'
    assert split(home, "ag_news", "test")[0] == {"id": "test/1", "text": "Space Probe NASA launched a probe.",
                                                 "label": "Sci/Tech"}
    assert [path for path, _ in server.requests] == ["/mirror/train.csv", "/mirror/test.csv"]


def test_fetch_ag_news_refuses_a_bad_checksum(invoke, server, home, ag_news_at):
    url = ag_news_at(AG_TRAIN, AG_TEST, expect=(md5(AG_TRAIN.encode()), "0" * 32))
    result = invoke("corpora", "fetch", "ag_news", "--url", url)
    assert result.exit_code == 1
    assert f"test.csv: checksum mismatch (md5 {md5(AG_TEST.encode())}, expected {'0' * 32})" in result.stderr
    assert not (home / "corpora" / "ag_news").exists()


def test_fetch_ag_news_of_the_wrong_format(invoke, server, home, ag_news_at):
    result = invoke("corpora", "fetch", "ag_news", "--url", ag_news_at(AG_TRAIN, '"4","fine","row"\n"7","bad class"\n'))
    assert result.exit_code == 1
    assert 'ag_news-test.csv:2: expected "class 1-4","title","description", got \'7,bad class\'' in result.stderr
    assert "Traceback" not in result.stderr and not (home / "corpora" / "ag_news").exists()
    result = invoke("corpora", "fetch", "ag_news", "--url", server.url("/mirror/"), "--md5", "0" * 32)
    assert result.exit_code == 1 and "--md5 applies to a corpus of one file; ag_news has 2" in result.stderr

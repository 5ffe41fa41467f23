"""`corpora fetch scifact|nfcorpus` against a real HTTP server on 127.0.0.1: BEIR's zip layout, a bad
checksum, an archive that is not a BEIR set. The served zip has the layout of BEIR's own
(NAME/corpus.jsonl, NAME/queries.jsonl, NAME/qrels/test.tsv with its header), a few lines each."""

from __future__ import annotations

import json

import pytest
import test_corpora
from test_corpora import md5
from test_corpora_sst2_ag_news import make_zip

from nlpkit.retrieval import beir

server = test_corpora.server
home = test_corpora.home

CORPUS = ('{"_id": "4983", "title": "Microstructural development of human newborn cerebral white matter", '
          '"text": "Alterations of the architecture of cerebral white matter.", "metadata": {}}\n'
          '{"_id": "5836", "title": "Induction of myelodysplasia", "text": "Myelodysplastic syndromes (MDS)."}\n')
QUERIES = ('{"_id": "1", "text": "0-dimensional biomaterials show inductive properties.", "metadata": {}}\n'
           '{"_id": "3", "text": "1,000 genomes project enables mapping of genetic sequence variation."}\n')
QRELS = "query-id\tcorpus-id\tscore\n1\t4983\t1\n3\t5836\t1\n"


def beir_zip(name: str, **changes: str | None) -> bytes:
    files = {f"{name}/corpus.jsonl": CORPUS, f"{name}/queries.jsonl": QUERIES, f"{name}/qrels/test.tsv": QRELS,
             f"{name}/qrels/train.tsv": "query-id\tcorpus-id\tscore\n3\t4983\t1\n"}
    for member, text in changes.items():
        path = f"{name}/{member.replace('__', '/')}"
        if text is None:
            files.pop(path)
        else:
            files[path] = text
    return make_zip(files)


@pytest.mark.parametrize("name", ["scifact", "nfcorpus"])
def test_fetch_a_beir_set(invoke, server, home, name):
    data = beir_zip(name)
    server.files[f"/BEIR/{name}.zip"] = data
    result = invoke("corpora", "fetch", name, "--url", server.url(f"/BEIR/{name}.zip"), "--md5", md5(data))
    assert result.exit_code == 0, result.stderr
    directory = home / "corpora" / name
    assert f"{name}: 2 documents, 2 queries (2 judged in test, 1 judged in train) in {directory}" in result.stderr
    assert (directory / "corpus.jsonl").read_text() == CORPUS  # BEIR's bytes, as they came
    data_set = beir.open_beir(directory)
    assert data_set.qrels() == {"1": {"4983": 1}, "3": {"5836": 1}}
    assert list(data_set.test_queries()) == ["1", "3"]
    manifest = json.loads((directory / "corpus.json").read_text())
    assert manifest["layout"] == "beir" and manifest["source"]["md5"] == md5(data)
    assert manifest["verified"] is False  # two documents are not the published set
    assert not (home / "downloads" / f"{name}.zip").exists()
    listed = json.loads(invoke("corpora", "list", "--json").stdout)
    assert {"name": name, "origin": "cache", "present": True} == {
        k: v for k, v in next(r for r in listed if r["name"] == name and r["origin"] == "cache").items()
        if k in ("name", "origin", "present")}


def test_the_official_urls_are_beirs():
    from nlpkit.corpora import KNOWN

    assert KNOWN["scifact"].url == "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/scifact.zip"
    assert KNOWN["nfcorpus"].url == "https://public.ukp.informatik.tu-darmstadt.de/thakur/BEIR/datasets/nfcorpus.zip"
    assert (KNOWN["scifact"].md5, KNOWN["nfcorpus"].md5) == ("5f7d1de60b170fc8027bb7898e2efca1",
                                                             "a89dba18a62ef92f7d323ec890a0d38d")


def test_fetch_refuses_a_bad_checksum(invoke, server, home):
    good = beir_zip("scifact")
    server.files["/scifact.zip"] = good[:-1] + bytes([good[-1] ^ 0xFF])
    result = invoke("corpora", "fetch", "scifact", "--url", server.url("/scifact.zip"), "--md5", md5(good))
    assert result.exit_code == 1
    assert "checksum mismatch" in result.stderr and "Traceback" not in result.stderr
    assert not (home / "corpora" / "scifact").exists()


@pytest.mark.parametrize("changes, problem", [
    ({"qrels__test.tsv": None}, "scifact.zip: not a BEIR data set: no qrels/test.tsv"),
    ({"queries.jsonl": '{"_id": "1", "text": "fine"}\n{"_id": "2"}\n'},
     "scifact.zip:queries.jsonl:2: a query needs '_id' and a string 'text'"),
    ({"corpus.jsonl": '{"_id": "1", "text": "ok"}\nnot json\n'}, "scifact.zip:corpus.jsonl:2: not JSON"),
    ({"qrels__test.tsv": "query-id\tcorpus-id\tscore\n1\t4983\n"},
     "scifact.zip:qrels/test.tsv:2: expected query-id TAB corpus-id TAB score"),
])
def test_fetch_of_the_wrong_format_is_one_line(invoke, server, home, changes, problem):
    data = beir_zip("scifact", **changes)
    server.files["/scifact.zip"] = data
    result = invoke("corpora", "fetch", "scifact", "--url", server.url("/scifact.zip"), "--md5", md5(data))
    assert result.exit_code == 1, result.stderr
    assert problem in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (home / "corpora" / "scifact").exists()

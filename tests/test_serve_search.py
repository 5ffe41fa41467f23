"""nlpkit serve --index: POST /v1/search through httpx's ASGI transport, its bad inputs, the page's
search box, and a real server on 127.0.0.1 searched from headless Chromium.

Two indexes are built once per module from twelve AG News-like articles: `news` (BM25 and a
flat dense index, the bundled all-MiniLM-L6-v2) and `words` (BM25 only)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("faiss")
pytest.importorskip("bm25s")

from tests.test_bench import CHROMIUM, chromium  # noqa: E402
from tests.test_retrieval_bench import AG_NEWS  # noqa: E402
from tests.test_serve import Server, with_client  # noqa: E402

from nlpkit.serve.app import ServeSettings, create_app  # noqa: E402
from nlpkit.serve.search import load_served_indexes  # noqa: E402

DOCS = [{"id": f"d{i}", "title": title, "text": text, "section": "news"} for i, (title, text) in enumerate(AG_NEWS)]


@pytest.fixture(scope="module")
def indexes(tmp_path_factory):
    from nlpkit.retrieval.index import build_index

    where = tmp_path_factory.mktemp("serve-indexes")
    build_index(((f"docs:{i + 1}", d) for i, d in enumerate(DOCS)), where / "news", device="cpu")
    build_index(((f"docs:{i + 1}", d) for i, d in enumerate(DOCS)), where / "words", dense_index="none")
    return {"news": where / "news", "words": where / "words"}


def make_app(indexes, **settings):
    served = load_served_indexes([f"news={indexes['news']}", f"words={indexes['words']}"], device="cpu")
    return create_app([], ServeSettings(**settings), indexes=served)


def test_search_one_query_and_several(indexes):
    async def scenario(client):
        one = await client.post("/v1/search", json={"query": "Michael Phelps swimming gold", "k": 3})
        dense = await client.post("/v1/indexes/news/search", json={"query": "a hurricane hits the US", "k": 2,
                                                                   "mode": "dense", "fields": ["title"]})
        several = await client.post("/v1/indexes/words/search", json={"queries": ["oil futures barrel", "Google shares"],
                                                                      "k": 1})
        listing = await client.get("/v1/indexes")
        return one, dense, several, listing

    one, dense, several, listing = with_client(make_app(indexes), scenario)
    assert one.status_code == 200, one.text
    answer = one.json()
    assert (answer["index"], answer["mode"], answer["k"], answer["query"]) == ("news", "hybrid", 3,
                                                                              "Michael Phelps swimming gold")
    top = answer["hits"][0]
    assert (top["id"], top["rank"], top["title"], top["section"]) == ("d1", 1, "Phelps wins fifth gold", "news")
    assert [h["rank"] for h in answer["hits"]] == [1, 2, 3]
    assert dense.json()["mode"] == "dense" and dense.json()["hits"][0]["id"] == "d4"  # "Storm hits Florida coast"
    assert set(dense.json()["hits"][0]) == {"id", "score", "rank", "title"}
    results = several.json()["results"]
    assert several.json()["mode"] == "bm25"  # the only mode a BM25 index answers
    assert [(r["query"], [h["id"] for h in r["hits"]]) for r in results] == [("oil futures barrel", ["d11"]),
                                                                             ("Google shares", ["d5"])]
    listed = {i["name"]: i for i in listing.json()["indexes"]}
    assert listed["news"]["modes"] == ["bm25", "dense", "hybrid"] and listed["news"]["documents"] == 12
    assert listed["words"]["modes"] == ["bm25"] and listed["words"]["dense"] is None


def test_concurrent_dense_queries_share_forward_passes_and_equal_the_searcher(indexes):
    from nlpkit.retrieval.search import Searcher

    app = make_app(indexes, max_wait_ms=200)
    queries = [title for title, _ in AG_NEWS[:6]]
    served = app.state  # the routes hold the ServedIndex objects: spy on the encoder through the Searcher class
    calls: list[int] = []
    original = Searcher.encode

    def spy(self, texts):
        calls.append(len(texts))
        return original(self, texts)

    async def scenario(client):
        return await asyncio.gather(*(client.post("/v1/search", json={"query": q, "k": 5, "mode": "dense"})
                                      for q in queries))

    Searcher.encode = spy
    try:
        answers = with_client(app, scenario)
    finally:
        Searcher.encode = original
    assert served is not None and sum(calls) == 6 and len(calls) < 6  # batched: fewer passes than queries
    alone = Searcher(indexes["news"], device="cpu").search(queries, k=5, mode="dense")
    for answer, expected in zip(answers, alone):
        assert [(h["id"], h["rank"]) for h in answer.json()["hits"]] == [(h["id"], h["rank"]) for h in expected]
        assert [h["score"] for h in answer.json()["hits"]] == pytest.approx([h["score"] for h in expected], abs=1e-5)


@pytest.mark.parametrize("path, body, status, error", [
    ("/v1/search", {}, 422, 'give exactly one of "query" or "queries"'),
    ("/v1/search", {"query": "a", "queries": ["b"]}, 422, 'give exactly one of "query" or "queries"'),
    ("/v1/search", {"query": "   "}, 422, "query: empty query"),
    ("/v1/search", {"queries": ["fine", ""]}, 422, "queries[1]: empty query"),
    ("/v1/search", {"query": "oil", "k": 0}, 422, "k: Input should be greater than or equal to 1"),
    ("/v1/search", {"query": "oil", "k": 5000}, 422, "k: Input should be less than or equal to 1000"),
    ("/v1/search", {"query": "oil", "mode": "fuzzy"}, 422, "mode must be one of bm25, dense, hybrid, not 'fuzzy'"),
    ("/v1/indexes/words/search", {"query": "oil", "mode": "dense"}, 422,
     "index 'words' cannot answer mode 'dense' (it answers bm25)"),
    ("/v1/search", {"query": "oil", "top": 3}, 422, "top: Extra inputs are not permitted"),
    ("/v1/search", {"query": 7}, 422, "query: Input should be a valid string"),
    ("/v1/indexes/nope/search", {"query": "oil"}, 404, "no index named 'nope'; served: news, words"),
    ("/v1/search", {"queries": ["a", "b", "c"]}, 413, "3 queries in one request is over --max-queue 2"),
    ("/v1/predict", {"text": "a film"}, 404, "this server serves no classifier"),
])
def test_bad_inputs_get_4xx_and_one_line(indexes, path, body, status, error):
    async def scenario(client):
        return await client.post(path, json=body)

    response = with_client(make_app(indexes, max_queue=2), scenario)
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_malformed_json_is_400(indexes):
    async def scenario(client):
        return await client.post("/v1/search", content=b'{"query": ', headers={"content-type": "application/json"})

    response = with_client(make_app(indexes), scenario)
    assert response.status_code == 400 and response.json()["error"].startswith("the request body is not valid JSON")


def test_the_page_shows_a_search_box_and_no_predict_form_without_a_model(indexes):
    async def scenario(client):
        return await client.get("/")

    page = with_client(make_app(indexes), scenario).text
    assert '<section id="search-box">' in page and '<option value="news">news (bm25, dense, hybrid)</option>' in page
    assert '<section id="predict-box" hidden>' in page


def test_serve_needs_a_model_or_an_index_and_checks_the_index_first(invoke, tmp_path):
    result = invoke("serve")
    assert result.exit_code == 2 and "give at least one --model or --index" in result.stderr
    result = invoke("serve", "--index", tmp_path / "missing")
    assert result.exit_code == 2  # a path that does not exist is a usage error, everywhere
    assert result.stderr == f"Error: {tmp_path / 'missing'}: no such file or directory\n"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_search_box_in_headless_chromium_shows_hits(indexes):
    server = Server([], f"--index=news={indexes['news']}")
    try:
        result = chromium("--disable-dev-shm-usage", "--virtual-time-budget=10000", "--dump-dom",
                          f"{server.base}/?q=Phelps%20gold%20medal&index=news&mode=hybrid")
        dom = result.stdout
        assert '<li class="hit"><b class="hit-id">d1</b>' in dom, result.stderr[-2000:]
        assert "Phelps wins fifth gold — Michael Phelps won his fifth gold medal" in dom
        assert "hits (hybrid) from news" in dom
        with httpx.Client(base_url=server.base, timeout=30) as client:  # the real server answers the API too
            assert client.post("/v1/search", json={"query": "oil"}).json()["hits"][0]["id"] in {"d0", "d11"}
    finally:
        assert server.stop() == 0
    assert Path(server.stderr_path).exists()

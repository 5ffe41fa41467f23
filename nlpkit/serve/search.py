"""Search over HTTP: ``nlpkit serve --index [NAME=]DIR`` (with or without --model).

- ``POST /v1/search`` (the first index served) and ``POST /v1/indexes/{name}/search``:
  ``{"query": TEXT, "k": 10, "mode": "hybrid"}`` answers ``{"index", "mode", "k", "query",
  "hits"}``; ``{"queries": [TEXT, ...], ...}`` answers ``{"index", "mode", "k", "results":
  [{"query", "hits"}, ...]}`` in order. ``hits`` are what ``nlpkit search`` writes: ``{id,
  score, rank}`` and the document's fields (``"fields": [...]`` chooses them). ``mode``
  defaults to hybrid when the index has both parts, else to the one it has.
- ``GET /v1/indexes``: each index's name, modes, document count and encoder.

Dense queries are micro-batched as predictions are (nlpkit.serve.batching): the query texts
of concurrent requests are encoded in one forward pass, then each request searches its own
vectors. BM25 needs no encoder and runs at once.

Bad inputs get 4xx, ``{"error": "one line"}``: 404 an unknown index (or none served),
422 a body of the wrong shape, an empty query, k out of 1..MAX_K, a mode the index cannot
answer, 413 more queries than ``max_queue``, 503 (with Retry-After) when the encoder's queue
is full.
"""


import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nlpkit.errors import NlpkitError
from nlpkit.params import param

MAX_K = 1000
RETRY_AFTER_S = 1


@dataclass
class ServeIndexOptions:
    """`nlpkit serve`'s option for indexes (nlpkit.params)."""

    indexes: tuple[str, ...] = param((), flag="--index", multiple=True, metavar="[NAME=]DIR", reads_disk=True,
                                     help="A retrieval index (`nlpkit index build`) to search at POST /v1/search (the "
                                          "first) and /v1/indexes/NAME/search; repeat for several.")


@dataclass
class ServedIndex:
    name: str
    directory: Path
    searcher: Any  # nlpkit.retrieval.search.Searcher
    batcher: Any = None  # a MicroBatcher of the query texts, made on the first dense query
    lock: threading.Lock = field(default_factory=threading.Lock)  # the record store reads one file handle

    @property
    def modes(self) -> tuple[str, ...]:
        return self.searcher.modes

    @property
    def default_mode(self) -> str:
        from nlpkit.retrieval.search import DEFAULT_MODE

        return DEFAULT_MODE if DEFAULT_MODE in self.modes else self.modes[0]

    def describe(self) -> dict[str, Any]:
        manifest = self.searcher.manifest
        return {"name": self.name, "modes": list(self.modes), "default_mode": self.default_mode,
                "documents": manifest.get("count"), "dense": (manifest.get("dense") or {}).get("kind"),
                "encoder": {k: v for k, v in (manifest.get("encoder") or {}).items() if k != "model_arg"}}


def parse_index_spec(spec: str) -> tuple[str, str]:
    """``NAME=DIR`` or ``DIR`` (named by the directory)."""
    from nlpkit.serve.models import parse_model_spec

    return parse_model_spec(spec)


def load_served_indexes(specs: list[str], device: str = "auto") -> list[ServedIndex]:
    """Each index loaded whole (BM25, the FAISS index, the encoder), so that no request waits for it."""
    from nlpkit.retrieval.search import Searcher
    from nlpkit.serve.models import ServeError

    out: list[ServedIndex] = []
    for spec in specs:
        name, directory = parse_index_spec(spec)
        if any(i.name == name for i in out):
            raise ServeError(f"two indexes named {name!r}: name them, --index NAME=DIR")
        searcher = Searcher(directory, device=device)
        for mode in searcher.modes:
            searcher.load(mode)
        out.append(ServedIndex(name, Path(directory), searcher))
    return out


def _error(status: int, message: str, headers: dict | None = None):
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message}, status_code=status, headers=headers)


def request_model():
    """The body of a search (pydantic, made when a server is: no FastAPI at import time)."""
    from pydantic import BaseModel, ConfigDict, Field

    class SearchRequest(BaseModel):
        """Exactly one of query or queries."""

        model_config = ConfigDict(extra="forbid")
        query: str | None = Field(None, description="One query.")
        queries: list[str] | None = Field(None, description="Several queries, answered in order.")
        k: int = Field(10, ge=1, le=MAX_K, description="Hits per query.")
        mode: str | None = Field(None, description="bm25, dense or hybrid (default: hybrid when the index has both parts).")
        fields: list[str] | None = Field(None, description="The document fields each hit carries (default: all).")

    return SearchRequest


def install_search(app, indexes: list[ServedIndex], settings) -> None:
    """The search routes on `app` (see the module docstring)."""
    from starlette.concurrency import run_in_threadpool

    from nlpkit.serve.batching import MicroBatcher, QueueFull

    SearchRequest = request_model()
    by_name = {i.name: i for i in indexes}

    async def encode(index: ServedIndex, queries: list[str]):
        import numpy as np

        if index.batcher is None:  # it lives in the server's event loop: made on the first dense query
            batcher = MicroBatcher(lambda items: index.searcher.encode([q["text"] for q in items]),
                                   max_batch=settings.max_batch, max_wait_s=settings.max_wait_ms / 1000,
                                   max_queue=settings.max_queue, length=lambda item: len(item["text"]))
            await batcher.start()  # (no await inside: no other request runs before it is in place)
            index.batcher = batcher
        rows = await index.batcher.submit([{"text": q} for q in queries])
        return np.stack(rows).astype(np.float32)

    async def search(index: ServedIndex, body):
        if (body.query is None) == (body.queries is None):
            return _error(422, 'give exactly one of "query" or "queries"')
        queries = [body.query] if body.query is not None else body.queries
        assert queries is not None
        for i, text in enumerate(queries):
            if not text.strip():
                return _error(422, f"{'query' if body.query is not None else f'queries[{i}]'}: empty query")
        mode = body.mode or index.default_mode
        if mode not in ("bm25", "dense", "hybrid"):
            return _error(422, f"mode must be one of bm25, dense, hybrid, not {mode!r}")
        if mode not in index.modes:
            return _error(422, f"index {index.name!r} cannot answer mode {mode!r} (it answers {', '.join(index.modes)})")
        if len(queries) > settings.max_queue:
            return _error(413, f"{len(queries)} queries in one request is over --max-queue {settings.max_queue}")
        vectors = None
        if queries and mode in ("dense", "hybrid"):
            try:
                vectors = await encode(index, queries)
            except QueueFull as e:
                return _error(503, f"index {index.name!r} is busy: {e}; retry", {"Retry-After": str(RETRY_AFTER_S)})

        def run():
            with index.lock:
                return index.searcher.search(queries, body.k, mode, body.fields, vectors=vectors) if queries else []

        try:
            hits = await run_in_threadpool(run)
        except NlpkitError as e:  # a damaged record store, ...
            return _error(500, str(e))
        head = {"index": index.name, "mode": mode, "k": body.k}
        if body.query is not None:
            return {**head, "query": body.query, "hits": hits[0]}
        return {**head, "results": [{"query": q, "hits": h} for q, h in zip(queries, hits)]}

    @app.post("/v1/search", summary="Search the first index served")
    async def search_default(body: SearchRequest):
        if not indexes:
            return _error(404, "this server serves no index (serve --index DIR)")
        return await search(indexes[0], body)

    @app.post("/v1/indexes/{name}/search", summary="Search the index of this name")
    async def search_named(name: str, body: SearchRequest):
        if name not in by_name:
            return _error(404, f"no index named {name!r}; served: {', '.join(by_name) or 'none'}")
        return await search(by_name[name], body)

    @app.get("/v1/indexes", summary="Each index served: its modes, documents and encoder")
    async def list_indexes():
        return {"indexes": [i.describe() for i in indexes]}


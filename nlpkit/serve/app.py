"""The ASGI app behind ``nlpkit serve``: trained models and record stages over HTTP.

Endpoints (docs/serving.md has examples):

- ``POST /v1/predict`` (the first model served) and ``POST /v1/models/{name}/predict``:
  ``{"text": ...}``, ``{"record": {...}}`` or ``{"records": [...]}``; each record comes
  back with ``pred`` and ``probs`` added, its other fields and the order kept.
- ``POST /v1/run``: ``{"pipeline": "clean | tokenize", "records": [...]}`` -> the records
  ``nlpkit run --pipeline`` prints.
- ``GET /v1/models``, ``GET /healthz``, ``GET /metrics`` (Prometheus text),
  ``GET /openapi.json``, ``GET /`` (a page to try a model), and
  ``POST /v1/models/{name}/explain`` (what the page shows: prediction and, for linear
  kinds, the words of the text that weighed most).

Errors are JSON, ``{"error": "one line in the CLI's words"}``: 400 malformed JSON,
422 a body of the wrong shape or a record a model cannot read, 404 an unknown model,
413 a body over ``max_body_mb``, 503 (with Retry-After) when a model's queue is full or a
pipeline is busy past the request's deadline, 504 when the request ran past
``request_timeout`` (its work is stopped then, or when the client goes away).

The core never imports click: pipelines are built by ``pipeline_builder(segments, field)``,
which the CLI layer passes in (it adds the names of its commands to the core's builder),
after nlpkit.serve.pipelines has checked them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from nlpkit import __version__
from nlpkit.errors import NlpkitError, RecordError
from nlpkit.serve.batching import QueueFull
from nlpkit.serve.metrics import Metrics
from nlpkit.serve.models import ServedModel, start_batchers, stop_batchers
from nlpkit.serve.options import REQUEST_TIMEOUT_S
from nlpkit.serve.pipelines import (
    MAX_PIPELINE_CHARS,
    MAX_RECORDS,
    Busy,
    Cancelled,
    PipelinePool,
    RunRefused,
    Served,
    Stop,
    check_pipeline,
    check_records,
    run_records,
    served_path,
)
from nlpkit.serve.values import unanswerable

access_log = logging.getLogger("nlpkit.access")
RETRY_AFTER_S = 1
UNANSWERABLE = "unanswerable_value"  # the validation error type of JsonBody's check
LINGER_BYTES = 64 * 1024 * 1024  # most of a refused body read (and dropped) before its 413


@dataclass
class ServeSettings:
    max_batch: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 1024
    max_body_mb: float = 10.0
    field: str = "text"
    request_timeout: float = REQUEST_TIMEOUT_S


class JsonBody(BaseModel):
    """A request body; a value JSON parsing let through that no answer can carry (NaN, Infinity,
    a lone surrogate) is refused by its field, as the command line refuses it."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _answerable(cls, data: Any) -> Any:
        problem = unanswerable(data)
        if problem:
            raise PydanticCustomError(UNANSWERABLE, problem)
        return data


class PredictRequest(JsonBody):
    """Exactly one of text, record or records."""

    text: str | None = Field(None, description="One text.")
    record: dict[str, Any] | None = Field(None, description="One record; its other fields come back unchanged.")
    records: list[dict[str, Any]] | None = Field(None, max_length=MAX_RECORDS, description="Several records, answered in order.")


class RunRequest(JsonBody):
    pipeline: str = Field(..., max_length=MAX_PIPELINE_CHARS,
                          description='Stages as a shell pipeline: "clean | tokenize | lemmatize"; '
                                      "the options that name no file (docs/serving.md, Security).")
    records: list[dict[str, Any]] = Field(..., max_length=MAX_RECORDS, description="Records, as `nlpkit run` reads them.")


class ExplainRequest(JsonBody):
    text: str


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        self.status, self.message, self.headers = status, message, headers


def create_app(served: list[ServedModel], settings: ServeSettings | None = None,
               pipeline_builder: Callable[[list[list[str]], str], Any] | None = None,
               resources: Served | None = None, indexes: list | None = None) -> FastAPI:
    """`resources`: the language models and vectors /v1/run may use by name (the classifiers
    are `served`'s); `indexes`: retrieval indexes to search (nlpkit.serve.search)."""
    settings = settings or ServeSettings()
    by_name = {m.name: m for m in served}
    metrics = Metrics()
    resources = resources or Served()
    resources.model = {m.name: served_path(m.directory) for m in served}
    pipelines = PipelinePool(lambda segments: pipeline_builder(segments, settings.field)) if pipeline_builder else None

    @asynccontextmanager
    async def lifespan(app):
        await start_batchers(served, settings, metrics)
        yield
        await stop_batchers(served)  # SIGTERM: uvicorn waits for requests in flight, then this drains the queues

    app = FastAPI(title="nlpkit", version=__version__, lifespan=lifespan,
                  description="Trained nlpkit models and record stages over HTTP.")
    app.add_middleware(_BodyLimit, limit=int(settings.max_body_mb * 1024 * 1024))
    app.add_middleware(_AccessLog, metrics=metrics)

    # ------------------------------------------------------------------ errors in one line

    @app.exception_handler(HttpError)
    async def _http_error(request, e: HttpError):
        return JSONResponse({"error": e.message}, status_code=e.status, headers=e.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, e: RequestValidationError):
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and not content_type.split(";")[0].strip().endswith("json"):
            return JSONResponse({"error": f"send the body as JSON (Content-Type: application/json, not {content_type or 'none'!r})"},
                                status_code=415)
        errors = e.errors()
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            detail = first.get("ctx", {}).get("error", "")
            return JSONResponse({"error": f"the request body is not valid JSON ({detail})".replace(" ()", "")}, status_code=400)
        if first.get("type") == UNANSWERABLE:
            return JSONResponse({"error": first["msg"]}, status_code=422)
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return JSONResponse({"error": f"{where}: {first.get('msg', 'invalid')}"}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _starlette_error(request, e: StarletteHTTPException):
        return JSONResponse({"error": str(e.detail)}, status_code=e.status_code, headers=getattr(e, "headers", None))

    # ------------------------------------------------------------------ predict

    def model_named(name: str | None) -> ServedModel:
        if name is None and not served:
            raise HttpError(404, "this server serves no classifier")
        if name is None:
            return served[0]
        if name not in by_name:
            raise HttpError(404, f"no model named {name!r}; served: {', '.join(by_name)}")
        return by_name[name]

    async def predict(m: ServedModel, body: PredictRequest):
        from nlpkit.models.predict import prediction_record
        from nlpkit.records import model_input

        given = [k for k in ("text", "record", "records") if getattr(body, k) is not None]
        if len(given) != 1:
            raise HttpError(422, 'give exactly one of "text", "record" or "records"')
        records = [{settings.field: body.text}] if body.text is not None else [body.record] if body.record is not None else body.records
        inputs = []
        for i, record in enumerate(records):
            try:
                inputs.append(model_input(record, settings.field))
            except RecordError as e:
                where = f"records[{i}]" if body.records is not None else "record" if body.record is not None else "text"
                raise HttpError(422, f"{where}: {e}") from None
        if not inputs:
            return {"model": m.name, "records": []}
        if m.batcher is not None and len(inputs) > settings.max_queue:
            raise HttpError(413, f"{len(inputs)} records in one request is over --max-queue {settings.max_queue}")
        try:
            rows = await asyncio.wait_for(m.predict_proba(inputs), settings.request_timeout)
        except asyncio.TimeoutError:
            raise HttpError(504, ran_past_timeout()) from None
        except QueueFull as e:
            raise HttpError(503, f"model {m.name!r} is busy: {e}; retry", {"Retry-After": str(RETRY_AFTER_S)}) from None
        except RecordError as e:
            raise HttpError(422, str(e)) from None
        out = [prediction_record(r, m.labels, row) for r, row in zip(records, rows)]
        return {"model": m.name, "records": out} if body.records is not None else out[0]

    @app.post("/v1/predict", summary="Predict with the first model served")
    async def predict_default(body: PredictRequest):
        return await predict(model_named(None), body)

    @app.post("/v1/models/{name}/predict", summary="Predict with the model of this name")
    async def predict_named(name: str, body: PredictRequest):
        return await predict(model_named(name), body)

    @app.post("/v1/models/{name}/explain", summary="A text's prediction and the words that weighed most (linear kinds)")
    async def explain(name: str, body: ExplainRequest):
        m = model_named(name)
        result = await predict(m, PredictRequest(text=body.text))
        words = None
        if m.explains:
            from starlette.concurrency import run_in_threadpool

            words = await run_in_threadpool(m.words_that_weighed, {"text": body.text}, result["pred"])
        return {"model": m.name, "kind": m.manifest["kind"], "pred": result["pred"], "probs": result["probs"], "words": words}

    # ------------------------------------------------------------------ run

    @app.post("/v1/run", summary="Run record stages, as `nlpkit run --pipeline` does")
    async def run(body: RunRequest, request: Request):
        if pipelines is None:
            raise HttpError(404, "this server runs no pipelines")
        try:
            segments = check_pipeline(body.pipeline, resources)
            check_records(body.records, settings.field)
        except RunRefused as e:
            raise HttpError(400, str(e)) from None
        return await bounded(request, lambda cancelled, deadline: run_pipeline(segments, body.records, cancelled, deadline))

    def run_pipeline(segments: list[list[str]], records: list[dict], cancelled: Stop, deadline: float):
        try:
            outputs, failures = pipelines.run(segments, deadline, lambda pipeline: run_records(pipeline, records, cancelled))
        except Busy as e:
            raise HttpError(503, str(e), {"Retry-After": str(RETRY_AFTER_S)}) from None
        except Cancelled:
            metrics.observe_stopped(cancelled.reason)
            raise HttpError(504, ran_past_timeout()) from None
        except NlpkitError as e:  # a pipeline that cannot be built, a stage's model that cannot load, ...
            raise HttpError(400, resources.hide_paths(str(e))) from None
        if failures:
            i, problem = failures[0]
            raise HttpError(422, f"records[{i}]: {resources.hide_paths(problem)}")
        from nlpkit.stage import flatten

        return {"records": flatten(outputs)}  # a stage that splits records (chunk) answers each of its passages

    def ran_past_timeout() -> str:
        return f"the request ran past --request-timeout ({settings.request_timeout:g} s); its work was stopped"

    async def bounded(request: Request, work: Callable[[Stop, float], Any]) -> Any:
        """`work(cancelled, deadline)` in a thread: answered 504 once the request's time is up, and told to
        stop (`cancelled`) then, or as soon as the client goes away."""
        from starlette.concurrency import run_in_threadpool

        cancelled = Stop()
        job = asyncio.ensure_future(run_in_threadpool(work, cancelled, time.monotonic() + settings.request_timeout))
        job.add_done_callback(lambda f: f.cancelled() or f.exception())  # an abandoned job's error is not logged
        gone = asyncio.ensure_future(_client_gone(request.receive))
        try:
            done, _ = await asyncio.wait({job, gone}, timeout=settings.request_timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not job.done():
                cancelled.set("client gone" if gone.done() else "timeout")
            gone.cancel()
        if job in done:
            return job.result()
        if gone in done:
            return JSONResponse({"error": "the client went away"}, status_code=499)  # nobody reads it
        raise HttpError(504, ran_past_timeout())

    # ------------------------------------------------------------------ information

    @app.get("/v1/models", summary="Each model's nlpkit.json metadata")
    async def models():
        return {"models": [{"name": m.name, "default": i == 0, "batched": m.batcher is not None,
                            **getattr(m.model, "inference_", {}), "manifest": m.manifest}
                           for i, m in enumerate(served)]}

    @app.get("/healthz", summary="Liveness")
    async def healthz():
        return {"status": "ok", "models": list(by_name)}

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus text")
    async def prometheus():
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        from nlpkit.serve.page import render_page

        return HTMLResponse(render_page(served, indexes or []))

    if indexes:
        from nlpkit.serve.search import install_search

        install_search(app, indexes, settings)
    app.state.metrics = metrics
    return app


async def _client_gone(receive) -> None:
    """Returns when the client disconnects (the body has been read: the next message is the disconnect)."""
    while (await receive())["type"] != "http.disconnect":
        pass


# ---------------------------------------------------------------------- middleware (plain ASGI)


class _BodyLimit:
    """413 for a body over the limit: by Content-Length at once, else as soon as the streamed
    bytes pass it (the app then sees the client gone, and whatever it answers is dropped).

    Before the 413 the rest of the body is read and dropped, up to ``LINGER_BYTES`` (a
    lingering close, as nginx does): a client that sends the whole body before it reads
    (Python's urllib, which also asks for ``Connection: close``) would otherwise find the
    connection reset under it and never see the 413. A client that sent ``Expect:
    100-continue`` is answered at once, and a body declared larger than ``LINGER_BYTES``
    is not read: such a client may see the reset."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            if int(declared) <= LINGER_BYTES and headers.get(b"expect", b"").lower() != b"100-continue":
                await _linger(receive, LINGER_BYTES)
            return await _send_too_large(send, self.limit)
        seen, started, refused = 0, False, False

        async def limited_receive():
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit and not started:
                    refused = True
                    if message.get("more_body", False):
                        await _linger(receive, LINGER_BYTES - seen)
                    await _send_too_large(send, self.limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise


async def _linger(receive, budget: int) -> None:
    """Read and drop what is left of a request body, at most `budget` bytes (the server's read
    deadline bounds the time it may take)."""
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send_too_large(send, limit: int) -> None:
    body = json.dumps({"error": f"the request body is over --max-body-mb ({limit / 1024 / 1024:g} MB)"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _AccessLog:
    """One JSON line per request on stderr (logger nlpkit.access), and the request metrics."""

    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def tracking_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unrouted"  # a label per route, not per path
            self.metrics.observe_request(scope["method"], route, status, seconds)
            client = scope.get("client")
            access_log.info(json.dumps({
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z", "method": scope["method"],
                "path": scope["path"], "status": status, "ms": round(seconds * 1000, 2),
                "client": f"{client[0]}:{client[1]}" if client else None,
            }))

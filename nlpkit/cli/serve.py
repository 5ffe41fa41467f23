import click

from nlpkit.cli._params import declared_options
from nlpkit.serve.options import REQUEST_TIMEOUT_S, ServeOptions
from nlpkit.serve.search import ServeIndexOptions

# --workers N: each worker process rebuilds the app from this environment variable (JSON)
CONFIG_ENV = "NLPKIT_SERVE_CONFIG"


@click.command()
@click.option("--model", "models", multiple=True, metavar="[NAME=]DIR",
              help="A model directory to serve (repeat for several); NAME defaults to the directory's name. "
                   "The first classifier is the one /v1/predict uses; a language model serves /v1/run's lm stages.")
@declared_options(ServeIndexOptions)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes (each loads every model once).")
@click.option("--max-batch", type=click.IntRange(min=1), default=32, show_default=True,
              help="Neural kinds: most records in one forward pass.")
@click.option("--max-wait-ms", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Neural kinds: how long a record waits for others to share its forward pass.")
@click.option("--max-queue", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Neural kinds: records waiting per model before requests get 503 and Retry-After.")
@click.option("--max-body-mb", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Larger request bodies get 413.")
@click.option("--quantize", type=click.Choice(["int8"]), help="Neural kinds: int8 dynamic quantization (as predict).")
@click.option("--runtime", type=click.Choice(["torch", "onnx"]), default="torch", show_default=True,
              help="Neural kinds: onnx runs the graph `nlpkit export --format onnx` wrote.")
@click.option("--field", default="text", show_default=True, help="The record field holding the text.")
@click.option("--threads", type=click.IntRange(min=1), help="torch threads per worker (default: one per core).")
@declared_options(ServeOptions)
def serve(models, indexes, host, port, workers, max_batch, max_wait_ms, max_queue, max_body_mb, quantize, runtime, field,
          threads, vectors, request_timeout, read_timeout):
    """Serve trained models and record stages over HTTP (FastAPI on uvicorn).

    POST /v1/predict and /v1/models/NAME/predict take {"text": ...}, {"record": {...}}
    or {"records": [...]} and add pred and probs; POST /v1/run takes {"pipeline":
    "clean | tokenize", "records": [...]}, with no option that names a file: models
    (language models among them) and vectors are those served here, by NAME; POST
    /v1/search takes {"query": ..., "k": 10, "mode": "hybrid"} or {"queries": [...]};
    GET /v1/models, /v1/indexes, /healthz, /metrics, /openapi.json, and / (a page to try
    a model, with a search box when an index is served). Neural kinds and dense queries
    are micro-batched. Every request is bounded (--request-timeout, --read-timeout,
    --max-body-mb). Access logs are JSON lines on stderr; SIGTERM finishes the requests
    in flight.

    \b
      nlpkit serve --model lr=models/lr --model bert=models/bert --port 8000
      curl -s localhost:8000/v1/models/bert/predict -d '{"text": "A fine film."}'
      nlpkit serve --index news=index/ && curl -s localhost:8000/v1/search -d '{"query": "oil prices"}'
    """
    import json
    import os

    from nlpkit.modeldir import read_manifest
    from nlpkit.serve.models import parse_model_spec
    from nlpkit.serve.server import listen

    if not models and not indexes:
        raise click.UsageError("give at least one --model or --index")
    for spec in models:  # a missing or damaged model fails before the server starts
        read_manifest(parse_model_spec(spec)[1])
    if indexes:
        from nlpkit.retrieval.index import read_index_manifest
        from nlpkit.serve.search import parse_index_spec

        for spec in indexes:  # and so does an index
            read_index_manifest(parse_index_spec(spec)[1])
    sock = listen(host, port)  # a port in use is one line, before any model is loaded
    config = dict(models=list(models), indexes=list(indexes), vectors=list(vectors), max_batch=max_batch,
                  max_wait_ms=max_wait_ms, max_queue=max_queue, max_body_mb=max_body_mb, quantize=quantize,
                  runtime=runtime, field=field, threads=threads, request_timeout=request_timeout)
    try:
        app = build_app(config)  # every model loaded once here: a load error is one line, before any worker starts
        if workers > 1:
            del app  # each worker loads its own
            os.environ[CONFIG_ENV] = json.dumps(config)
            app = "nlpkit.cli.serve:app_from_environment"
        _run_uvicorn(app, sock, workers, read_timeout, request_timeout)
    finally:
        sock.close()


def build_app(config: dict):
    from nlpkit.device import set_threads
    from nlpkit.serve.app import ServeSettings, create_app
    from nlpkit.serve.models import load_served

    set_threads(config.get("threads"))
    served, resources = load_served(config["models"], config.get("vectors", []), quantize=config.get("quantize"),
                                    runtime=config.get("runtime", "torch"))
    settings = ServeSettings(max_batch=config["max_batch"], max_wait_ms=config["max_wait_ms"],
                             max_queue=config["max_queue"], max_body_mb=config["max_body_mb"], field=config["field"],
                             request_timeout=config.get("request_timeout", REQUEST_TIMEOUT_S))
    indexes = None
    if config.get("indexes"):
        from nlpkit.serve.search import load_served_indexes

        indexes = load_served_indexes(config["indexes"])
    return create_app(served, settings, pipeline_builder=pipeline_builder, resources=resources, indexes=indexes)


def app_from_environment():
    """uvicorn's factory in each --workers process. A model that fails to load here (changed since
    the parent loaded it) is one line, and the exit code that makes uvicorn stop, not restart, the worker."""
    import json
    import os
    import sys

    from uvicorn.config import STARTUP_FAILURE

    from nlpkit.errors import NlpkitError

    try:
        return build_app(json.loads(os.environ[CONFIG_ENV]))
    except NlpkitError as e:
        sys.stderr.write(f"Error: {e}\n")
        sys.exit(STARTUP_FAILURE)


def pipeline_builder(pipeline: str | list[list[str]], field: str):
    """A pipeline (a string, or the segments nlpkit.serve.pipelines checked, served names replaced by
    their paths) -> Pipeline, built by the core; the CLI adds the names of its commands."""
    from nlpkit.cli._pipeline import build_pipeline
    from nlpkit.pipeline import PipelineSpec

    return build_pipeline(pipeline if isinstance(pipeline, str) else PipelineSpec(list(pipeline), source="/v1/run"),
                          field=field)


def _run_uvicorn(app, sock, workers, read_timeout, request_timeout) -> None:
    import signal

    from nlpkit.serve.logs import log_config
    from nlpkit.serve.server import run

    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the handler it found:
    # this one, so that a drained shutdown exits 0. The drain waits at most one request's time.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        run(app, sock, workers=workers, read_timeout=read_timeout, graceful_timeout=request_timeout + 5,
            log_config=log_config())
    finally:
        signal.signal(signal.SIGTERM, previous)

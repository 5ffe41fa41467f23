"""nlpkit serve: through httpx's ASGI transport, and a real uvicorn process on 127.0.0.1.

Two small models are trained once per module: tfidf-lr on 200 reviews of the embedded
sample, and a tiny bilstm (micro-batched) on eight sentences. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SAMPLE_DIR, parse_jsonl

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from nlpkit.cli.serve import pipeline_builder  # noqa: E402
from nlpkit.serve.app import ServeSettings, create_app  # noqa: E402
from nlpkit.serve.models import load_served_models  # noqa: E402

POS = ["good film", "great great acting", "a good and great story overall", "wonderful good"]
NEG = ["bad film", "awful awful acting", "a bad and awful story overall", "terrible bad"]


def train_lr(directory: Path, records: int = 200) -> Path:
    """A tfidf-lr on `records` reviews of the embedded sample (balanced, seed 0), saved in `directory`."""
    from nlpkit.bench.data import balanced_subset, load_split
    from nlpkit.models import model_class, save_model

    train = balanced_subset(load_split(SAMPLE_DIR, "train"), records, seed=0)
    save_model(model_class("tfidf-lr")().fit([{"text": r["text"]} for r in train], [r["label"] for r in train]), directory)
    return directory


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    import torch

    from nlpkit.models import model_class, save_model

    where = tmp_path_factory.mktemp("serve-models")
    train_lr(where / "lr")
    torch.set_num_threads(1)
    bilstm = model_class("bilstm")(dim=8, hidden=8, min_count=1, epochs=30, lr=0.05, batch_size=4, dropout=0.0,
                                   seed=3, threads=1)
    bilstm.fit([{"text": t} for t in POS + NEG], ["pos"] * 4 + ["neg"] * 4)
    save_model(bilstm, where / "bilstm")
    return {"lr": where / "lr", "bilstm": where / "bilstm"}


def make_app(models, **settings):
    served = load_served_models([f"lr={models['lr']}", f"bl={models['bilstm']}"])
    return create_app(served, ServeSettings(**settings), pipeline_builder=pipeline_builder)


def with_client(app, scenario):
    """Run `scenario(client)` against the app, its lifespan (micro-batchers) started and stopped."""

    async def main():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30) as client:
                return await scenario(client)

    return asyncio.run(main())


# --------------------------------------------------------------------------- predict


def test_predict_one_a_batch_and_several_models(models):
    async def scenario(client):
        one = await client.post("/v1/predict", json={"text": "A wonderful, moving film with great acting."})
        record = await client.post("/v1/models/lr/predict", json={"record": {"id": "r1", "text": "Awful. Boring and bad.", "year": 1999}})
        batch = await client.post("/v1/models/bl/predict", json={"records": [
            {"id": 1, "text": "bad film"}, {"id": 2, "tokens": ["great", "great", "acting"]}, {"id": 3, "text": "wonderful good"}]})
        listing = await client.get("/v1/models")
        health = await client.get("/healthz")
        return one, record, batch, listing, health

    one, record, batch, listing, health = with_client(make_app(models), scenario)
    assert one.status_code == 200 and one.json()["pred"] == "pos"
    assert set(one.json()) == {"text", "pred", "probs"} and abs(sum(one.json()["probs"].values()) - 1) < 1e-5
    assert record.status_code == 200
    assert record.json()["id"] == "r1" and record.json()["year"] == 1999 and record.json()["pred"] == "neg"
    assert batch.status_code == 200 and batch.json()["model"] == "bl"
    assert [(r["id"], r["pred"]) for r in batch.json()["records"]] == [(1, "neg"), (2, "pos"), (3, "pos")]
    assert batch.json()["records"][1]["tokens"] == ["great", "great", "acting"]
    served = listing.json()["models"]
    assert [(m["name"], m["manifest"]["kind"], m["batched"], m["default"]) for m in served] == [
        ("lr", "tfidf-lr", False, True), ("bl", "bilstm", True, False)]
    assert served[0]["manifest"]["labels"] == ["neg", "pos"]
    assert health.json() == {"status": "ok", "models": ["lr", "bl"]}


def test_the_server_predicts_what_the_predict_command_prints(models, invoke, tmp_path):
    from tests.conftest import write_jsonl

    records = [{"id": i, "text": t} for i, t in enumerate(POS + NEG)]
    printed = parse_jsonl(invoke("predict", "--model", models["bilstm"], write_jsonl(tmp_path / "in.jsonl", records)).stdout)

    async def scenario(client):
        return (await client.post("/v1/models/bl/predict", json={"records": records})).json()["records"]

    assert with_client(make_app(models), scenario) == printed


BAD_REQUESTS = [
    # (path, body bytes, content type, status, error)
    ("/v1/predict", b'{"text": ', "application/json", 400, "the request body is not valid JSON (Expecting value)"),
    ("/v1/predict", b'[1, 2]', "application/json", 422, "body: Input should be a valid dictionary or object to extract fields from"),
    ("/v1/predict", b'{"txt": "a"}', "application/json", 422, "txt: Extra inputs are not permitted"),
    ("/v1/predict", b'{}', "application/json", 422, 'give exactly one of "text", "record" or "records"'),
    ("/v1/predict", b'{"text": "a", "records": []}', "application/json", 422, 'give exactly one of "text", "record" or "records"'),
    ("/v1/predict", b'{"text": 3}', "application/json", 422, "text: Input should be a valid string"),
    ("/v1/predict", b'{"records": {"text": "a"}}', "application/json", 422, "records: Input should be a valid list"),
    ("/v1/models/bl/predict", b'{"records": [{"text": "ok"}, {"id": 7}]}', "application/json", 422,
     "records[1]: record has no 'text' field and no 'tokens' (use --field to choose another)"),
    ("/v1/models/lr/predict", b'{"record": {"tokens": "not a list"}}', "application/json", 422,
     "record: field 'tokens' must be a list of strings"),
    ("/v1/models/nope/predict", b'{"text": "a"}', "application/json", 404, "no model named 'nope'; served: lr, bl"),
    ("/v1/predict", b'{"text": "a"}', "text/plain", 415, "send the body as JSON (Content-Type: application/json, not 'text/plain')"),
    ("/v1/run", b'{"pipeline": "clean | nope", "records": [{"text": "a"}]}', "application/json", 400,
     "stage 2: no such command 'nope'"),
    ("/v1/run", b'{"pipeline": "clean", "records": [{"text": "a"}, {"id": 2}]}', "application/json", 422,
     "records[1]: clean: record has no 'text' field (use --field to choose another)"),
    ("/v2/nothing", b'{}', "application/json", 404, "Not Found"),
]


def test_each_bad_input_gets_its_status_and_one_line_and_the_server_stays_up(models):
    async def scenario(client):
        answers = []
        for path, body, content_type, _, _ in BAD_REQUESTS:
            answers.append(await client.post(path, content=body, headers={"content-type": content_type}))
        after = await client.post("/v1/models/bl/predict", json={"text": "good film"})
        return answers, after

    answers, after = with_client(make_app(models), scenario)
    for (path, body, _, status, error), answer in zip(BAD_REQUESTS, answers):
        assert (path, body, answer.status_code) == (path, body, status)
        assert answer.json()["error"].startswith(error), (path, body, answer.json())
    assert after.status_code == 200 and after.json()["pred"] == "pos"


def test_a_body_over_max_body_mb_is_413_whether_declared_or_streamed(models):
    big = json.dumps({"text": "good " * 400}).encode()  # ~2 kB against a 1 kB limit

    async def chunks():
        for i in range(0, len(big), 256):
            yield big[i : i + 256]

    async def scenario(client):
        declared = await client.post("/v1/predict", content=big, headers={"content-type": "application/json"})
        streamed = await client.post("/v1/predict", content=chunks(), headers={"content-type": "application/json"})
        small = await client.post("/v1/predict", json={"text": "good film"})
        return declared, streamed, small

    declared, streamed, small = with_client(make_app(models, max_body_mb=1 / 1024), scenario)
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.json() == {"error": "the request body is over --max-body-mb (0.000976562 MB)"}
    assert small.status_code == 200


def test_concurrent_requests_share_one_forward_pass_and_a_full_queue_is_503(models):
    async def scenario(client):
        # two requests wait up to 1.5 s for company; a third finds the queue (2 records) full
        first = asyncio.create_task(client.post("/v1/models/bl/predict", json={"text": "good film"}))
        second = asyncio.create_task(client.post("/v1/models/bl/predict", json={"record": {"id": 9, "text": "bad film"}}))
        for _ in range(100):  # until both are queued (bounded)
            await asyncio.sleep(0.01)
            if app.state.metrics.queue_depth["bl"]() == 2:
                break
        refused = await client.post("/v1/models/bl/predict", json={"text": "another"})
        too_many = await client.post("/v1/models/bl/predict", json={"records": [{"text": "a"}] * 3})
        return await first, await second, refused, too_many, (await client.get("/metrics")).text

    app = make_app(models, max_queue=2, max_wait_ms=1500, max_batch=8)
    first, second, refused, too_many, metrics = with_client(app, scenario)
    assert (first.status_code, first.json()["pred"]) == (200, "pos")
    assert (second.status_code, second.json()["id"], second.json()["pred"]) == (200, 9, "neg")
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json() == {"error": "model 'bl' is busy: 2 records are waiting (--max-queue 2); retry"}
    assert too_many.status_code == 413 and too_many.json()["error"] == "3 records in one request is over --max-queue 2"
    # one forward pass of two records, and the counters of each answer
    assert 'nlpkit_batch_size_bucket{model="bl",le="1"} 0' in metrics
    assert 'nlpkit_batch_size_bucket{model="bl",le="2"} 1' in metrics
    assert 'nlpkit_batch_size_count{model="bl"} 1' in metrics
    assert 'nlpkit_requests_total{method="POST",route="/v1/models/{name}/predict",status="200"} 2' in metrics
    assert 'nlpkit_requests_total{method="POST",route="/v1/models/{name}/predict",status="503"} 1' in metrics
    assert 'nlpkit_queue_depth{model="bl"} 0' in metrics
    assert 'nlpkit_request_seconds_count{route="/v1/models/{name}/predict"} 4' in metrics


def test_micro_batches_are_length_bucketed(models):
    from nlpkit.serve.batching import MicroBatcher

    seen = []

    def predict_proba(inputs):
        seen.append([len(x["text"].split()) for x in inputs])
        return [[0.5, 0.5]] * len(inputs)

    async def main():
        batcher = MicroBatcher(predict_proba, max_batch=2, max_wait_s=0.2, max_queue=16,
                               length=lambda x: len(x["text"].split()))
        await batcher.start()
        texts = ["w " * n for n in (9, 1, 8, 2)]
        await asyncio.gather(*(batcher.submit([{"text": t}]) for t in texts))
        await batcher.stop()

    asyncio.run(main())
    assert seen == [[1, 2], [8, 9]]


def counting_model():
    """A model's predict_proba that answers 0.5/0.5 and records each pass's batch size in `seen`."""
    seen: list[int] = []

    def predict_proba(inputs):
        seen.append(len(inputs))
        return [[0.5, 0.5]] * len(inputs)

    return predict_proba, seen


@contextlib.asynccontextmanager
async def running_batcher(predict_proba, max_batch: int):
    """A started MicroBatcher that would wait 60 s for company (past every test's 10 s bound), stopped after."""
    from nlpkit.serve.batching import MicroBatcher

    batcher = MicroBatcher(predict_proba, max_batch=max_batch, max_wait_s=60, max_queue=16, length=lambda x: 1)
    await batcher.start()
    try:
        yield batcher
    finally:
        await batcher.stop()


def test_a_lone_request_does_not_wait_for_company_but_queued_ones_share_a_pass():
    predict_proba, seen = counting_model()

    async def main():
        # a wait of 60 s for company would overrun the 10 s bound: the lone record must run at once
        async with running_batcher(predict_proba, max_batch=8) as batcher:
            lone = await asyncio.wait_for(batcher.submit([{"text": "alone"}]), timeout=10)
            # three sent at once find each other queued: one pass, filled from the queue without the wait
            # (the window fills to max_batch or waits; give it max_batch 3 so it is full at once)
            batcher.max_batch = 3
            together = await asyncio.wait_for(asyncio.gather(*(batcher.submit([{"text": t}]) for t in "abc")), timeout=10)
        return lone, together

    lone, together = asyncio.run(main())
    assert lone == [[0.5, 0.5]] and len(together) == 3
    assert seen == [1, 3]


def test_after_a_batch_of_several_a_record_waits_for_the_company_still_arriving():
    predict_proba, seen = counting_model()

    async def main():
        async with running_batcher(predict_proba, max_batch=2) as batcher:
            await asyncio.wait_for(batcher.submit([{"text": "a"}, {"text": "b"}]), timeout=10)  # a full batch of 2
            first = asyncio.create_task(batcher.submit([{"text": "c"}]))  # under load: waits for company ...
            await asyncio.sleep(0.2)
            assert not first.done()
            await asyncio.wait_for(batcher.submit([{"text": "d"}]), timeout=10)  # ... which fills its batch
            await asyncio.wait_for(first, timeout=10)

    asyncio.run(main())
    assert seen == [2, 2]


@pytest.mark.parametrize("pipeline", ["clean | tokenize --engine regex | stem",
                                      "clean | chunk --count words --max-tokens 3 | stem"])  # chunk: a record becomes several
def test_run_returns_what_nlpkit_run_prints(models, invoke, tmp_path, pipeline):
    from tests.conftest import write_jsonl

    records = [{"id": 1, "text": "The <b>BEST</b> films, don't miss them!"}, {"id": 2, "text": "Geese were running."}]
    printed = parse_jsonl(invoke("run", "--pipeline", pipeline, write_jsonl(tmp_path / "in.jsonl", records)).stdout)

    async def scenario(client):
        return await client.post("/v1/run", json={"pipeline": pipeline, "records": records})

    answer = with_client(make_app(models), scenario)
    assert answer.status_code == 200 and answer.json() == {"records": printed}
    assert printed[0]["tokens"][:2] == ["the", "best"]


def test_openapi_page_and_explanations(models):
    async def scenario(client):
        return (await client.get("/openapi.json"), await client.get("/"),
                await client.post("/v1/models/lr/explain", json={"text": "A wonderful film, great acting, a great story."}),
                await client.post("/v1/models/bl/explain", json={"text": "good film"}))

    schema, page, lr, bl = with_client(make_app(models), scenario)
    assert {"/v1/predict", "/v1/models/{name}/predict", "/v1/run", "/v1/models", "/healthz", "/metrics"} <= set(schema.json()["paths"])
    assert page.status_code == 200 and '<option value="lr">lr (tfidf-lr)</option>' in page.text
    words = lr.json()["words"]
    assert lr.json()["pred"] == "pos" and words and all(w["weight"] > 0 for w in words)
    assert all(set(w["word"].split()) <= {"a", "wonderful", "film", "great", "acting", "story"} for w in words)  # n-grams of the text
    assert [w["weight"] for w in words] == sorted((w["weight"] for w in words), reverse=True)
    assert bl.json()["pred"] == "pos" and bl.json()["words"] is None  # no per-word weights in an LSTM


def test_serve_refuses_what_it_cannot_serve_before_listening(models, invoke, tmp_path):
    result = invoke("serve", "--model", f"bl={models['bilstm']}", "--runtime", "onnx")
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {models['bilstm']}: no ONNX export (onnx/model.onnx); "
                             f"run `nlpkit export --format onnx --model {models['bilstm']}` first\n")
    result = invoke("serve", "--model", f"a={models['lr']}", "--model", f"a={models['bilstm']}")
    assert result.exit_code == 2 and result.stderr == "Error: two models are named 'a'; name them with --model NAME=DIR\n"
    result = invoke("serve", "--model", tmp_path / "missing")
    assert result.exit_code == 1 and result.stderr == f"Error: {tmp_path / 'missing'}: not a model directory (no such directory)\n"


# --------------------------------------------------------------------------- a real server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, specs: list[str], *extra):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
        self.stderr_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"nlpkit-serve-{self.port}.log"
        self.stderr = open(self.stderr_path, "w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nlpkit", "serve", *(f"--model={spec}" for spec in specs),
             "--port", str(self.port), *extra], stdout=subprocess.DEVNULL, stderr=self.stderr, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}: {self.log()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("server did not answer /healthz in 90 s")

    def log(self) -> str:
        self.stderr.flush()
        return self.stderr_path.read_text()

    def log_lines(self, until_path: str, timeout: float = 10.0) -> list[dict]:
        """The log's JSON lines, once the access line of a request to `until_path` is among them: the server
        logs a request after answering it, so the client can be a moment ahead of the log (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            complete = [line for line in self.log().splitlines(keepends=True) if line.endswith("\n") and line.strip()]
            lines = [json.loads(line) for line in complete]  # every line is JSON
            if any(line.get("path") == until_path for line in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.stderr.close()
        return self.process.returncode


@pytest.fixture(scope="module")
def server(models):
    s = Server([f"lr={models['lr']}", f"bl={models['bilstm']}"], "--threads", "1", "--max-wait-ms", "1000", "--max-body-mb", "0.01")
    yield s
    s.stop()


@pytest.mark.slow
def test_a_real_server_predicts_refuses_bad_input_and_logs_json(server):
    with httpx.Client(base_url=server.base, timeout=30) as client:
        one = client.post("/v1/predict", json={"text": "A wonderful film."})
        batch = client.post("/v1/models/bl/predict", json={"records": [{"id": "a", "text": "bad film"}, {"id": "b", "text": "good"}]})
        malformed = client.post("/v1/predict", content=b"{nope", headers={"content-type": "application/json"})
        unknown = client.post("/v1/models/zz/predict", json={"text": "a"})
        oversize = client.post("/v1/predict", json={"text": "x" * 20000})
        after = client.post("/v1/models/bl/predict", json={"text": "good film"})
        metrics = client.get("/metrics")
    assert one.status_code == 200 and one.json()["pred"] == "pos"
    assert [r["id"] for r in batch.json()["records"]] == ["a", "b"] and batch.json()["records"][0]["pred"] == "neg"
    assert (malformed.status_code, unknown.status_code, oversize.status_code, after.status_code) == (400, 404, 413, 200)
    assert metrics.headers["content-type"].startswith("text/plain") and "# TYPE nlpkit_request_seconds histogram" in metrics.text
    lines = server.log_lines(until_path="/metrics")
    access = [line for line in lines if "status" in line]
    assert [(a["method"], a["path"], a["status"]) for a in access[-7:-1]] == [
        ("POST", "/v1/predict", 200), ("POST", "/v1/models/bl/predict", 200), ("POST", "/v1/predict", 400),
        ("POST", "/v1/models/zz/predict", 404), ("POST", "/v1/predict", 413), ("POST", "/v1/models/bl/predict", 200)]
    assert all(a["client"].startswith("127.0.0.1:") and a["ms"] >= 0 for a in access)


@pytest.mark.slow
def test_two_workers_answer_and_stop_on_sigterm(models):
    s = Server([f"lr={models['lr']}"], "--workers", "2")  # a linear model, no --threads: no torch to import twice
    with httpx.Client(base_url=s.base, timeout=30) as client:
        answers = [client.post("/v1/models/lr/predict", json={"text": "a wonderful film"}) for _ in range(6)]
    assert [a.json()["pred"] for a in answers] == ["pos"] * 6
    assert s.stop() == 0
    log = s.stderr_path.read_text()
    assert log.count('"message": "Started server process') == 2 and '"message": "Started parent process' in log


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("chromium") or Path("/usr/bin/chromium").exists()), reason="chromium is not installed")
def test_the_page_in_headless_chromium_shows_a_prediction(server, tmp_path):
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    url = f"{server.base}/?model=lr&text=A%20wonderful%20film%20with%20great%20acting"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-extensions", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    dom = result.stdout
    assert '<span id="pred">pos</span>' in dom, result.stderr[-2000:]
    assert "<td>pos</td>" in dom and "<td>neg</td>" in dom  # the class probabilities
    assert '<div id="words-box">' in dom and "<td>wonderful</td>" in dom  # and the words that weighed most


# --------------------------------------------------------------------------- fuzzing the schema


@pytest.mark.slow
def test_no_input_the_schema_allows_makes_a_5xx(server):
    """schemathesis: cases generated from /openapi.json for every operation, bounded, seeded."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(server.base + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call(base_url=server.base, timeout=30)
            case.validate_response(response, checks=[not_a_server_error])

        fuzz()


# --------------------------------------------------------------------------- shutdown (last: it stops the server)


@pytest.mark.slow
def test_sigterm_finishes_the_requests_in_flight_and_exits_0(server):
    """Last in this file: it stops the module's server."""
    import threading

    # a request of two records: the first finds the second queued and waits a second for more company
    # (--max-wait-ms 1000), so it is still in flight at SIGTERM (a lone record would run at once)
    s = server
    answers = []
    request = threading.Thread(target=lambda: answers.append(httpx.post(
        s.base + "/v1/models/bl/predict", json={"records": [{"text": "good film"}, {"text": "bad film"}]}, timeout=30)))
    request.start()
    deadline = time.monotonic() + 10
    while "nlpkit_queue_depth{model=\"bl\"} 2" not in httpx.get(s.base + "/metrics", timeout=5).text:
        assert time.monotonic() < deadline, "the request never reached the queue"
        time.sleep(0.05)
    assert s.stop() == 0
    request.join(timeout=30)
    assert answers and answers[0].status_code == 200
    assert [r["pred"] for r in answers[0].json()["records"]] == ["pos", "neg"]
    assert '"message": "Finished server process' in s.stderr_path.read_text()

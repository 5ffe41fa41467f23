"""The server's hostile cases: real ``nlpkit serve`` processes on 127.0.0.1, real signals, bounded loops.

Each test is one case a hostile client tried: a pipeline that names files or asks for
unbounded work, a request that runs past its time or whose client goes away, SIGTERM with
a request in flight, concurrent first calls of the page's explain, JSON values no answer
can carry, half-sent requests, invented HTTP methods, a refused body sent whole by urllib,
a port in use, and a model that fails only when --workers load it. Every wait is bounded:
a server that wedges fails the test at its bound rather than hanging the suite.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import httpx
import pytest

from tests.conftest import REPO

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from tests.test_serve import Server, free_port, train_lr, with_client  # noqa: E402

REQUEST_TIMEOUT = 3  # the fault server's --request-timeout
SLOW_TEXT = ("The quick brown fox jumps over the lazy dog. " * 500)[:20_000]  # ~0.2 s of nltk per record
SLOW = {"pipeline": "tokenize", "records": [{"id": i, "text": SLOW_TEXT} for i in range(150)]}  # ~30 s of work


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tfidf-lr on the embedded sample, and a tiny LSTM language model (for /v1/run's lm stages)."""
    import torch

    from nlpkit.lm.model import LanguageModel

    where = tmp_path_factory.mktemp("fault-models")
    train_lr(where / "lr", records=60)
    torch.set_num_threads(1)
    corpus = [{"text": "the film was good and the acting was great"}] * 8
    LanguageModel(arch="lstm", dim=8, hidden=8, layers=1, context=8, dropout=0.0, emb_dropout=0.0, min_count=1,
                  epochs=2, batch_size=4, seed=0, threads=1, device="cpu").fit(corpus).save(where / "lm")
    return {"lr": where / "lr", "lm": where / "lm"}


def lr_app(models):
    """The app of `nlpkit serve --model lr=... --model lm=...`, in this process."""
    from nlpkit.cli.serve import pipeline_builder
    from nlpkit.serve.app import create_app
    from nlpkit.serve.models import load_served

    served, resources = load_served([f"lr={models['lr']}", f"lm={models['lm']}"])
    return create_app(served, pipeline_builder=pipeline_builder, resources=resources)


@pytest.fixture(scope="module")
def server(models):
    """A linear model only: no torch to import, a quick start (the language model is served in-process below)."""
    s = Server([f"lr={models['lr']}"], "--request-timeout", str(REQUEST_TIMEOUT), "--read-timeout", "1", "--max-body-mb", "8")
    yield s
    s.stop()


def post(server, path, body, timeout=REQUEST_TIMEOUT + 20):
    return httpx.post(server.base + path, json=body, timeout=timeout)


# --------------------------------------------------------------------------- /v1/run: files, bounds


FILE_OPTIONS = [  # (pipeline with {path}, a path that exists, one that does not)
    "tokenize --engine wordpiece --checkpoint {path}",
    "embed docvec --vectors {path}",
    "embed docvec --idf {path} --pool tfidf",
    "predict --model {path}",
    "lm generate --model {path} --max-new-tokens 100000000",
    "stopwords --list {path}",
    "vectorize tfidf --apply {path} --top 3",
    "tag --model {path}",
]


@pytest.mark.parametrize("pipeline", FILE_OPTIONS)
def test_run_takes_no_option_that_names_a_file_and_its_error_does_not_tell_if_one_exists(server, pipeline):
    records = [{"text": "this film"}]
    there = post(server, "/v1/run", {"pipeline": pipeline.format(path="/etc/passwd"), "records": records})
    missing = post(server, "/v1/run", {"pipeline": pipeline.format(path="/no/such/file"), "records": records})
    assert (there.status_code, missing.status_code) == (400, 400), (there.text, missing.text)
    assert there.json()["error"].replace("/etc/passwd", "P") == missing.json()["error"].replace("/no/such/file", "P")
    assert "root:" not in there.text and "exist" not in there.text and "format" not in there.text


def test_run_uses_served_models_by_name_within_bounds(models):
    async def scenario(client):
        async def run(pipeline, records):
            return await client.post("/v1/run", json={"pipeline": pipeline, "records": records})

        return [await run("lm generate --model lm --max-new-tokens 3", [{"id": 1, "text": "the film"}]),
                await run("clean | predict --model lr", [{"text": "A great film!"}]),
                await run("lm generate --model lm --max-new-tokens 100000000", [{"text": "this film"}]),
                await run("lm generate --strategy beam --beam-width 1000", [{"text": "a"}]),
                await run("predict --model nope", [{"text": "a"}]),
                await run("clean", [{"text": "a" * 20_001}]),
                await run("clean", [{"text": "a"}] * 1001)]

    generated, predicted, too_many_tokens, too_wide, unknown, long_text, too_many_records = with_client(
        lr_app(models), scenario)
    assert generated.status_code == 200 and generated.json()["records"][0]["id"] == 1
    assert isinstance(generated.json()["records"][0]["generated"], str)
    assert predicted.status_code == 200 and predicted.json()["records"][0]["pred"] in ("neg", "pos")
    assert (too_many_tokens.status_code, too_many_tokens.json()["error"]) == (
        400, "stage 1 (lm generate): --max-new-tokens 100000000 is outside this server's bounds (0 to 256)")
    assert (too_wide.status_code, too_wide.json()["error"]) == (
        400, "stage 1 (lm generate): --beam-width 1000 is outside this server's bounds (1 to 8)")
    assert (unknown.status_code, unknown.json()["error"]) == (
        400, "stage 1 (predict): --model 'nope' is not a served model name (served: lr)")
    assert (long_text.status_code, long_text.json()["error"]) == (
        400, "records[0]: text of 20,001 characters is over this server's bound (20,000)")
    assert too_many_records.status_code == 422 and too_many_records.json()["error"].startswith("records: ")


def test_an_error_names_a_served_directory_by_its_served_name():
    from nlpkit.serve.pipelines import Served, served_path

    served = Served(model={"lr": "/srv/models/lr", "m": "m"}, lm={"lm": "/srv/models/lm-big"})
    assert served.hide_paths("/srv/models/lm-big/lm.json: damaged; /srv/models/lr too") == "lm/lm.json: damaged; lr too"
    assert served.hide_paths("my model") == "my model"  # a relative path is never taken for a word
    assert served_path(".") == os.getcwd()  # an existing path, made absolute
    assert served_path("glove-6b-50d") == "glove-6b-50d"  # a name, not a path


def test_help_and_a_wordpiece_checkpoint_are_refused_not_500(server):
    helped = post(server, "/v1/run", {"pipeline": "clean --help", "records": [{"text": "a"}]})
    checkpoint = post(server, "/v1/run", {"pipeline": "tokenize --engine wordpiece --checkpoint X", "records": [{"text": "a"}]})
    assert (helped.status_code, helped.json()["error"]) == (
        400, "stage 1 (clean): --help is not an option of a pipeline stage: run `nlpkit COMMAND --help`")
    assert (checkpoint.status_code, checkpoint.json()["error"]) == (
        400, "stage 1 (tokenize): --checkpoint names a file or directory, which a client cannot choose: "
             "the server uses what it was started with (docs/serving.md, Security)")
    assert "Usage:" not in server.log()  # the help text never reaches the server's output


def test_a_request_past_its_time_is_504_and_holds_no_lock_another_pipeline_needs(server):
    answers: dict[str, httpx.Response] = {}
    slow = threading.Thread(target=lambda: answers.update(slow=post(server, "/v1/run", SLOW)))
    slow.start()
    time.sleep(0.5)  # the slow request is running; another pipeline does not wait for it
    other = post(server, "/v1/run", {"pipeline": "clean", "records": [{"text": "A <b>fine</b> film"}]}, timeout=20)
    other_done_first = "slow" not in answers
    slow.join(timeout=REQUEST_TIMEOUT + 30)
    assert other.status_code == 200 and other.json()["records"][0]["text"] == "a fine film"
    assert other_done_first
    assert answers["slow"].status_code == 504
    assert answers["slow"].json()["error"] == (f"the request ran past --request-timeout ({REQUEST_TIMEOUT} s); "
                                                "its work was stopped")
    # the same pipeline is free again once the slow one's work stopped (at most one record later)
    again = post(server, "/v1/run", {"pipeline": "tokenize", "records": [{"text": "a b"}]})
    assert again.status_code == 200 and again.json()["records"][0]["tokens"] == ["a", "b"]


def test_work_stops_when_the_client_goes_away(server):
    """The client gives up after 0.5 s, long before the request's deadline: the server counts its work
    as stopped for that reason (between two records), and the pipeline answers the next request."""
    def stopped(reason):
        line = f'nlpkit_work_stopped_total{{reason="{reason}"}} '
        found = [x for x in httpx.get(server.base + "/metrics", timeout=10).text.splitlines() if x.startswith(line)]
        return int(found[0].split()[-1]) if found else 0

    before = stopped("client gone")
    with pytest.raises(httpx.ReadTimeout):
        post(server, "/v1/run", SLOW, timeout=0.5)  # the client closes its connection
    deadline = time.monotonic() + 10
    while stopped("client gone") == before:
        assert time.monotonic() < deadline, "the work went on after its client went away"
        time.sleep(0.1)
    after = post(server, "/v1/run", {"pipeline": "tokenize", "records": [{"text": "a b"}]})
    assert after.status_code == 200 and after.json()["records"][0]["tokens"] == ["a", "b"]


# --------------------------------------------------------------------------- the page's explain, JSON values, 500s


def test_concurrent_first_explains_all_answer(models):
    async def scenario(client):
        sem = asyncio.Semaphore(50)

        async def one(i):
            async with sem:
                return await client.post("/v1/models/lr/explain", json={"text": f"a wonderful film {i}"})

        return await asyncio.gather(*(one(i) for i in range(100)))

    for _ in range(3):  # a fresh app each time: the weights are built by the first calls
        answers = with_client(lr_app(models), scenario)
        assert [a.status_code for a in answers] == [200] * 100
        assert all(a.json()["pred"] in ("neg", "pos") and a.json()["words"] is not None for a in answers)


UNANSWERABLE = [  # (path, raw body, the error)
    ("/v1/predict", b'{"text": "\\ud800"}', "text: holds a lone surrogate (\\ud800), which is not a character"),
    ("/v1/predict", b'{"record": {"text": "a", "score": NaN}}', "record.score: NaN is not a JSON number"),
    ("/v1/predict", b'{"record": {"text": "a", "score": Infinity}}', "record.score: Infinity is not a JSON number"),
    ("/v1/predict", b'{"records": [{"text": "a"}, {"text": "b", "s": -Infinity}]}', "records[1].s: -Infinity is not"),
    ("/v1/predict", b'{"record": {"text": "a", "score": 1e400}}', "record.score: Infinity is not a JSON number"),
    ("/v1/predict", b'{"record": {"text": "a", "\\udc00": 1}}', "record: a key holds a lone surrogate (\\udc00)"),
    ("/v1/run", b'{"pipeline": "clean", "records": [{"text": "a", "x": [1, NaN]}]}', "records[0].x[1]: NaN is not"),
    ("/v1/models/lr/explain", b'{"text": "a \\udfff b"}', "text: holds a lone surrogate (\\udfff)"),
]


def test_values_no_json_answer_can_carry_are_refused_by_field(models):
    async def scenario(client):
        answers = [await client.post(path, content=body, headers={"content-type": "application/json"})
                   for path, body, _ in UNANSWERABLE]
        return answers, await client.post("/v1/predict", json={"records": []})

    answers, empty = with_client(lr_app(models), scenario)
    for (path, body, error), answer in zip(UNANSWERABLE, answers):
        assert answer.status_code == 422, (path, body, answer.text)
        assert answer.json()["error"].startswith(error), (path, body, answer.json())
    assert empty.status_code == 200 and empty.json() == {"model": "lr", "records": []}  # a linear model, no records


# --------------------------------------------------------------------------- slow clients, methods, 413, SIGTERM


def test_half_sent_requests_are_closed_after_the_read_timeout(server):
    """--read-timeout 1: 100 connections that send half a head, or a head and half a body, are closed."""
    head = b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
    socks = []
    for i in range(100):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(head if i % 2 else head + b'\r\n{"text": ')
        socks.append(sock)
    closed = 0
    for sock in socks:
        try:
            closed += sock.recv(1024) == b""  # the server closed it (bounded by the socket's 10 s timeout)
        except (TimeoutError, ConnectionResetError):
            pass
        sock.close()
    assert closed == 100
    assert httpx.get(server.base + "/healthz", timeout=10).status_code == 200


def test_invented_methods_are_one_other_series(server):
    with httpx.Client(base_url=server.base, timeout=10) as client:
        for i in range(50):
            client.request(f"M{i}X", "/healthz")
        metrics = client.get("/metrics").text
    series = [line for line in metrics.splitlines() if line.startswith("nlpkit_requests_total{") and 'route="/healthz"' in line]
    assert not any("M1X" in line for line in series)
    assert 'nlpkit_requests_total{method="other",route="/healthz",status="405"} 50' in series


def test_urllib_sending_a_body_over_the_limit_whole_gets_the_413(server):
    body = json.dumps({"text": "x" * (20 * 1024 * 1024)}).encode()  # 20 MB against --max-body-mb 8
    request = urllib.request.Request(server.base + "/v1/predict", data=body, headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert json.loads(refused.value.read()) == {"error": "the request body is over --max-body-mb (8 MB)"}


def test_a_port_in_use_is_one_error_line(server, models):
    result = subprocess.run([sys.executable, "-m", "nlpkit", "serve", "--model", str(models["lr"]), "--port", str(server.port)],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr == (f"Error: cannot listen on 127.0.0.1:{server.port}: the address is already in use "
                             "(is another server running? choose another --port)\n")


def test_two_workers_with_a_model_that_fails_only_at_load_exit_with_one_line(models, tmp_path):
    """Saved before checksums, with its weights cut: the manifest reads, the weights do not."""
    broken = tmp_path / "old"
    shutil.copytree(models["lr"], broken)
    manifest = json.loads((broken / "nlpkit.json").read_text())
    for key in ("checksums", "manifest_checksum"):
        manifest.pop(key, None)
    (broken / "nlpkit.json").write_text(json.dumps(manifest))
    with open(broken / "linear.npz", "r+b") as f:
        f.truncate(100)
    result = subprocess.run([sys.executable, "-m", "nlpkit", "serve", "--model", str(broken), "--workers", "2",
                             "--port", str(free_port())], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {broken}") and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- generated pipelines


def test_no_generated_pipeline_gets_a_5xx_or_outlives_its_bound(server):
    """Hypothesis: pipeline strings from the stages, every option the server accepts and the ones it must
    refuse, and hostile values (paths, huge and non-finite numbers, quotes, pipes). No answer is 5xx and
    none comes later than --request-timeout (the client gives up 10 s after it: a failure)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from nlpkit.params import declared
    from nlpkit.stages import STAGES, stage_options

    stages = ["clean", "tokenize", "stopwords", "stem", "lemmatize", "predict", "lm generate", "lm perplexity",
              "embed docvec", "vectorize tfidf", "embed", "train", "lm train", "corpora fetch", "nlpkit clean"]
    options = sorted({flag for stage in STAGES for p in declared(stage_options(stage)) for flag in p.flags} | {
        "--help", "--checkpoint", "--idf", "--list", "--apply", "--npy", "--device", "--threads", "--model", "-o",
        "--jobs", "--field", "--executor", "--max-chars", "--vectors", "--output"})
    values = ["lr", "lm", "/etc/passwd", "/dev/zero", "/no/such", "../../etc", "0", "-1", "1e400", "nan", "inf", "1e-300",
              "99999999999999999999999",
              "100000000", "3", "0.5", "english", "regex", "wordnet", "porter", "beam", "sample", "", "'", '"', "|",
              "a b", "--help"]
    segment = st.tuples(st.sampled_from(stages), st.lists(st.tuples(st.sampled_from(options), st.sampled_from(values),
                                                                     st.booleans()), max_size=4))
    pipelines = st.lists(segment, min_size=1, max_size=3).map(lambda segs: " | ".join(
        " ".join([stage] + [w for option, value, with_value in opts for w in ([option, value] if with_value else [option])])
        for stage, opts in segs))
    records = st.lists(st.fixed_dictionaries({"text": st.text(max_size=40)}, optional={"id": st.integers()}), max_size=3)
    statuses = []

    @given(pipeline=pipelines, records=records)
    @settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def run(pipeline, records):
        answer = post(server, "/v1/run", {"pipeline": pipeline, "records": records}, timeout=REQUEST_TIMEOUT + 10)
        assert answer.status_code < 500, (pipeline, records, answer.text)
        assert set(answer.json()) == ({"records"} if answer.status_code == 200 else {"error"})
        statuses.append(answer.status_code)

    run()
    assert 200 in statuses and 400 in statuses  # both kinds of pipeline were tried


def test_no_generated_decoding_of_the_served_language_model_gets_a_5xx(models):
    """Hypothesis, in process with a language model served: lm generate with every decoding option
    and hostile values. The server's bounds keep what the decoder cannot take from reaching it."""
    from hypothesis import HealthCheck, example, given, settings
    from hypothesis import strategies as st

    from nlpkit.params import declared
    from nlpkit.stages import stage_options

    app = lr_app(models)
    options = [p.long_flag for p in declared(stage_options("lm generate")) if p.name not in ("model_dir", "strategy")]
    values = ["0", "1", "-1", "8", "257", "1e-300", "inf", "nan", "1e400", "99999999999999999999999", "cpu", "the film"]
    pairs = st.lists(st.tuples(st.sampled_from(options), st.sampled_from(values)), min_size=1, max_size=3)
    statuses = []

    @given(strategy=st.sampled_from(["sample", "beam", "greedy"]), pairs=pairs)
    @example(strategy="sample", pairs=[("--top-p", "1e-300")])  # the decoder's own failures, found by hand
    @example(strategy="sample", pairs=[("--temperature", "1e-300")])
    @example(strategy="sample", pairs=[("--seed", "99999999999999999999999")])
    @example(strategy="beam", pairs=[("--beam-width", "257"), ("--max-new-tokens", "257")])
    @settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def run(strategy, pairs):
        pipeline = " ".join([f"lm generate --model lm --max-new-tokens 4 --strategy {strategy}",
                             *(f"{o} {v!r}" for o, v in pairs)])

        async def scenario(client):
            return await client.post("/v1/run", json={"pipeline": pipeline, "records": [{"text": "the film"}]})

        answer = with_client(app, scenario)
        assert answer.status_code < 500, (pipeline, answer.text)
        statuses.append(answer.status_code)

    run()
    assert 200 in statuses and 400 in statuses


def test_sigterm_stops_the_server_with_a_request_in_flight(server):
    """Last: it stops the module's server. The in-flight request is answered (504 at its deadline) and
    the server exits 0 within the bound."""
    answers: list = []

    def slow():
        try:
            answers.append(post(server, "/v1/run", SLOW))
        except httpx.HTTPError as e:  # the connection closed under it is an answer too
            answers.append(e)

    request = threading.Thread(target=slow)
    request.start()
    time.sleep(0.5)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=REQUEST_TIMEOUT + 30) == 0
    request.join(timeout=30)
    assert answers and (isinstance(answers[0], httpx.HTTPError) or answers[0].status_code == 504)

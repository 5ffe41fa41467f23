"""One hostile case against a real `nlpkit serve`, for bench_faults.py's server cases.

    python benchmarks/serve_probe.py CASE      # in a directory holding lr/ (tfidf-lr) and vec/ (word2vec)

Starts `nlpkit serve --model lr --vectors w2v=vec` on a free 127.0.0.1 port (`wedge` also
serves lm/, a tiny language model, trained first when missing), runs CASE's requests, stops the
server with SIGTERM, and exits 0 when the server behaved and stopped with 0, else 1 with one
`Error:` line saying what went wrong. Every wait is bounded. `wedge` also prints how many
of its /v1/run requests left the server unable to answer another within its bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
N = [sys.executable, "-m", "nlpkit"]
TIMEOUT = 3  # the server's --request-timeout
SLOW_TEXT = ("The quick brown fox jumps over the lazy dog. " * 500)[:20_000]


class Misbehaved(Exception):
    pass


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise Misbehaved(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *extra: str, lm: bool = False):
        if lm and not Path("lm").is_dir():
            subprocess.run([*N, "lm", "train", "--arch", "lstm", "--dim", "8", "--hidden", "8", "--layers", "1",
                            "--context", "8", "--epochs", "1", "--min-count", "1", "--threads", "1", "-o", "lm",
                            "train.jsonl"], check=True, capture_output=True, timeout=300)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(f"serve-{self.port}.log", "w+")
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        models = ["--model", "lr", *(["--model", "lm", "--threads", "1"] if lm else [])]
        self.process = subprocess.Popen([*N, "serve", *models, "--vectors", "w2v=vec", "--port", str(self.port),
                                         "--request-timeout", str(TIMEOUT), *extra],
                                        stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            expect(self.process.poll() is None, f"the server exited with {self.process.returncode} at start")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.process.kill()
        raise Misbehaved("the server did not answer /healthz in 90 s")

    def post(self, path: str, body, timeout: float = TIMEOUT + 20) -> httpx.Response:
        return httpx.post(self.base + path, json=body, timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise Misbehaved(f"SIGTERM did not stop the server within {TIMEOUT + 30} s") from None
        expect(code == 0, f"the server exited with {code} on SIGTERM")


# the hostile /v1/run requests of the hostile-input run, and the slow ones
WEDGES = [
    "lm generate --model lm --max-new-tokens 100000000",
    "lm generate --model lm --strategy beam --beam-width 100000",
    "lm generate --model lm --strategy beam --beam-width 8 --max-new-tokens 256",
    "embed docvec --vectors w2v --pool tfidf --idf /dev/zero",
    "embed docvec --vectors /dev/zero",
    "stopwords --list /dev/zero",
    "tokenize --engine wordpiece --checkpoint /dev/zero",
    "predict --model /dev/zero",
    "clean --help",
    "lm generate --model lm --max-new-tokens 100000000 --device cuda --threads 1000",
]


def wedge(server: Server) -> None:
    """Each hostile /v1/run request (and a slow one: 150 records of 20,000 characters, cut at
    --request-timeout; and the same, its client gone after 1 s), then a probe that must be
    answered within the request bound. Prints how many left the server wedged."""
    records = [{"text": "this film"}]
    wedged, tried = [], 0
    requests = [(p, records, TIMEOUT + 20) for p in WEDGES] + [
        ("tokenize", [{"text": SLOW_TEXT}] * 150, TIMEOUT + 20), ("tokenize", [{"text": SLOW_TEXT}] * 150, 1)]
    for pipeline, body_records, client_timeout in requests:
        tried += 1
        try:
            answer = server.post("/v1/run", {"pipeline": pipeline, "records": body_records}, timeout=client_timeout)
            expect(answer.status_code < 500 or answer.status_code in (503, 504), f"{pipeline!r}: {answer.status_code}")
        except httpx.TimeoutException:
            pass  # the client that goes away
        for probe in ("clean", "tokenize", "lm generate --model lm --max-new-tokens 2"):
            try:
                ok = server.post("/v1/run", {"pipeline": probe, "records": records}, timeout=2 * TIMEOUT + 5).status_code == 200
            except httpx.HTTPError:
                ok = False
            if not ok:
                wedged.append(f"{pipeline!r} (then {probe!r})")
                break
    print(f"/v1/run requests that wedged the server: {len(wedged)} of {tried}", file=sys.stderr)
    expect(not wedged, f"wedged by {', '.join(wedged)}")


def files(server: Server) -> None:
    """No option names a file, and the answer is the same whether the path exists or not."""
    for pipeline in ("tokenize --engine wordpiece --checkpoint {}", "embed docvec --vectors {}", "predict --model {}",
                     "embed docvec --vectors w2v --idf {} --pool tfidf", "stopwords --list {}", "tag --model {}"):
        answers = [server.post("/v1/run", {"pipeline": pipeline.format(p), "records": [{"text": "a"}]})
                   for p in ("/etc/shadow", "/etc/passwd", "/no/such")]
        errors = {a.json()["error"].replace(p, "P") for a, p in zip(answers, ("/etc/shadow", "/etc/passwd", "/no/such"))}
        expect([a.status_code for a in answers] == [400] * 3 and len(errors) == 1, f"{pipeline}: {errors}")
    served = server.post("/v1/run", {"pipeline": "embed docvec --vectors w2v", "records": [{"text": "good film"}]})
    expect(served.status_code == 200 and len(served.json()["records"][0]["vector"]) == 8, "served vectors by name")


def sigterm(server: Server) -> None:
    """SIGTERM while a slow /v1/run is in flight: the server stops within the bound (checked by stop)."""
    thread = threading.Thread(target=lambda: _quietly(lambda: server.post(
        "/v1/run", {"pipeline": "tokenize", "records": [{"text": SLOW_TEXT}] * 150})), daemon=True)
    thread.start()
    time.sleep(0.5)


def _quietly(call) -> None:
    try:
        call()
    except httpx.HTTPError:
        pass


def explain(server: Server) -> None:
    """100 explain calls at concurrency 50 on a fresh server (the page's call)."""
    async def main():
        sem = asyncio.Semaphore(50)
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:
            async def one(i):
                async with sem:
                    return (await client.post("/v1/models/lr/explain", json={"text": f"a fine film {i}"})).status_code

            return await asyncio.gather(*(one(i) for i in range(100)))

    codes = asyncio.run(main())
    expect(codes == [200] * 100, f"{100 - codes.count(200)} of 100 explain calls failed: {sorted(set(codes))}")


def values(server: Server) -> None:
    """Valid JSON no answer can carry: 422 naming the field, never 500."""
    for body in (b'{"text": "\\ud800"}', b'{"record": {"text": "a", "x": NaN}}', b'{"record": {"text": "a", "x": Infinity}}',
                 b'{"record": {"text": "a", "x": 1e400}}', b'{"records": [{"text": "a", "x": -Infinity}]}'):
        answer = httpx.post(server.base + "/v1/predict", content=body, headers={"content-type": "application/json"}, timeout=10)
        expect(answer.status_code == 422 and ": " in answer.json()["error"], f"{body!r}: {answer.status_code} {answer.text}")


def five_hundreds(server: Server) -> None:
    """The other 500s: no records on a linear model, --help in a pipeline, a wordpiece --checkpoint."""
    empty = server.post("/v1/predict", {"records": []})
    expect(empty.status_code == 200 and empty.json()["records"] == [], f"records []: {empty.status_code}")
    for pipeline in ("clean --help", "tokenize --engine wordpiece --checkpoint X"):
        answer = server.post("/v1/run", {"pipeline": pipeline, "records": [{"text": "a"}]})
        expect(answer.status_code == 400, f"{pipeline!r}: {answer.status_code}")


def slowloris(server: Server) -> None:
    """300 half-sent requests are closed by the server after --read-timeout (1 s here)."""
    head = b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(300)]
    for i, sock in enumerate(socks):
        sock.sendall(head if i % 2 else head + b'\r\n{"text": ')
    closed = 0
    for sock in socks:
        try:
            closed += sock.recv(1024) == b""
        except OSError:
            pass
        sock.close()
    expect(closed == 300, f"{300 - closed} of 300 half-sent requests were still open after 10 s")


def methods(server: Server) -> None:
    """50 invented HTTP methods make one `other` series in /metrics."""
    for i in range(50):
        httpx.request(f"INVENTED{i}", server.base + "/healthz", timeout=10)
    text = httpx.get(server.base + "/metrics", timeout=10).text
    expect("INVENTED" not in text and 'method="other",route="/healthz",status="405"} 50' in text, "series per method")


def urllib_413(server: Server) -> None:
    """A 20 MB body over --max-body-mb 8 sent whole by urllib: it reads the 413, not a reset."""
    body = json.dumps({"text": "x" * (20 * 1024 * 1024)}).encode()
    request = urllib.request.Request(server.base + "/v1/predict", data=body, headers={"content-type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=30)
        raise Misbehaved("a 20 MB body was accepted")
    except urllib.error.HTTPError as e:
        expect(e.code == 413, f"HTTP {e.code}")
    except urllib.error.URLError as e:
        raise Misbehaved(f"urllib got {e.reason}, not the 413") from None


# case -> (probe, the server's extra options, whether it serves the language model)
CASES = {"wedge": (wedge, (), True), "files": (files, (), False), "sigterm": (sigterm, (), False),
         "explain": (explain, (), False), "values": (values, (), False), "500s": (five_hundreds, (), False),
         "slowloris": (slowloris, ("--read-timeout", "1"), False), "methods": (methods, (), False),
         "urllib-413": (urllib_413, ("--max-body-mb", "8"), False)}


def main() -> int:
    case, extra, lm = CASES[sys.argv[1]]
    try:
        server = Server(*extra, lm=lm)
        try:
            case(server)
        finally:
            server.stop()
    except (Misbehaved, httpx.HTTPError, OSError) as e:
        print(f"Error: {sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

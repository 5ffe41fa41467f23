"""Load on `nlpkit serve`: p50/p95/p99 latency and requests/s at concurrency 1, 8 and 32.

For tfidf-lr, bilstm and bert (all-MiniLM-L6-v2 from nlpkit.resources, fine-tuned), each
neural kind twice: micro-batching on (--max-batch 32, --max-wait-ms 10) and off
(--max-batch 1). Each server is a real `nlpkit serve` process on 127.0.0.1 (a free
port); a kind's two servers run at once and their cells alternate, so that the batching
ratio is measured side by side; SIGTERM stops them after the kind's cells. A cell's
mean batch counts its one warm-up request's forward pass too. The load is an asyncio httpx client:
CONCURRENCY workers send one IMDb test review each per request ({"text": ...}; with
--words N its first N words) for CELL_SECONDS, at most MAX_REQUESTS. Every loop is
bounded; nothing listens beyond 127.0.0.1.

The raw ceiling, in the same run: each neural kind's model loaded in this process (same
threads), its ``predict_proba`` on the very texts the load sends, 1 and MAX_BATCH at a time,
measured before each concurrency's cells and after the last (the servers idle). Its
batch-32 over batch-1 ratio is the most micro-batching could give; each cell's
``fraction_of_raw`` is its requests/s over the raw records/s at the cell's --max-batch,
the mean of the measurements just before and just after it.

The models: tfidf-lr and bilstm trained here on 2,000 IMDb training reviews (balanced,
seed 0; bilstm 2 epochs, max_len 256); bert is benchmarks/bench_inference.py's model
(MiniLM fine-tuned on 2,000 reviews, max_len 128) when it exists, else MiniLM fine-tuned
here on 64 reviews (the speed of a forward pass does not depend on what was learnt).

    nice -n 10 .venv/bin/python benchmarks/bench_serve.py [--kinds tfidf-lr,bilstm,bert] [--threads 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import IMDB, NLPKIT, REPO, sh, write_results  # noqa: E402

OUT = REPO / "bench-out" / "serve"
CONCURRENCY = (1, 8, 32)
CELL_SECONDS = 8  # each cell sends for this long (after a warm-up request), at most MAX_REQUESTS
MAX_REQUESTS = 5000
STARTUP_SECONDS = 120
CEILING_SECONDS = 3  # each raw-model measurement (batch 1, batch MAX_BATCH), between a kind's cells
MAX_BATCH = 32
MODELS = {
    "tfidf-lr": ["--model", "tfidf-lr"],
    "bilstm": ["--model", "bilstm", "--epochs", "2", "--max-len", "256", "--valid-fraction", "0", "--seed", "0"],
    "bert": ["--model", "bert", "--epochs", "1", "--max-len", "128", "--lr", "5e-5", "--batch-size", "16",
             "--valid-fraction", "0", "--seed", "0"],
}


def write_subset(split: str, n: int, name: str) -> tuple[Path, list[dict]]:
    from nlpkit.bench.data import balanced_subset, load_split

    records = balanced_subset(load_split(IMDB, split), n, seed=0)
    path = OUT / name
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path, records


def model_dir(kind: str, threads: int) -> Path:
    if kind == "bert":
        fine_tuned = REPO / "bench-out" / "inference" / "bert"
        if (fine_tuned / "nlpkit.json").is_file():
            return fine_tuned
    where = OUT / "models" / kind
    if not (where / "nlpkit.json").is_file():
        train, _ = write_subset("train", 64 if kind == "bert" else 2000, f"train-{kind}.jsonl")
        threads_flag = ["--threads", str(threads)] if kind != "tfidf-lr" else []
        sh(" ".join([*NLPKIT, "train", *MODELS[kind], "--train", str(train), "-o", str(where), *threads_flag]))
    return where


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, directory: Path, max_batch: int, threads: int):
        import httpx

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(OUT / f"server-{directory.name}-{max_batch}.log", "w")
        self.process = subprocess.Popen(
            [*NLPKIT, "serve", "--model", str(directory), "--host", "127.0.0.1", "--port", str(self.port),
             "--max-batch", str(max_batch), "--max-wait-ms", "10", "--threads", str(threads)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited with {self.process.returncode}; see {self.log.name}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"server did not start in {STARTUP_SECONDS} s")

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=10)
        self.log.close()
        return code


async def load(base: str, texts: list[str], concurrency: int, budget: int = MAX_REQUESTS) -> dict:
    import httpx
    import numpy as np

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    sent = 0
    async def worker(client):
        nonlocal sent
        while sent < budget and time.monotonic() < stop_at:
            text = texts[sent % len(texts)]
            sent += 1
            started = time.perf_counter()
            response = await client.post("/v1/predict", json={"text": text})
            latencies.append(time.perf_counter() - started)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        await client.post("/v1/predict", json={"text": texts[0]})  # warm-up: first forward pass
        started = time.perf_counter()
        stop_at = time.monotonic() + CELL_SECONDS
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - started
    ms = np.asarray(latencies) * 1000
    return {"concurrency": concurrency, "requests": len(latencies), "seconds": round(wall, 2),
            "req_per_s": round(len(latencies) / wall, 2), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p95_ms": round(float(np.percentile(ms, 95)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def raw_model(directory: Path, threads: int):
    """The kind's model loaded in this process, with the servers' threads (for :func:`ceiling`)."""
    import torch

    from nlpkit.models.base import load_model

    torch.set_num_threads(threads)
    return load_model(directory)


def ceiling(model, texts: list[str], max_batch: int) -> dict:
    """The model's own records/s in this process, no HTTP: `predict_proba` (what the server's batcher calls)
    on the texts the load sends, in their order, one at a time and max_batch at a time, for CEILING_SECONDS each."""
    inputs = [{"text": t} for t in texts]
    model.predict_proba(inputs[:max_batch])  # warm-up
    row = {}
    for batch in (1, max_batch):
        done, started = 0, time.perf_counter()
        while done < len(inputs) and time.perf_counter() - started < CEILING_SECONDS:
            done += len(model.predict_proba(inputs[done : done + batch]))
        row[f"seq_per_s_batch_{batch}"] = round(done / (time.perf_counter() - started), 2)
    return row


def batch_counts(base: str) -> tuple[float, float]:
    """(forward passes, records in them) so far, from the server's /metrics."""
    import httpx

    count = total = 0.0
    for line in httpx.get(base + "/metrics", timeout=10).text.splitlines():
        if line.startswith("nlpkit_batch_size_count"):
            count += float(line.split()[-1])
        elif line.startswith("nlpkit_batch_size_sum"):
            total += float(line.split()[-1])
    return count, total


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default="tfidf-lr,bilstm,bert")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--words", type=int, help="Send only each review's first N words (short requests)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    OUT.mkdir(parents=True, exist_ok=True)
    _, test = write_subset("test", 400, "test-400.jsonl")
    texts = [" ".join(r["text"].split()[: args.words]) if args.words else r["text"] for r in test]
    cells, ceilings, started = [], {}, time.perf_counter()
    for kind in args.kinds.split(","):
        directory = model_dir(kind, args.threads)
        model = raw_model(directory, args.threads) if kind != "tfidf-lr" else None
        raw: list[dict] = []  # the raw ceiling before each concurrency's cells and after the last (servers idle)
        # batching on and off served at once, their cells alternating: a load change on this shared
        # machine falls on both, so their ratio is measured side by side
        servers = {max_batch: Server(directory, max_batch, args.threads) for max_batch in ((MAX_BATCH, 1) if kind != "tfidf-lr" else (32,))}
        try:
            for i, concurrency in enumerate(CONCURRENCY):
                if model is not None:
                    raw.append(ceiling(model, texts, MAX_BATCH))
                for max_batch in (list(servers) if i % 2 == 0 else list(servers)[::-1]):
                    base = servers[max_batch].base
                    before = batch_counts(base)
                    row = asyncio.run(load(base, texts, concurrency))
                    after = batch_counts(base)
                    passes = after[0] - before[0]
                    row.update(kind=kind, batching=kind != "tfidf-lr" and max_batch > 1, max_batch=max_batch, step=i,
                               forward_passes=int(passes),
                               mean_batch=round((after[1] - before[1]) / passes, 2) if passes else None)
                    cells.append(row)
                    print(json.dumps(row), file=sys.stderr, flush=True)
        finally:
            exits = {max_batch: server.stop() for max_batch, server in servers.items()}
        for row in cells:
            if row["kind"] == kind:
                row["server_exit"] = exits[row["max_batch"]]
        if model is not None:
            raw.append(ceiling(model, texts, MAX_BATCH))
            keys = list(raw[0])
            ceilings[kind] = {"model_batch_size": model.batch_size, "runs": raw,
                              **{key: round(sum(r[key] for r in raw) / len(raw), 2) for key in keys}}
            ceilings[kind]["batching_ceiling"] = round(
                ceilings[kind][f"seq_per_s_batch_{MAX_BATCH}"] / ceilings[kind]["seq_per_s_batch_1"], 2)
            for row in cells:
                if row["kind"] == kind:  # requests/s over the raw records/s at the cell's --max-batch, measured
                    key = f"seq_per_s_batch_{row['max_batch']}"  # just before and just after the cell's step
                    row["fraction_of_raw"] = round(2 * row["req_per_s"] / (raw[row["step"]][key] + raw[row["step"] + 1][key]), 3)
    ratios = {}
    for kind in ("bilstm", "bert"):
        for concurrency in CONCURRENCY:
            on = next((c for c in cells if c["kind"] == kind and c["batching"] and c["concurrency"] == concurrency), None)
            off = next((c for c in cells if c["kind"] == kind and not c["batching"] and c["concurrency"] == concurrency), None)
            if on and off:
                ratios[f"{kind}@{concurrency}"] = round(on["req_per_s"] / off["req_per_s"], 2)
    write_results("serve" if not args.words else f"serve-{args.words}-words", {
        "threads": args.threads, "cell_seconds": CELL_SECONDS, "test_reviews": len(texts), "words_per_request": args.words,
        "bert_model": str(model_dir("bert", args.threads).relative_to(REPO)) if "bert" in args.kinds else None,
        "raw_ceiling": ceilings, "cells": cells, "batching_speedup": ratios, "wall_seconds": round(time.perf_counter() - started, 1),
    })


if __name__ == "__main__":
    main(sys.argv[1:])

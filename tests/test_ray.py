"""`--executor ray` on a two-node Ray cluster on this machine: output equals local runs, shards are
complete, a killed worker loses and duplicates nothing, bad addresses fail fast.

One cluster for the module (ray.cluster_utils.Cluster: a head and a worker node, one CPU each;
the worker node declares a GPU so that GPU stages have somewhere to go). This process joins it
once; in-process commands use that connection, subprocesses join with --address.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_DIR, parse_jsonl, write_jsonl
from nlpkit.io import read_records

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
pytestmark = pytest.mark.slow  # a cluster, and Ray jobs of a few seconds each

NLPKIT = [sys.executable, "-m", "nlpkit"]


@pytest.fixture(scope="module")
def cluster():
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    from ray.cluster_utils import Cluster

    store = 100 * 2**20
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False, "object_store_memory": store})
    c.add_node(num_cpus=1, num_gpus=1, object_store_memory=store)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False, logging_level=logging.WARNING)
    try:
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    root = tmp_path_factory.mktemp("ray")
    records = [r for _, r in zip(range(24), read_records(str(SAMPLE_DIR / "test.jsonl.gz")))]
    return write_jsonl(root / "reviews.jsonl", records)


def shards(directory: Path) -> list[dict]:
    """The records of every shard, shard names sorted (which is input order)."""
    return [r for path in sorted(directory.glob("part-*")) for r in parse_jsonl(path.read_text(encoding="utf-8"))]


def by_id(records):
    return sorted(records, key=lambda r: r["id"])


def local_and_ray(invoke, tmp_path, args, source, flag="--executor"):
    local = invoke(*args, source)
    assert local.exit_code == 0, local.output
    out = tmp_path / "out"
    on_ray = invoke(*args, flag, "ray", source, "-o", out)
    assert on_ray.exit_code == 0, on_ray.output
    assert (out / "_SUCCESS").exists()
    return parse_jsonl(local.stdout), shards(out)


# --------------------------------------------------------------------------- stages: Ray equals local


# clean: see test_directory_of_text_files_to_shards_each_id_once
# --executor ray (its old spelling, --engine ray, was removed in 0.3: --engine names the NLP library only)
@pytest.mark.parametrize("stage, flag", [("tokenize", "--executor"), ("stopwords", "--executor"), ("stem", "--executor"),
                                         ("lemmatize", "--executor")])
def test_each_text_stage_on_ray_equals_local(cluster, invoke, reviews, tmp_path, stage, flag):
    source = reviews
    if stage in ("stopwords", "stem", "lemmatize"):  # these take tokens: feed them tokenized records
        source = tmp_path / "tokens.jsonl"
        source.write_text(invoke("tokenize", "--engine", "regex", reviews).stdout)
    local, on_ray = local_and_ray(invoke, tmp_path, [stage], source, flag)
    assert len(local) == 24
    assert by_id(on_ray) == by_id(local)


def test_chunk_splits_records_on_ray_as_it_does_locally(cluster, invoke, reviews, tmp_path):
    local, on_ray = local_and_ray(invoke, tmp_path, ["chunk", "--count", "words", "--max-tokens", "40"], reviews)
    assert len(local) > 24  # each review became several passages
    assert by_id(on_ray) == by_id(local)


def test_linguistic_stages_fused_on_ray_equal_local(cluster, invoke, reviews, tmp_path):
    # one job for the spaCy stages (a job each would load spaCy five times over)
    names = [n for n in ("tag", "ner", "parse", "svo", "annotate") if _registered(n)]
    if not names:
        pytest.skip("no linguistic stage registered yet")
    pipeline = " | ".join(names)
    few = write_jsonl(tmp_path / "few.jsonl", list(itertools.islice(read_records(str(reviews)), 8)))
    local, on_ray = local_and_ray(invoke, tmp_path, ["run", "--pipeline", pipeline], few)
    assert by_id(on_ray) == by_id(local)
    assert {"pos", "ents", "deps"} & set(on_ray[0]), on_ray[0].keys()


def test_model_stages_fused_on_ray_equal_local(cluster, invoke, tmp_path):
    if not (_registered("predict") and _registered("embed")):
        pytest.skip("predict or embed docvec not registered yet")
    every_5th = itertools.islice(read_records(str(SAMPLE_DIR / "train.jsonl.gz")), 0, None, 5)  # both labels
    train = write_jsonl(tmp_path / "train.jsonl", list(every_5th))
    model = tmp_path / "model"
    trained = invoke("train", "--model", "tfidf-lr", "--train", train, "-o", model)
    assert trained.exit_code == 0, trained.output
    vectors = tmp_path / "tiny.txt"
    vectors.write_text("3 2\ngood 1.0 0.0\nbad 0.0 1.0\nthe 1.0 1.0\n")
    test = write_jsonl(tmp_path / "test.jsonl", [r for _, r in zip(range(20), read_records(str(SAMPLE_DIR / "test.jsonl.gz")))])
    pipeline = f"embed docvec --vectors {vectors} | predict --model {model}"
    local, on_ray = local_and_ray(invoke, tmp_path, ["run", "--pipeline", pipeline], test)
    assert by_id(on_ray) == by_id(local)
    assert {"vector", "pred", "probs"} <= set(on_ray[0])


def _registered(name: str) -> bool:
    from nlpkit.cli import COMMANDS

    return name in COMMANDS


# --------------------------------------------------------------------------- files, shards, pipelines


def test_directory_of_text_files_to_shards_each_id_once(cluster, invoke, tmp_path, monkeypatch):
    from nlpkit import distributed

    monkeypatch.setattr(distributed, "GROUP_FILES", 40)  # several read tasks
    corpus = tmp_path / "corpus"
    texts = [r["text"] for _, r in zip(range(100), read_records(str(SAMPLE_DIR / "train.jsonl.gz")))]
    for i, text in enumerate(texts):
        path = corpus / ("pos" if i % 2 else "neg") / f"{i}_7.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (corpus / "neg" / "broken.txt").write_bytes(b"bad \xff byte")
    out = tmp_path / "out"
    result = invoke("clean", "--executor", "ray", "--batch-size", "7", "--on-error", "skip", corpus, "-o", out)
    assert result.exit_code == 0, result.output
    records = shards(out)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == 100
    assert set(ids) == {str(p) for p in corpus.rglob("*_7.txt")}
    # shard names keep input order: the shards read in name order are the local output
    local = invoke("clean", "--on-error", "skip", corpus)
    assert records == parse_jsonl(local.stdout)
    assert len(list(out.glob("part-*.jsonl"))) > 3
    skipped = parse_jsonl((out / "_skipped.jsonl").read_text())
    assert [(s["location"], s["id"]) for s in skipped] == [(str(corpus / "neg" / "broken.txt"), None)]
    assert "not valid UTF-8" in skipped[0]["problem"]
    assert "skipped 1 bad record(s)" in result.stderr


def test_fused_pipeline_on_ray_equals_the_shell_pipeline(cluster, invoke, reviews, tmp_path):
    source = tmp_path / "mixed.jsonl"
    lines = reviews.read_text(encoding="utf-8").rstrip("\n").split("\n")  # not splitlines: texts hold U+2028
    lines[3:3] = ['{"id": "no-text", "title": "x"}', "{not json"]
    source.write_text("\n".join(lines) + "\n")
    stages = ["clean --on-error skip", "tokenize --engine regex --on-error skip", "stem --on-error skip"]
    shell = subprocess.run(
        f"{sys.executable} -m nlpkit {stages[0]} < {source} | " + " | ".join(f"{sys.executable} -m nlpkit {s}" for s in stages[1:]),
        shell=True, capture_output=True, cwd=REPO, executable="/bin/bash",
    )
    assert shell.returncode == 0, shell.stderr.decode()
    fused = invoke("-v", "run", "--pipeline", "clean | tokenize --engine regex | stem", "--executor", "ray", "--ordered",
                   "--on-error", "skip", source)
    assert fused.exit_code == 0, fused.output
    assert fused.stdout.replace(str(source), "stdin") == shell.stdout.decode()
    assert "run: 26 records in, 24 out" in fused.stderr
    assert "time per stage: clean " in fused.stderr and "Ray start-up" in fused.stderr
    assert f"skipped 2 bad record(s); first: {source}:4: clean: record has no 'text' field" in fused.stderr

    failed = invoke("run", "--pipeline", "clean | stem", "--executor", "ray", source, "-o", tmp_path / "failed")
    assert failed.exit_code == 1
    assert failed.stderr == f"Error: {source}:4: clean: record has no 'text' field (use --field to choose another)\n"
    assert not (tmp_path / "failed" / "_SUCCESS").exists()


def test_gpu_stage_gets_its_own_step_on_the_gpu_node(cluster, reviews, tmp_path):
    from nlpkit.runner import RunOptions
    from nlpkit.distributed import run_on_ray
    from nlpkit.pipeline import Pipeline
    from nlpkit.text import CleanStage, TokenizeStage

    gpu_stage = TokenizeStage(engine="regex")
    gpu_stage.num_gpus = 1  # as a neural stage on --device cuda would
    pipeline = Pipeline([("clean", CleanStage()), ("tokenize", gpu_stage)])
    assert len(pipeline.split()) == 2  # a CPU step, then a GPU step
    report = run_on_ray(pipeline, RunOptions(inputs=(str(reviews),), output=str(tmp_path / "out")), name="run")
    expected = list(Pipeline([("clean", CleanStage()), ("tokenize", TokenizeStage(engine="regex"))])(read_records(str(reviews))))
    assert shards(tmp_path / "out") == expected
    assert report.records_out == 24 and set(report.stage_seconds) == {"clean", "tokenize"}


# --------------------------------------------------------------------------- fault tolerance


def _stage_worker_pids(cluster) -> list[int]:
    """Ray actor processes running nlpkit stages, children of this cluster's raylets."""
    raylets = {node.all_processes["raylet"][0].process.pid for node in cluster.list_all_nodes()}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "StageWorker" in cmdline and ppid in raylets:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc")
def test_a_killed_worker_loses_and_duplicates_nothing(cluster, invoke, tmp_path):
    records = list(read_records(str(SAMPLE_DIR / "train.jsonl.gz")))
    source = write_jsonl(tmp_path / "reviews.jsonl", records)
    out = tmp_path / "out"
    command = [*NLPKIT, "run", "--pipeline", "clean | tokenize", "--executor", "ray", "--address", cluster.address,
               "--batch-size", "4", str(source), "-o", str(out)]
    job = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env={**os.environ, "RAY_AUTH_MODE": "disabled"})
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and job.poll() is None and time.monotonic() < deadline:
        if out.exists() and list(out.glob("part-*")):  # the job is writing: kill a worker mid-run
            pids = _stage_worker_pids(cluster)
            if pids:
                assert not (out / "_SUCCESS").exists()
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
        time.sleep(0.05)
    _, stderr = job.communicate(timeout=180)
    assert killed is not None, f"no worker was killed mid-run (the job ended first?): {stderr.decode()[-500:]}"
    assert job.returncode == 0, stderr.decode()[-2000:]
    assert (out / "_SUCCESS").exists()
    written = shards(out)
    assert len(written) == len({r["id"] for r in written}) == len(records) == 1000
    local = invoke("run", "--pipeline", "clean | tokenize", source)
    assert written == parse_jsonl(local.stdout)


# --------------------------------------------------------------------------- errors without a cluster


def test_unreachable_address_is_one_line_and_exit_1(invoke, reviews):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = invoke("clean", "--executor", "ray", "--address", f"127.0.0.1:{port}", reviews)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot reach a Ray cluster at 127.0.0.1:{port}: connection refused (start one with `ray start --head`")
    assert result.stderr.count("\n") == 1


def test_a_port_that_is_not_ray_fails_within_the_probe_timeout(invoke, reviews, monkeypatch):
    from nlpkit import distributed

    monkeypatch.setattr(distributed, "GCS_TIMEOUT_S", 1.0)
    with socket.socket() as listener:  # accepts connections, speaks no Ray
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        address = "127.0.0.1:%d" % listener.getsockname()[1]
        result = invoke("clean", "--executor", "ray", "--address", address, reviews)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {address} is not a Ray cluster:")


@pytest.mark.parametrize("stage", ["tokenize", "lemmatize", "tag"])
def test_engine_names_only_the_library_where_it_names_one(invoke, stage):
    words = '{"id": "1", "text": "The cats sat", "tokens": ["The", "cats", "sat"]}\n'
    for executor in ("local", "ray"):
        result = invoke(stage, "--engine", executor, input=words)
        assert result.exit_code == 2 and f"Invalid value for '--engine': '{executor}' is not one of" in result.stderr


def test_ray_refuses_stdin_and_a_non_empty_output_directory(invoke, reviews, tmp_path):
    result = invoke("clean", "--executor", "ray", input='{"text": "x"}\n')
    assert result.exit_code == 2
    assert "--executor ray reads files and directories, not stdin" in result.stderr
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "part-000000-000000.jsonl").write_text("{}\n")
    result = invoke("clean", "--executor", "ray", reviews, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr == f"Error: -o {tmp_path / 'out'}: directory is not empty (choose a new one, or remove it first)\n"

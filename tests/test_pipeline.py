"""`nlpkit run`: fused pipelines (string and YAML) equal the shell pipeline of the same stages; errors.

No Ray here (see test_ray.py), except the messages that need no cluster.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import REPO, SAMPLE_DIR, parse_jsonl, write_jsonl
from nlpkit.io import read_records
from nlpkit.cli._pipeline import build_pipeline
from nlpkit.pipeline import Pipeline, PipelineError, split_pipeline
from nlpkit.text import CleanStage, StemStage, TokenizeStage

NLPKIT = f"{sys.executable} -m nlpkit"
# lemmatize would load WordNet (seconds) in every process; stem keeps the test light
PIPELINE = "clean | tokenize | stopwords | stem"


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    """30 sample reviews as JSONL, and what the real shell pipeline of PIPELINE makes of them."""
    root = tmp_path_factory.mktemp("pipeline")
    records = [r for _, r in zip(range(30), read_records(str(SAMPLE_DIR / "test.jsonl.gz")))]
    source = write_jsonl(root / "reviews.jsonl", records)
    shell = " | ".join(f"{NLPKIT} {stage.strip()}" for stage in PIPELINE.split("|"))
    result = subprocess.run(
        shell.replace(f"{NLPKIT} clean", f"{NLPKIT} clean {source}", 1),
        shell=True, capture_output=True, cwd=REPO, executable="/bin/bash",
    )
    assert result.returncode == 0, result.stderr.decode()
    return {"source": source, "shell": result.stdout.decode(), "root": root}


def test_split_pipeline_follows_shell_quoting():
    assert split_pipeline("clean|tokenize --engine regex | nlpkit stem") == [
        ["clean"], ["tokenize", "--engine", "regex"], ["stem"],
    ]
    assert split_pipeline("stopwords --words 'a|b' | stem") == [["stopwords", "--words", "a|b"], ["stem"]]
    for bad in ("clean |", "clean || stem", "| clean", "clean 'open"):
        with pytest.raises(PipelineError):
            split_pipeline(bad)


def test_fused_pipeline_equals_the_shell_pipeline(invoke, reviews):
    result = invoke("run", "--pipeline", PIPELINE, reviews["source"])
    assert result.exit_code == 0, result.output
    assert result.stdout == reviews["shell"]
    out = parse_jsonl(result.stdout)
    assert len(out) == 30 and all(r["tokens"] for r in out)
    # every stage ran, in order: stop words are gone (negations kept), tokens are stems
    tokens = {t for r in out for t in r["tokens"]}
    assert "the" not in tokens and "movi" in tokens and "movies" not in tokens


def test_fused_pipeline_with_jobs_keeps_the_order(invoke, reviews):
    result = invoke("run", "--pipeline", PIPELINE, "--jobs", "2", "--batch-size", "4", reviews["source"])
    assert result.exit_code == 0, result.output
    assert result.stdout == reviews["shell"]


def test_verbose_summary_times_each_stage(invoke, reviews):
    result = invoke("-v", "run", "--pipeline", "clean | tokenize --engine regex | stem", reviews["source"])
    assert result.exit_code == 0
    assert "run: 30 records in, 30 out" in result.stderr
    assert "time per stage: clean " in result.stderr and ", tokenize " in result.stderr and ", stem " in result.stderr


def test_yaml_pipeline_with_options_by_name_and_file_options(invoke, reviews, tmp_path):
    spec = tmp_path / "pipeline.yaml"
    spec.write_text(
        "stages:\n"
        "  - clean --digits\n"
        "  - tokenize: {engine: regex}\n"
        "  - stem: --algorithm lancaster\n"
        "format: text\n"
    )
    result = invoke("run", spec, reviews["source"])
    assert result.exit_code == 0, result.output
    records = list(read_records(str(reviews["source"])))
    for stage in (CleanStage(digits=True), TokenizeStage(engine="regex"), StemStage(algorithm="lancaster")):
        records = list(stage(records))
    assert result.stdout.splitlines() == [" ".join(r["tokens"]) for r in records]
    # the command line wins over the file
    as_jsonl = invoke("run", spec, reviews["source"], "--format", "jsonl")
    assert parse_jsonl(as_jsonl.stdout) == records


def test_a_bad_record_is_skipped_or_reported_with_its_stage(invoke, tmp_path):
    source = write_jsonl(tmp_path / "mixed.jsonl", [{"id": "a", "text": "Good film"}, {"id": "b", "text": 7}, {"id": "c", "text": "Bad"}])
    skipped = invoke("run", "--pipeline", "clean | tokenize --engine regex", "--on-error", "skip", source)
    assert skipped.exit_code == 0
    assert [r["id"] for r in parse_jsonl(skipped.stdout)] == ["a", "c"]
    assert f"skipped 1 bad record(s); first: {source}:2: clean: field 'text' is int, not a string" in skipped.stderr
    failed = invoke("run", "--pipeline", "clean | tokenize --engine regex", source)
    assert failed.exit_code == 1
    assert failed.stderr == f"Error: {source}:2: clean: field 'text' is int, not a string\n"
    assert [r["id"] for r in parse_jsonl(failed.stdout)] == ["a"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--pipeline", "clean | bogus"], "stage 2: no such command 'bogus'"),
        (["--pipeline", "clean | train --model x"], "stage 2: `train` is not a record stage"),
        (["--pipeline", "tokenize --engine nope"], "stage 1 (tokenize): Invalid value for '--engine'"),
        (["--pipeline", "clean -o out.jsonl | stem"], "stage 1 (clean): --output belong(s) to the whole run"),
        (["--pipeline", "clean --executor ray"], "stage 1 (clean): --executor belong(s) to the whole run"),
        (["--pipeline", "clean |"], "stage 2 is empty"),
        ([], "name a PIPELINE.yaml, or give the stages with --pipeline"),
        (["--pipeline", "clean", "--address", "127.0.0.1:6379"], "--address names a Ray cluster: add --executor ray"),
        (["missing.yaml"], "missing.yaml: no such pipeline file"),
    ],
)
def test_pipeline_usage_errors(invoke, args, message):
    result = invoke("run", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text, message",
    [
        ("stages: [clean\n", "bad.yaml:2: not valid YAML"),
        ("clean: true\n", "expected a `stages:` list"),
        ("stages: [clean]\nworkers: 3\n", "unknown option 'workers'"),
        ("stages: [clean]\nexecutor: spark\n", "bad.yaml: executor: Invalid value for '--executor': 'spark' is not one of"),
        ("stages: [{tokenize: {engin: regex}}]\n", "stage 1 (tokenize): no such option(s): engin"),
    ],
)
def test_pipeline_file_errors(invoke, tmp_path, text, message):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    result = invoke("run", spec, "-")
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_stages_split_where_gpu_needs_change():
    pipeline = build_pipeline("clean | tokenize --engine regex | stem")
    assert [p.names for p in pipeline.split()] == [["clean", "tokenize", "stem"]]
    gpu = TokenizeStage(engine="regex")
    gpu.num_gpus = 1
    mixed = Pipeline([("clean", CleanStage()), ("tokenize", gpu), ("stem", StemStage()), ("stem", StemStage())])
    assert [(p.names, p.num_gpus) for p in mixed.split()] == [(["clean"], 0), (["tokenize"], 1), (["stem", "stem#2"], 0)]


def test_executor_ray_without_ray_says_how_to_install(invoke, tmp_path, monkeypatch):
    source = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": "x"}])
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = invoke("clean", "--executor", "ray", source)
    assert result.exit_code == 1
    assert result.stderr == "Error: --executor ray needs Ray, which is not installed: pip install 'nlpkit[ray]'\n"

"""The layers hold: no import cycle in nlpkit/, the core never imports the CLI or click,
the stage registry builds what the commands build, and the old --engine spelling is gone."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _arch_stats():
    spec = importlib.util.spec_from_file_location("arch_stats", ROOT / "scripts" / "arch_stats.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_import_cycles():
    stats = _arch_stats()
    graph = stats.import_graph(ROOT / "nlpkit")
    assert stats.cycles(graph) == []


def test_core_never_imports_cli_or_click():
    stats = _arch_stats()
    assert stats.core_to_cli(stats.import_graph(ROOT / "nlpkit")) == []


def test_cycle_finder_finds_a_cycle(tmp_path):
    # the checker itself can fail: a two-module cycle and a core -> cli import are reported
    package = tmp_path / "nlpkit"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli" / "__init__.py").write_text("import click\n")
    (package / "a.py").write_text("from nlpkit import b\n")
    (package / "b.py").write_text("def f():\n    from nlpkit.a import x\n    from nlpkit.cli import y\n")
    stats = _arch_stats()
    graph = stats.import_graph(package)
    assert stats.cycles(graph) == [["nlpkit.a", "nlpkit.b"]]
    assert stats.core_to_cli(graph) == [("nlpkit.b", "nlpkit.cli")]


def test_no_two_packages_import_each_other():
    """models, lm and embeddings build on nlpkit.training and nlpkit.modeldir, not on each other's internals."""
    stats = _arch_stats()
    assert stats.package_cycles(stats.import_graph(ROOT / "nlpkit")) == []


def test_no_private_name_is_imported_across_modules():
    assert _arch_stats().private_imports(ROOT / "nlpkit") == []


def test_package_and_private_checkers_can_fail(tmp_path):
    package = tmp_path / "nlpkit"
    for sub in ("a", "b"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "a" / "x.py").write_text("from nlpkit.b.y import _helper\n")
    (package / "b" / "y.py").write_text("def f():\n    from nlpkit.a import x\n")
    stats = _arch_stats()
    assert stats.package_cycles(stats.import_graph(package)) == [("nlpkit.a", "nlpkit.b")]
    assert stats.private_imports(package) == ["nlpkit.a.x -> nlpkit.b.y._helper"]


def test_every_stage_command_is_registered():
    """A command with the shared stage options builds its stage from the registry, and vice versa."""
    import click

    from nlpkit.cli import cli
    from nlpkit.stages import STAGES

    ctx = click.Context(cli)
    found = set()

    def walk(group, prefix):
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            label = f"{prefix}{name}"
            if isinstance(command, click.Group):
                walk(command, label + " ")
            elif {"executor", "on_error", "inputs"} <= {p.name for p in command.params} and label != "run":
                found.add(label)

    walk(cli, "")
    assert found == set(STAGES)


# every registered stage appears in at least one of these (test_the_pipelines_cover_every_stage)
PIPELINES = [
    ["clean --no-punct", "tokenize --engine regex", "stopwords --keep not", "stem --algorithm snowball"],
    ["clean", "tokenize", "lemmatize", "tag --engine nltk"],
    ["tokenize --engine spacy", "tag", "ner --labels PERSON,ORG", "parse", "svo"],
    ["annotate --layers pos,ner"],
    ["tokenize --engine regex", "embed docvec --vectors glove-6b-50d --lower"],
    ["vectorize tfidf --apply {fitted} --top 3", "predict --model {model}"],
    ["clean", "vectorize bow --apply {fitted_bow} --top 2"],
    ["lm perplexity --model {lm} --per-record", "lm generate --model {lm} --max-new-tokens 4 --strategy sample --seed 1"],
    ["chunk --count words --max-tokens 100000", "encode", "search --index {index} -k 2"],
]
NLPKIT = str(Path(sys.executable).parent / "nlpkit")


def _nlpkit(*args: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run([NLPKIT, *args], input=stdin, capture_output=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


@pytest.fixture(scope="module")
def reviews(tmp_path_factory) -> Path:
    """Twelve sample reviews, and a vectorizer and a model fitted on the sample's training split."""
    import gzip
    import itertools

    folder = tmp_path_factory.mktemp("registry")
    with gzip.open(ROOT / "corpora" / "imdb-sample" / "test.jsonl.gz", "rb") as f:
        (folder / "reviews.jsonl").write_bytes(b"".join(itertools.islice(f, 12)))
    train = str(ROOT / "corpora" / "imdb-sample" / "train.jsonl.gz")
    _nlpkit("vectorize", "tfidf", train, "-o", str(folder / "fitted"))
    _nlpkit("vectorize", "bow", train, "-o", str(folder / "fitted-bow"))
    _nlpkit("train", "--model", "tfidf-lr", "--train", train, "-o", str(folder / "model"))
    _nlpkit("lm", "train", "--arch", "lstm", "--dim", "16", "--hidden", "16", "--layers", "1", "--epochs", "1",
            "--vocab-size", "500", str(folder / "reviews.jsonl"), "-o", str(folder / "lm"))
    _nlpkit("index", "build", str(folder / "reviews.jsonl"), "-o", str(folder / "index"))
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("segments", PIPELINES, ids=lambda s: " | ".join(s).split(" {")[0])
def test_run_pipeline_equals_shell_pipeline(segments, reviews):
    """`nlpkit run --pipeline` (built from the registry) prints byte for byte what the shell pipeline prints."""
    segments = [s.format(fitted=reviews / "fitted", fitted_bow=reviews / "fitted-bow", model=reviews / "model",
                         lm=reviews / "lm", index=reviews / "index") for s in segments]
    shell = (reviews / "reviews.jsonl").read_bytes()
    for segment in segments:
        shell = _nlpkit(*segment.split(), stdin=shell)
    fused = _nlpkit("run", "--pipeline", " | ".join(segments), str(reviews / "reviews.jsonl"))
    assert fused == shell
    assert shell.count(b"\n") == 12


def test_the_pipelines_cover_every_stage():
    from nlpkit.stages import STAGES

    covered = set()
    for segments in PIPELINES:
        for segment in segments:
            words = segment.split()
            covered.add(" ".join(words[:2]) if " ".join(words[:2]) in STAGES else words[0])
    assert covered == set(STAGES)


def test_registry_builds_what_the_library_builds():
    from nlpkit.stages import build_stage
    from nlpkit.text.stem import StemStage

    stage = build_stage("stem", algorithm="snowball", porter_mode="nltk", lang="english")
    assert isinstance(stage, StemStage)
    assert list(stage([{"text": "running cats"}])) == [{"text": "running cats", "tokens": ["run", "cat"]}]


def test_unknown_stage_is_a_usage_error():
    from nlpkit.errors import UsageError
    from nlpkit.stages import build_stage

    with pytest.raises(UsageError, match="no record stage named 'stemm'"):
        build_stage("stemm")


@pytest.mark.parametrize(
    "args, message",
    [
        (["clean", "--engine", "local"], "No such option '--engine'"),
        (["tokenize", "--engine", "ray"], "Invalid value for '--engine': 'ray' is not one of 'nltk', 'spacy', 'regex', 'wordpiece'"),
        (["run", "--pipeline", "clean | stem --engine ray", "-"], "stage 2 (stem): no such option: --engine"),
    ],
)
def test_engine_local_or_ray_is_removed(invoke, args, message):
    """--engine local|ray was the executor's old spelling (deprecated in 0.2, removed in 0.3): --executor names it."""
    result = invoke(*args, input="x\n")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output

"""Fixtures every test file may use: the CLI runner, the embedded sample, JSONL helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nlpkit.cli import cli

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "corpora" / "imdb-sample"


def parse_jsonl(text: str) -> list[dict]:
    # split on "\n" only: JSON strings may hold U+2028 or \x85, which str.splitlines() would cut at
    return [json.loads(line) for line in text.split("\n") if line.strip()]


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def run_cli(*args, input=None, env=None):
    """Run `nlpkit ARGS...` in-process; returns click's Result (stdout and stderr apart).

    A plain function, for module-scoped fixtures; tests take it as the `invoke` fixture.
    """
    return CliRunner().invoke(cli, [str(a) for a in args], input=input, env=env, catch_exceptions=False)


@pytest.fixture
def invoke():
    return run_cli


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE_DIR

"""Errors reach the user as one line naming file, line and problem; exit codes as docs/architecture.md says."""

import json
import subprocess
import sys

import pytest

from nlpkit import resources
from tests.conftest import REPO, parse_jsonl, write_jsonl


def test_malformed_json_names_file_and_line_and_keeps_what_came_before(invoke, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "Fine."}\n{"text": oops}\n{"text": "never reached"}\n')
    result = invoke("clean", path)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}:2: malformed JSON")
    assert len(result.stderr.strip().splitlines()) == 1
    assert parse_jsonl(result.stdout) == [{"text": "fine"}]  # written before the failure, not lost


def test_record_without_the_field(invoke, tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"text": "a"}, {"body": "b"}])
    result = invoke("tokenize", path)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {path}:2: record has no 'text' field (use --field to choose another)"


def test_field_of_the_wrong_type(invoke):
    result = invoke("clean", input='{"text": 42}\n')
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: stdin:1: field 'text' is int, not a string"


def test_undecodable_bytes(invoke):
    result = invoke("clean", input=b"fine\n\xff\xfe bytes\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: stdin:2: not valid UTF-8 (byte 0xff at offset 0)"


def test_missing_file(invoke, tmp_path):
    result = invoke("stem", tmp_path / "missing.txt")
    assert result.exit_code == 2  # a missing path on the command line is a usage error, as click's --train check
    assert result.stderr.strip() == f"Error: {tmp_path / 'missing.txt'}: no such file or directory"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_on_error_skip_counts_and_reports(invoke, tmp_path, jobs):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"text": "One"}\nnot json\n{"body": "x"}\n{"text": "Four"}\n')
    result = invoke("clean", path, "--on-error", "skip", "--jobs", jobs, "--batch-size", "2")
    assert result.exit_code == 0
    assert parse_jsonl(result.stdout) == [{"text": "one"}, {"text": "four"}]
    assert f"clean: skipped 2 bad record(s); first: {path}:2: malformed JSON" in result.stderr


def test_usage_error_is_exit_2(invoke):
    result = invoke("stem", "--algorithm", "nope")
    assert result.exit_code == 2
    assert "Invalid value for '--algorithm'" in result.stderr


def test_missing_nltk_data_says_what_and_how(invoke, monkeypatch, tmp_path):
    import nltk

    monkeypatch.setattr(resources, "nltk_search_path", lambda: [str(tmp_path)])
    monkeypatch.setattr(resources, "_nltk_configured", False)
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    result = invoke("tokenize", input="Hello there.\n")
    assert result.exit_code == 1
    message = result.stderr.strip()
    assert message.startswith("Error: NLTK data 'punkt_tab' not found (searched ")
    assert "nltk.download('punkt_tab')" in message


def nlpkit_subprocess(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "nlpkit", *args], capture_output=True, cwd=REPO, **kwargs)


def test_debug_shows_the_traceback_and_plain_run_does_not(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"body": "b"}])
    plain = nlpkit_subprocess(["tokenize", str(path)])
    debug = nlpkit_subprocess(["--debug", "tokenize", str(path)])
    assert plain.returncode == 1 and b"Traceback" not in plain.stderr
    assert debug.returncode == 1 and b"Traceback (most recent call last)" in debug.stderr
    assert b"InputError" in debug.stderr


def test_closed_pipe_ends_quietly(sample_dir):
    result = subprocess.run(
        f"{sys.executable} -m nlpkit clean {sample_dir / 'train.jsonl.gz'} | head -n 2",
        shell=True, capture_output=True, cwd=REPO, executable="/bin/bash",
    )
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr == b""
    # and nlpkit's own exit status is 0 too
    status = subprocess.run(
        f"set -o pipefail; {sys.executable} -m nlpkit clean {sample_dir / 'train.jsonl.gz'} | head -n 1 >/dev/null",
        shell=True, capture_output=True, cwd=REPO, executable="/bin/bash",
    )
    assert status.returncode == 0, status.stderr


def test_unicode_line_separators_inside_records_survive_the_stream(invoke):
    result = invoke("clean", "--no-whitespace", input=json.dumps({"text": "line\u2028separator \x85 kept"}) + "\n")
    (record,) = parse_jsonl(result.stdout)
    assert record["text"] == "line\u2028separator \x85 kept"


def test_engine_names_only_the_nlp_library(invoke):
    # --engine local|ray, the executor's old spelling, was removed in 0.3: --executor names it
    result = invoke("clean", "--engine", "local", input="Hi There\n")
    assert result.exit_code == 2 and "No such option '--engine'" in result.stderr
    result = invoke("tokenize", "--engine", "stanza", input="x\n")
    assert result.exit_code == 2 and "'stanza' is not one of 'nltk', 'spacy', 'regex', 'wordpiece'." in result.stderr
    assert invoke("tokenize", "--engine", "regex", "--executor", "local", input="a b\n").exit_code == 0

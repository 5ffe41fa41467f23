"""The runner's promises under faults (fault classes 1-4, and the output side of the rest):
-o equal to an input is refused, -o FILE is whole or untouched after a failure, a kill
or Ctrl-C, a dead worker ends the run, Ctrl-C under --jobs is one line, and a full or
closed stdout is one line. Real processes: signals and kills do not happen in CliRunner."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

NLPKIT = str(Path(sys.executable).parent / "nlpkit")
OLD = b'{"text":"the old output"}\n'
LINE = b'{"text":"A <b>long</b> review, with punctuation... and UPPER case words! http://example.com"}\n'


def _big_input(path: Path, records: int = 400_000) -> Path:
    path.write_bytes(LINE * records)
    return path


def _start(args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([NLPKIT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kwargs)


def _start_open_ended(args, records: int = 50_000) -> subprocess.Popen:
    """A run reading stdin that gets `records` lines and no end of input: it cannot finish
    before the test's kill or Ctrl-C, however slow the machine (a file input could, under load)."""
    proc = _start([*args, "-"], stdin=subprocess.PIPE)
    proc.stdin.write(LINE * records)  # returns once the run has read all but a pipe's buffer
    proc.stdin.flush()
    return proc


def _wait_for(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and ".tmp-" in p.name]


@pytest.mark.parametrize("name", ["x.jsonl", "x.jsonl.gz"])
def test_output_equal_to_an_input_is_refused_and_the_input_kept(invoke, tmp_path, name):
    path = tmp_path / name
    data = b'{"text":"Keep ME"}\n'
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    before = path.read_bytes()
    result = invoke("clean", path, "-o", path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: -o {path} is also an input: write to another file (and rename it after)\n"
    assert path.read_bytes() == before


def test_output_inside_an_input_directory_named_twice_is_refused(invoke, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("hello")
    result = invoke("run", "--pipeline", "clean | tokenize --engine regex", tmp_path / "docs", "-o", tmp_path / "docs" / "a.txt")
    assert result.exit_code == 2
    assert "is also an input" in result.stderr


def test_a_bad_record_leaves_the_old_output_whole(invoke, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(OLD)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "also fine"}\n{"text": oops}\n')
    result = invoke("clean", bad, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {bad}:3: malformed JSON")
    assert out.read_bytes() == OLD
    assert _temporaries(tmp_path) == []


def test_a_successful_run_replaces_the_output_and_keeps_gzip(invoke, tmp_path):
    out = tmp_path / "out.jsonl.gz"
    out.write_bytes(gzip.compress(OLD))
    result = invoke("clean", "-o", out, input='{"text": "New <b>TEXT</b>"}\n')
    assert result.exit_code == 0, result.stderr
    assert gzip.decompress(out.read_bytes()) == b'{"text":"new text"}\n'
    assert _temporaries(tmp_path) == []


@pytest.mark.slow
def test_kill_9_mid_run_leaves_the_old_output(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(OLD)
    proc = _start_open_ended(["clean", "-o", str(out)])
    _wait_for(lambda: any(p.stat().st_size > 100_000 for p in _temporaries(tmp_path)))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert out.read_bytes() == OLD


@pytest.mark.slow
def test_ctrl_c_under_jobs_is_one_line_130_and_the_old_output(tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(OLD)
    proc = _start_open_ended(["clean", "-j", "2", "-o", str(out)])
    _wait_for(lambda: any(p.stat().st_size > 100_000 for p in _temporaries(tmp_path)))
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.decode() == "Interrupted.\n"
    assert out.read_bytes() == OLD
    assert _temporaries(tmp_path) == []


@pytest.mark.slow
def test_a_killed_worker_ends_the_run_in_seconds(tmp_path):
    source = _big_input(tmp_path / "in.jsonl", 1_500_000)
    out = tmp_path / "out.jsonl"
    proc = _start(["clean", "-j", "2", str(source), "-o", str(out)])

    def children() -> list[int]:
        try:
            text = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    _wait_for(lambda: len(children()) >= 2 and any(p.stat().st_size > 0 for p in _temporaries(tmp_path)))
    os.kill(children()[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=30)  # before the fix: hung for ever
    assert proc.returncode == 1
    lines = stderr.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: clean: a worker process died") and f"{source}:" in lines[0]
    assert not out.exists()


def test_a_full_stdout_is_one_line(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "x"}\n')
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([NLPKIT, "clean", str(source)], stdout=full, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.decode() == "Error: stdout: No space left on device (after 0 records)\n"


def test_a_device_as_output_is_written_in_place_not_replaced(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "x"}\n')
    proc = subprocess.run([NLPKIT, "clean", str(source), "-o", "/dev/null"], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert Path("/dev/null").is_char_device()


def test_a_closed_stdout_is_one_line(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "x"}\n')
    proc = subprocess.run(["bash", "-c", f"'{NLPKIT}' clean '{source}' >&-"], capture_output=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.decode() == "Error: stdout is closed: give -o FILE, or leave stdout open\n"


def test_an_output_under_a_regular_file_names_the_path(invoke, tmp_path):
    (tmp_path / "file").write_text("x")
    result = invoke("clean", "-o", tmp_path / "file" / "out.jsonl", input='{"text": "x"}\n')
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: -o {tmp_path / 'file' / 'out.jsonl'}: ")
    assert "unexpected" not in result.stderr


def test_max_chars_reaches_every_stage_of_a_pipeline(invoke):
    result = invoke("run", "--pipeline", "clean | tokenize", "--max-chars", "5", "--on-error", "skip",
                    input='{"text": "aaaa bbbb"}\n{"text": "ok"}\n')
    assert result.exit_code == 0, result.stderr
    assert result.stdout == '{"text":"ok","tokens":["ok"]}\n'
    # an explicit --max-chars applies to every stage: the runner refuses the record before clean sees it
    assert result.stderr == ("run: skipped 1 bad record(s); first: stdin:1: text of 9 characters is over "
                             "--max-chars 5 (split the document, or raise --max-chars)\n")


def test_max_chars_0_is_no_limit(invoke):
    result = invoke("tokenize", "--engine", "regex", "--max-chars", "0", "--format", "text", input="a " * 600_000 + "\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("a") == 600_000


@pytest.mark.slow
def test_a_killed_spacy_worker_ends_the_run_in_seconds(tmp_path):
    """tag -j 2 ran spaCy's own n_process pool, which waited for ever on a dead worker."""
    import itertools

    source = tmp_path / "in.jsonl"
    with gzip.open(Path(__file__).resolve().parent.parent / "corpora" / "imdb-sample" / "train.jsonl.gz", "rb") as f:
        reviews = list(itertools.islice(f, 400))
    source.write_bytes(b"".join(reviews) * 10)
    proc = _start(["tag", "-j", "2", str(source), "-o", str(tmp_path / "out.jsonl")])

    def children() -> list[int]:
        try:
            return [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        except OSError:
            return []

    _wait_for(lambda: len(children()) >= 2 and any(p.stat().st_size > 0 for p in _temporaries(tmp_path)), 120)
    os.kill(children()[0], signal.SIGKILL)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert stderr.decode().startswith("Error: tag: a worker process died")

"""The fault suite: hostile inputs, damaged files, full disks, closed pipes, special files.

Each test keeps one class of the issue from coming back: the command ends with one
line that names the file (and line), the documented exit code, nothing lost and no
`unexpected` wording (that is left for real bugs). The runner's own classes (-o equal
to an input, atomic -o, a dead --jobs worker, Ctrl-C under --jobs) are tested with
the runner. Models are trained once per module, small: a tfidf-lr and a tiny bilstm.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlpkit.errors import NlpkitError
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "corpora" / "imdb-sample"
NLPKIT = [sys.executable, "-m", "nlpkit"]



def assert_clean_error(result, exit_code: int, *fragments: str) -> str:
    """One `Error: ...` line on stderr with the given exit code; never `unexpected`, never a traceback."""
    stderr = result.stderr if hasattr(result, "stderr") else result
    assert result.exit_code == exit_code if hasattr(result, "exit_code") else True, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    assert not lines[0].startswith("Error: unexpected") and "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def sample_records(n: int, split: str = "train") -> list[dict]:
    """`n` records of the embedded sample, both labels (every fourth line: the file is sorted by label)."""
    with gzip.open(SAMPLE / f"{split}.jsonl.gz", "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    picked = records[:: max(1, len(records) // n)][:n]
    assert len({r["label"] for r in picked}) == 2
    return picked


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def unseal(model_dir: Path) -> None:
    """Make a sealed directory look like one saved before checksums existed (they still load)."""
    path = model_dir / "nlpkit.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({k: v for k, v in manifest.items() if k not in ("checksums", "manifest_checksum")}))


def edit_manifest(model_dir: Path, **changes) -> None:
    path = model_dir / "nlpkit.json"
    manifest = json.loads(path.read_text())
    manifest.update(changes)
    path.write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return {"train": write_jsonl(root / "train.jsonl", sample_records(120)),
            "test": write_jsonl(root / "test.jsonl", sample_records(16, "test"))}


@pytest.fixture(scope="module")
def models(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("models")
    out = {}
    for kind, extra in (("tfidf-lr", []),
                        ("bilstm", ["--epochs", "1", "--dim", "8", "--hidden", "8", "--max-len", "24", "--seed", "1"])):
        result = run_cli("train", "--model", kind, "--train", data["train"], "-o", root / kind, *extra)
        assert result.exit_code == 0, result.stderr
        out[kind] = root / kind
    return out


def copy_model(source: Path, dest: Path) -> Path:
    return Path(shutil.copytree(source, dest))


# --------------------------------------------------------------------------- 5: a closed pipe


@pytest.mark.parametrize("args", [["inspect", "--model", "MODEL"], ["doctor"], ["corpora", "list"]])
def test_tables_on_a_closed_pipe_exit_0(args, models, tmp_path):
    # the reading end is closed before the command starts: every write meets EPIPE, as `| head` would
    read_end, write_end = os.pipe()
    os.close(read_end)
    argv = [str(models["tfidf-lr"]) if a == "MODEL" else a for a in args]
    try:
        proc = subprocess.run([*NLPKIT, *argv], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
                              env={**os.environ, "NLPKIT_HOME": str(tmp_path), "COLUMNS": "120"})
    finally:
        os.close(write_end)
    # doctor exits 1 when a resource is missing; a closed pipe must not be what decides it
    assert proc.returncode in ((0, 1) if args == ["doctor"] else (0,)), proc.stderr
    assert proc.stderr == "" or "missing" not in proc.stderr and "Error" not in proc.stderr


# --------------------------------------------------------------------------- 6, 7, 8: damaged gzip, BOM


def readable_lines(gz_bytes: bytes) -> int:
    """How many whole lines a cut gzip holds, by zlib directly."""
    text = zlib.decompressobj(31).decompress(gz_bytes)
    return text.count(b"\n")


def test_a_truncated_gzip_keeps_the_records_before_the_break(tmp_path):
    cut = (SAMPLE / "train.jsonl.gz").read_bytes()[:20000]
    path = tmp_path / "t.jsonl.gz"
    path.write_bytes(cut)
    whole = readable_lines(cut)
    assert whole > 10
    result = run_cli("clean", path)
    assert len(result.stdout.splitlines()) == whole
    assert_clean_error(result, 1, f"{path}:{whole + 1}: the gzip data ends early")
    skipped = run_cli("clean", path, "--on-error", "skip")
    assert skipped.exit_code == 0 and len(skipped.stdout.splitlines()) == whole
    assert f"skipped 1 bad record(s); first: {path}:{whole + 1}: the gzip data ends early" in skipped.stderr


def test_a_truncated_gzip_on_stdin(tmp_path):
    # a real pipe: gzip on stdin is sniffed with peek(), which click's test runner's stdin lacks
    cut = (SAMPLE / "train.jsonl.gz").read_bytes()[:20000]
    proc = subprocess.run([*NLPKIT, "clean"], input=cut, capture_output=True, timeout=60)
    whole = readable_lines(cut)
    assert len(proc.stdout.splitlines()) == whole
    assert proc.returncode == 1
    assert proc.stderr.decode() == f"Error: stdin:{whole + 1}: the gzip data ends early (a truncated file); " \
                                   "the lines before this one were read\n"


def test_a_damaged_gzip_names_the_file_and_is_skippable(tmp_path):
    damaged = bytearray((SAMPLE / "train.jsonl.gz").read_bytes())
    for i in range(5000, 5100):  # good magic and header, bad deflate data (zlib: "invalid distance too far back")
        damaged[i] ^= 0x55
    path = tmp_path / "bad.jsonl.gz"
    path.write_bytes(bytes(damaged))
    good = write_jsonl(tmp_path / "good.jsonl", [{"text": "after the damaged file"}])
    result = run_cli("tokenize", path, good)
    assert_clean_error(result, 1, f"{path}:", "damaged gzip data")
    skipped = run_cli("tokenize", path, good, "--on-error", "skip")
    assert skipped.exit_code == 0
    assert json.loads(skipped.stdout.splitlines()[-1])["text"] == "after the damaged file"  # the next input is read
    assert "damaged gzip data" in skipped.stderr


def test_jsonl_with_a_bom_on_stdin_and_as_a_file(tmp_path):
    data = b'\xef\xbb\xbf{"text": "Hello there"}\n{"text": "again"}\n'
    from_stdin = run_cli("clean", input=data)
    path = tmp_path / "bom.jsonl"
    path.write_bytes(data)
    from_file = run_cli("clean", path)
    for result in (from_stdin, from_file):
        assert result.exit_code == 0, result.stderr
        assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == ["hello there", "again"]


def test_an_input_directory_with_a_fifo_and_a_symlink_cycle(tmp_path):
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("Hello there")
    (root / "sub" / "up").symlink_to("..")  # a cycle: walked once
    os.mkfifo(root / "pipe.txt")  # nobody writes to it: reading it would block for ever
    proc = subprocess.run([*NLPKIT, "clean", str(root)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["id"] for line in proc.stdout.splitlines()] == [str(root / "sub" / "a.txt")]


# --------------------------------------------------------------------------- 9, 10, 11: damaged models


def predict(model_dir: Path, data) -> object:
    return run_cli("predict", "--model", model_dir, data["test"])


@pytest.mark.parametrize("damage, expected", [
    (lambda m: (m / "linear.npz").write_bytes((m / "linear.npz").read_bytes()[:100]), "linear.npz: damaged: its sha256"),
    (lambda m: (m / "linear.npz").write_bytes(b""), "linear.npz: damaged: its sha256"),
    (lambda m: (m / "idf.npz").unlink(), "damaged model directory (idf.npz is missing)"),
    (lambda m: edit_manifest(m, params=None), "nlpkit.json: damaged manifest (params is null, not an object)"),
    (lambda m: edit_manifest(m, format_version="1"), "format_version is '1', not a positive whole number"),
    (lambda m: edit_manifest(m, labels=None), "nlpkit.json: damaged manifest (labels is null, not a list)"),
    (lambda m: edit_manifest(m, labels=["pos", "pos"]), "nlpkit.json: damaged or edited manifest"),
    (lambda m: (m / "vectorizer.json").write_text("{"), "vectorizer.json: damaged: its sha256"),
])
def test_a_damaged_sealed_model_is_one_line(models, data, tmp_path, damage, expected):
    model_dir = copy_model(models["tfidf-lr"], tmp_path / "m")
    damage(model_dir)
    for result in (predict(model_dir, data), run_cli("evaluate", "--model", model_dir, "--test", data["test"]),
                   run_cli("inspect", "--model", model_dir)):
        assert_clean_error(result, 1, expected)


@pytest.mark.parametrize("damage, expected", [
    (lambda m: (m / "linear.npz").write_bytes((m / "linear.npz").read_bytes()[:100]),
     "linear.npz: damaged .npz file (BadZipFile"),
    (lambda m: (m / "linear.npz").write_bytes(b""), "linear.npz: damaged .npz file"),
    (lambda m: (m / "idf.npz").unlink(), "idf.npz: missing"),
    (lambda m: (m / "vectorizer.json").write_text("{"), "vectorizer.json: damaged JSON file"),
    (lambda m: (m / "vectorizer.json").write_text('{"params": {"bogus": 1}, "vocabulary": []}'),
     "vectorizer.json: damaged vectorizer (TypeError"),
    (lambda m: edit_manifest(m, labels=["pos", 3]), "labels must be two or more different strings"),
    (lambda m: edit_manifest(m, params=[]), "params is a list, not an object"),
])
def test_a_damaged_model_saved_before_checksums_is_one_line(models, data, tmp_path, damage, expected):
    model_dir = copy_model(models["tfidf-lr"], tmp_path / "m")
    unseal(model_dir)
    assert predict(model_dir, data).exit_code == 0  # an old model without checksums still loads
    damage(model_dir)
    assert_clean_error(predict(model_dir, data), 1, expected)


@pytest.mark.parametrize("damage, expected", [
    (lambda m: (m / "weights.safetensors").write_bytes((m / "weights.safetensors").read_bytes()[:1000]),
     "weights.safetensors: damaged .safetensors file"),
    # a pickle in place of the weights is never unpickled: safetensors reads a header, finds none
    (lambda m: (m / "weights.safetensors").write_bytes(b"\x80\x04\x95" + b"cos\nsystem\n(S'echo pwned'\ntR." * 4),
     "weights.safetensors: damaged .safetensors file"),
    (lambda m: (m / "vocab.json").unlink(), "damaged model directory (vocab.json is missing)"),
    (lambda m: (m / "rnn.json").write_text("[]"), "damaged model directory"),
])
def test_damaged_neural_weights_are_one_line(models, data, tmp_path, damage, expected):
    sealed = copy_model(models["bilstm"], tmp_path / "sealed")
    damage(sealed)
    assert_clean_error(predict(sealed, data), 1, str(sealed))
    old = copy_model(models["bilstm"], tmp_path / "old")
    unseal(old)
    damage(old)
    assert_clean_error(predict(old, data), 1, expected)


def test_neural_weights_get_the_umask_mode(models):
    mask = os.umask(0)
    os.umask(mask)
    for path in [models["bilstm"] / "weights.safetensors", *models["bilstm"].rglob("*.safetensors")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask, path


def test_a_bert_directory_without_its_tokenizer_is_refused(tmp_path):
    # checked before transformers is asked for anything: it would fall back to a default tokenizer
    model_dir = tmp_path / "bert"
    (model_dir / "transformer").mkdir(parents=True)
    (model_dir / "transformer" / "config.json").write_text("{}")
    (model_dir / "transformer" / "model.safetensors").write_bytes(b"")
    (model_dir / "nlpkit.json").write_text(json.dumps({"format_version": 1, "kind": "bert", "params": {},
                                                       "labels": ["neg", "pos"]}))
    result = run_cli("predict", "--model", model_dir, input='{"text": "good"}\n')
    assert_clean_error(result, 1, f"{model_dir}: damaged model directory (transformer/tokenizer.json is missing)")


def test_a_corrupt_trainer_state_stops_resume_with_one_line(models, data, tmp_path):
    run_dir = copy_model(models["bilstm"], tmp_path / "run")
    state = run_dir / "model-last" / "trainer" / "state.json"
    state.write_text('{"broken')
    args = ["train", "--model", "bilstm", "--train", data["train"], "-o", run_dir, "--epochs", "2", "--dim", "8",
            "--hidden", "8", "--max-len", "24", "--seed", "1", "--resume", "latest"]
    assert_clean_error(run_cli(*args), 1, f"{state}: damaged: its sha256 does not match")
    unseal(run_dir / "model-last")  # a checkpoint written before checksums
    assert_clean_error(run_cli(*args), 1, f"{state}: damaged JSON file")


# --------------------------------------------------------------------------- fastText (9, 10, 14)


@pytest.fixture(scope="module")
def fasttext_model(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("ft")
    records = [*json.loads("[" + ",".join(data["train"].read_text().splitlines()) + "]"),
               {"text": "a __label__x token and __label__ alone", "label": "pos"}]
    train = write_jsonl(root / "train.jsonl", records)
    result = run_cli("train", "--model", "fasttext", "--train", train, "--epochs", "2", "-o", root / "ft")
    assert result.exit_code == 0, result.stderr  # 14: a __label__ word in a text is a word, not a label
    return root / "ft"


def test_fasttext_reads_label_words_in_text_as_words(fasttext_model):
    from nlpkit.models.fasttext_model import fasttext_line

    assert fasttext_line({"text": "a __label__x b"}) == "a ___label__x b"
    result = run_cli("predict", "--model", fasttext_model, input='{"text": "__label__x is __label__0"}\n')
    assert result.exit_code == 0 and json.loads(result.stdout)["pred"] in ("neg", "pos")


@pytest.mark.parametrize("size, expected", [
    (lambda n: n // 2, "the file ends early: it is cut"),  # loaded, then scored NaN
    (lambda n: 3000, "impossible dictionary sizes"),  # fastText looped for minutes over a garbage word count
    (lambda n: n - 1, "the file ends early: it is cut"),
    (lambda n: 0, "the file is empty"),
])
def test_a_cut_fasttext_bin_is_an_error_not_nan_nor_a_hang(fasttext_model, data, tmp_path, size, expected):
    from nlpkit.models.fasttext_model import fasttext_bin_problem

    assert fasttext_bin_problem(fasttext_model / "model.bin") is None  # a whole file adds up exactly
    model_dir = copy_model(fasttext_model, tmp_path / "ft")
    unseal(model_dir)  # the checksum would catch it first; this is the check of an old model's .bin
    binary = model_dir / "model.bin"
    binary.write_bytes(binary.read_bytes()[: size(binary.stat().st_size)])
    for result in (predict(model_dir, data), run_cli("evaluate", "--model", model_dir, "--test", data["test"])):
        assert_clean_error(result, 1, f"{binary}: damaged fastText model ({expected}")


# --------------------------------------------------------------------------- vectors (9, 18)


@pytest.fixture(scope="module")
def vectors_dir(tmp_path_factory, data):
    out = tmp_path_factory.mktemp("vec") / "v"
    result = run_cli("embed", "train", "--algo", "word2vec", "--dim", "8", "--epochs", "1", data["train"], "-o", out)
    assert result.exit_code == 0, result.stderr
    return out


def test_a_vectors_manifest_cannot_point_outside_its_directory(vectors_dir, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("3 1\nSECRET-LINE 1.0\n")
    crafted = copy_model(vectors_dir, tmp_path / "v")
    unseal(crafted)
    edit_manifest(crafted, file="../secret.txt")
    result = run_cli("embed", "similar", "--vectors", crafted, "good")
    assert_clean_error(result, 1, f"{crafted / 'nlpkit.json'}: names the file '../secret.txt', outside its directory")
    assert "SECRET" not in result.stderr
    # a symlink inside the directory that leads out is refused the same way
    (crafted / "link.txt").symlink_to(secret)
    edit_manifest(crafted, file="link.txt")
    assert_clean_error(run_cli("embed", "similar", "--vectors", crafted, "good"), 1, "which leads outside its directory")


def test_sealed_vectors_refuse_an_edited_manifest(vectors_dir, tmp_path):
    crafted = copy_model(vectors_dir, tmp_path / "v")
    edit_manifest(crafted, file="../../../../../etc/passwd")
    result = run_cli("embed", "similar", "--vectors", crafted, "good")
    assert_clean_error(result, 1, "damaged or edited manifest")


def test_an_absurd_word2vec_header_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text("100000000 100000000\nword 0.1 0.2\n")
    result = run_cli("embed", "similar", "--vectors", path, "word")
    assert_clean_error(result, 1, f"{path}: damaged word2vec header (100,000,000 words x 100,000,000 dimensions")


# --------------------------------------------------------------------------- 12, 13: long texts, bad pos


def test_a_text_over_max_chars_is_a_skippable_record_error(tmp_path):
    from nlpkit.limits import DEFAULT_MAX_CHARS

    path = write_jsonl(tmp_path / "long.jsonl", [{"text": "word " * (DEFAULT_MAX_CHARS // 5 + 1)}, {"text": "Short one."}])
    result = run_cli("tokenize", path)
    assert_clean_error(result, 1, f"{path}:1: text of 1,000,005 characters is over --max-chars 1,000,000")
    skipped = run_cli("tokenize", path, "--on-error", "skip")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["tokens"] == ["Short", "one", "."]


def test_the_spacy_and_nltk_tag_stages_check_the_limit_before_the_library():
    from nlpkit.errors import RecordError
    from nlpkit.linguistic.annotate.runner import SpacyStage
    from nlpkit.linguistic.tag import NltkTagStage

    spacy_stage = SpacyStage(layers=("pos",))
    spacy_stage.max_chars = 10  # what the shared --max-chars option sets
    with pytest.raises(RecordError, match="text of 11 characters is over --max-chars 10"):
        spacy_stage._doc_input({"text": "x" * 11})  # before any spaCy model is loaded
    nltk_stage = NltkTagStage()
    nltk_stage.max_chars = 10
    nltk_stage._tokenizer = None  # setup would load NLTK: the check comes first
    with pytest.raises(RecordError, match="over --max-chars 10"):
        nltk_stage.process([{"text": "x" * 11}])


def test_lemmatize_with_non_string_pos_keeps_the_good_record_before_it():
    stdin = '{"tokens": ["dogs"], "pos": ["NNS"]}\n{"tokens": ["cats"], "pos": [1]}\n'
    result = run_cli("lemmatize", input=stdin)
    assert json.loads(result.stdout)["tokens"] == ["dog"]
    assert_clean_error(result, 1, "stdin:2: field 'pos' must be a list of strings (it holds 1)")


# --------------------------------------------------------------------------- 15: output-side OS errors


def test_a_directory_output_never_replaces_a_file_or_device(data, tmp_path):
    for target in ("/dev/full", tmp_path / "afile"):
        if str(target) == "/dev/full" and not os.path.exists("/dev/full"):
            continue
        if target != "/dev/full":
            Path(target).write_text("keep me")
        for args in (["vectorize", "tfidf", data["train"], "-o", target],
                     ["embed", "train", "--algo", "word2vec", "--dim", "4", "--epochs", "1", data["train"], "-o", target]):
            result = run_cli(*args)
            assert result.exit_code in (1, 2)
            assert "unexpected" not in result.stderr and len(result.stderr.strip().splitlines()) <= 4
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) if os.path.exists("/dev/full") else True
    assert (tmp_path / "afile").read_text() == "keep me"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_for_tables_and_json(models, data):
    for args in (["inspect", "--model", models["tfidf-lr"]], ["corpora", "list", "--json"]):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([*NLPKIT, *map(str, args)], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        assert proc.returncode == 1
        assert proc.stderr.strip().splitlines()[-1] == "Error: cannot write the output: No space left on device"
        assert "Traceback" not in proc.stderr and "unexpected" not in proc.stderr


def test_an_output_under_a_regular_file_names_it(data, tmp_path):
    (tmp_path / "afile").write_text("x")
    for args in (["train", "--model", "tfidf-lr", "--train", data["train"], "-o", tmp_path / "afile" / "m"],
                 ["embed", "train", "--algo", "word2vec", "--dim", "4", "--epochs", "1", data["train"], "-o",
                  tmp_path / "afile" / "v"]):
        assert_clean_error(run_cli(*args), 1, f"{tmp_path / 'afile'}: a file is in the way of a directory")


def test_a_full_disk_while_saving_names_the_file_and_keeps_the_old_model(models, data, tmp_path, monkeypatch):
    import nlpkit.files

    model_dir = copy_model(models["tfidf-lr"], tmp_path / "m")
    before = {p.name: p.read_bytes() for p in model_dir.iterdir()}
    real_mkstemp, real_fdopen = nlpkit.files.tempfile.mkstemp, os.fdopen
    doomed: set[int] = set()

    def mkstemp(*args, prefix="", **kwargs):  # remember the temporary of linear.npz
        fd, name = real_mkstemp(*args, prefix=prefix, **kwargs)
        if prefix.startswith(".linear.npz."):
            doomed.add(fd)
        return fd, name

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data_bytes):
            raise OSError(errno.ENOSPC, "No space left on device")  # as write(2) says it: no file named

    monkeypatch.setattr(nlpkit.files.tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(nlpkit.files.os, "fdopen", lambda fd, *a, **k: FullDisk(real_fdopen(fd, *a, **k))
                        if fd in doomed else real_fdopen(fd, *a, **k))
    result = run_cli("train", "--model", "tfidf-lr", "--train", data["train"], "-o", model_dir)
    assert_clean_error(result, 1, f"{model_dir / 'linear.npz'}: No space left on device")
    assert {p.name: p.read_bytes() for p in model_dir.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".m.")]  # no temporary left behind


def test_a_read_only_place_names_the_output(data, tmp_path, monkeypatch):
    """Simulated (root writes anywhere): mkdtemp/mkstemp refused in one directory, as chmod 555 would."""
    import tempfile

    locked = tmp_path / "locked"
    locked.mkdir()
    real_mkdtemp, real_mkstemp = tempfile.mkdtemp, tempfile.mkstemp

    def refuse(real):
        def inner(*args, dir=None, **kwargs):
            if dir is not None and Path(dir) == locked:
                raise PermissionError(errno.EACCES, "Permission denied", str(Path(dir) / ".x.tmp-1-abc"))
            return real(*args, dir=dir, **kwargs)
        return inner

    monkeypatch.setattr(tempfile, "mkdtemp", refuse(real_mkdtemp))
    monkeypatch.setattr(tempfile, "mkstemp", refuse(real_mkstemp))
    for args, name in ((["train", "--model", "tfidf-lr", "--train", data["train"], "-o"], "m"),
                       (["embed", "train", "--algo", "word2vec", "--dim", "4", "--epochs", "1", data["train"], "-o"], "v"),
                       (["vectorize", "tfidf", data["train"], "-o"], "vz")):
        result = run_cli(*args, locked / name)
        assert_clean_error(result, 1, f"{locked / name}: cannot create it in {locked} (Permission denied)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_really_read_only_directory(data, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = run_cli("train", "--model", "tfidf-lr", "--train", data["train"], "-o", locked / "m")
        assert_clean_error(result, 1, f"{locked / 'm'}: cannot create it in {locked} (Permission denied)")
    finally:
        locked.chmod(0o755)


# --------------------------------------------------------------------------- 17, 19: corpora import


def make_aclimdb(root: Path) -> Path:
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i in (1, 2):
                (folder / f"{i}_7.txt").write_text(f"review {split} {label} {i}")
    return root


def test_import_skips_fifos_directories_and_symlinks(tmp_path):
    source = make_aclimdb(tmp_path / "src")
    os.mkfifo(source / "aclImdb" / "train" / "pos" / "9_7.txt")  # would block a plain open()
    (source / "aclImdb" / "train" / "neg" / "8_3.txt").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not a review")
    (source / "aclImdb" / "test" / "pos" / "7_9.txt").symlink_to(secret)
    home = tmp_path / "home"
    proc = subprocess.run([*NLPKIT, "corpora", "import", "imdb", str(source)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "NLPKIT_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr
    corpus = home / "corpora" / "imdb"
    texts = {json.loads(line)["text"] for split in ("train", "test")
             for line in gzip.open(corpus / f"{split}.jsonl.gz", "rt")}
    assert texts == {f"review {s} {label} {i}" for s in ("train", "test") for label in ("pos", "neg") for i in (1, 2)}


def test_import_of_garbage_and_of_a_null_test_label(tmp_path):
    env = {"NLPKIT_HOME": str(tmp_path / "home")}
    garbage = tmp_path / "aclImdb_v1.tar.gz"
    garbage.write_bytes(b"<html>moved</html>\n")
    assert_clean_error(run_cli("corpora", "import", "imdb", garbage, env=env), 1, f"{garbage}: not a (gzip) tar archive")
    jsonl = tmp_path / "jsonl"
    jsonl.mkdir()
    write_jsonl(jsonl / "train.jsonl", [{"text": "a", "label": "pos"}, {"text": "b", "label": "neg"}])
    write_jsonl(jsonl / "test.jsonl", [{"text": "c", "label": "pos"}, {"text": "d", "label": None}])
    result = run_cli("corpora", "import", "imdb", jsonl, env=env)
    assert_clean_error(result, 1, f"{jsonl / 'test.jsonl'}:2: label is null in the test split")
    assert not (tmp_path / "home" / "corpora" / "imdb").exists()


def test_a_fetched_archive_that_does_not_convert_is_not_kept(tmp_path, monkeypatch):
    from nlpkit import corpora

    def fake_download(url, dest, **kwargs):
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes(b"<html>an error page</html>\n")
        return Path(dest)

    monkeypatch.setattr(corpora, "download", fake_download)
    result = run_cli("corpora", "fetch", "imdb", env={"NLPKIT_HOME": str(tmp_path)})
    assert_clean_error(result, 1, "not a (gzip) tar archive")
    assert list((tmp_path / "downloads").iterdir()) == []


# --------------------------------------------------------------------------- 19: the smaller ones


def test_empty_inputs_name_their_file(models, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    cases = [
        (["evaluate", "--model", models["tfidf-lr"], "--test", empty], f"{empty}: the test data holds no records"),
        (["vectorize", "tfidf", empty, "-o", tmp_path / "vz"], f"{empty}: no records to vectorize"),
        (["embed", "train", "--algo", "word2vec", empty, "-o", tmp_path / "v"], f"{empty}: the training corpus is empty"),
        (["train", "--model", "tfidf-lr", "--train", empty, "-o", tmp_path / "m"], f"{empty}: no records"),
    ]
    for args, expected in cases:
        assert_clean_error(run_cli(*args), 1, expected)


def test_an_empty_bench_split_names_its_file(tmp_path):
    data_dir = tmp_path / "corpus"
    data_dir.mkdir()
    (data_dir / "train.jsonl").write_text("")
    (data_dir / "test.jsonl").write_text("")
    result = run_cli("bench", "imdb", "--data", data_dir, "--methods", "bow-nb", "--out", tmp_path / "out")
    assert_clean_error(result, 1, f"{data_dir / 'train.jsonl'}: no labelled records in the train split")


def test_a_damaged_bench_data_json_is_prepared_again(tmp_path):
    out = tmp_path / "out"
    args = ["bench", "imdb", "--data", SAMPLE, "--methods", "bow-nb", "--limit", "40", "--seed", "3", "--out", out]
    assert run_cli(*args).exit_code == 0
    (out / "data" / "data.json").write_text('{"key": ')
    (out / "methods" / "bow-nb.json").write_bytes(b"\x00\xff")
    result = run_cli(*args, "--force")  # the cached files are read with --force too (data.json always is)
    assert result.exit_code == 0, result.stderr
    assert json.loads((out / "data" / "data.json").read_text())["counts"]["train"] > 0
    assert json.loads((out / "methods" / "bow-nb.json").read_text())["status"] == "done"


def test_what_a_killed_run_left_is_removed_by_the_next(data, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [tmp_path / f".m.tmp-{dead.pid}-abc", tmp_path / f".m.old-{dead.pid}-1"]
    for path in stale:
        path.mkdir()
        (path / "weights").write_bytes(b"x" * 1000)
    alive = tmp_path / f".m.tmp-{os.getppid()}-live"  # a running process's temporary stays
    alive.mkdir()
    assert run_cli("train", "--model", "tfidf-lr", "--train", data["train"], "-o", tmp_path / "m").exit_code == 0
    assert not any(p.exists() for p in stale) and alive.exists()


def test_a_missing_input_is_exit_2_everywhere(tmp_path):
    missing = tmp_path / "missing.jsonl"
    assert_clean_error(run_cli("clean", missing), 2, f"{missing}: no such file or directory")
    result = run_cli("train", "--model", "tfidf-lr", "--train", missing, "-o", tmp_path / "m")
    assert result.exit_code == 2 and "does not exist" in result.stderr


# --------------------------------------------------------------------------- the hypothesis test


def corrupt(path: Path, offset: int, value: int, truncate: bool) -> None:
    raw = bytearray(path.read_bytes())
    if not raw:
        path.write_bytes(bytes([value]))
    elif truncate:
        path.write_bytes(bytes(raw[: offset % len(raw)]))
    else:
        raw[offset % len(raw)] = value
        path.write_bytes(bytes(raw))


@pytest.mark.parametrize("kind", ["tfidf-lr", "bilstm"])
def test_any_byte_corruption_gives_the_same_predictions_or_one_clean_error(kind, models, data, tmp_path_factory):
    from nlpkit.models.base import load_model

    records = [json.loads(line) for line in data["test"].read_text().splitlines()]
    baseline = load_model(models[kind]).predict_proba(records)
    files = sorted(p.relative_to(models[kind]) for p in models[kind].rglob("*") if p.is_file())
    scratch = tmp_path_factory.mktemp(f"corrupt-{kind}")
    counter = iter(range(10**6))

    @settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(file=st.sampled_from(files), offset=st.integers(0, 2**31), value=st.integers(0, 255), truncate=st.booleans())
    def check(file, offset, value, truncate):
        model_dir = copy_model(models[kind], scratch / str(next(counter)))  # a fresh path: nothing cached
        corrupt(model_dir / file, offset, value, truncate)
        try:
            probs = load_model(model_dir).predict_proba(records)
        except NlpkitError as e:
            message = str(e)
            assert "\n" not in message and message
        else:
            assert np.isfinite(probs).all()
            assert np.array_equal(probs, baseline), f"{file} corrupted, the predictions changed"
        finally:
            shutil.rmtree(model_dir, ignore_errors=True)

    check()

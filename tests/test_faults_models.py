"""The fault suite for models, exports and the last bad-input gaps: crafted files, real commands.

Each test keeps one class of failure from coming back: a cut, swapped or edited ONNX
export, language models asked for what they cannot do or loaded from damaged
directories, evaluate-ner on files that do not align, bench corpus labels, missing
paths and checkpoints, NLTK's regex time limit, and one huge record. The command ends
with one `Error:` line naming the file (and line), the documented exit code, and
nothing wrong written. Models are tiny and trained once per module.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import pickle
import random
import shutil
from pathlib import Path

import pytest

from tests.conftest import parse_jsonl, write_jsonl
from tests.test_faults import assert_clean_error, unseal

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from tests.test_lm import CORPUS, TINY_LSTM  # noqa: E402
from tests.test_neural import LABELS, RECORDS  # noqa: E402

RNN = dict(dim=8, hidden=8, min_count=1, epochs=5, lr=0.05, batch_size=4, dropout=0.0, threads=1, padding="pre")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two tiny bilstms (other seeds, other weights), each with model.onnx and model.int8.onnx."""
    from nlpkit.models import model_class, save_model
    from nlpkit.models.inference import export_onnx

    root = tmp_path_factory.mktemp("onnx")
    dirs = {}
    for name, seed in (("a", 3), ("b", 4)):
        model = model_class("bilstm")(**RNN, seed=seed).fit(RECORDS, LABELS)
        dirs[name] = save_model(model, root / name, libraries=model.libraries)
        export_onnx(dirs[name], quantize="int8")
    return dirs


@pytest.fixture
def records(tmp_path):
    return write_jsonl(tmp_path / "x.jsonl", [{"text": "a good film"}, {"text": "an awful film"}])


# --------------------------------------------------------------------------- sealed ONNX exports


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_json_seals_both_graphs_and_itself(exported):
    where = exported["a"] / "onnx"
    info = json.loads((where / "export.json").read_text())
    assert info["checksums"] == {name: sha256(where / name) for name in ("model.int8.onnx", "model.onnx")}
    assert info["manifest_checksum"].startswith("sha256:")


def _rewrite_export(where: Path, change) -> None:
    info = json.loads((where / "export.json").read_text())
    change(info)
    (where / "export.json").write_text(json.dumps(info))


ONNX_DAMAGE = {
    "cut graph": (None, lambda d, other: (d / "model.onnx").write_bytes((d / "model.onnx").read_bytes()[:100]),
                  "model.onnx: damaged: its sha256 does not match the manifest"),
    "random graph": (None, lambda d, other: (d / "model.onnx").write_bytes(random.Random(0).randbytes(3000)),
                     "model.onnx: damaged: its sha256 does not match the manifest"),
    "pickled graph": (None, lambda d, other: (d / "model.onnx").write_bytes(pickle.dumps({"weights": [1, 2]})),
                      "model.onnx: damaged: its sha256 does not match the manifest"),
    "another model's graph": (None, lambda d, other: shutil.copy(other / "model.onnx", d / "model.onnx"),
                              "model.onnx: damaged: its sha256 does not match the manifest"),
    "fp32 graph as the int8 one": ("int8", lambda d, other: shutil.copy(d / "model.onnx", d / "model.int8.onnx"),
                                   "model.int8.onnx: damaged: its sha256 does not match the manifest"),
    "cut export.json": (None, lambda d, other: (d / "export.json").write_text('{"kind": "bil'),
                        "export.json: damaged JSON file (JSONDecodeError"),
    "edited export.json": (None, lambda d, other: _rewrite_export(d, lambda i: i.update(opset=19)),
                           "export.json: damaged or edited manifest (its checksum does not match its content)"),
    "export.json without checksums": (None, lambda d, other: _rewrite_export(
        d, lambda i: [i.pop("checksums"), i.pop("manifest_checksum")]),
        "export.json: damaged or unsealed export manifest (no checksums); run `nlpkit export"),
    "export.json not an object": (None, lambda d, other: (d / "export.json").write_text("[1]"),
                                  "export.json: damaged or unsealed export manifest"),
}


@pytest.mark.parametrize("case", list(ONNX_DAMAGE))
def test_a_damaged_onnx_export_is_one_line_naming_the_file(case, exported, records, tmp_path, invoke):
    quantize, damage, expected = ONNX_DAMAGE[case]
    model = Path(shutil.copytree(exported["a"], tmp_path / "m"))
    damage(model / "onnx", exported["b"] / "onnx")
    args = ["--quantize", quantize] if quantize else []
    result = invoke("predict", "--model", model, "--runtime", "onnx", *args, records)
    line = assert_clean_error(result, 1, f"{model / 'onnx'}/", expected)
    assert "InvalidProtobuf" not in line and result.stdout == ""


def test_an_intact_export_still_predicts(exported, records, invoke):
    for args in ([], ["--quantize", "int8"]):
        result = invoke("predict", "--model", exported["a"], "--runtime", "onnx", *args, records)
        assert result.exit_code == 0, result.stderr
        assert [r["pred"] for r in parse_jsonl(result.stdout)] == ["pos", "neg"]


def test_a_graph_onnxruntime_refuses_is_a_damaged_file_not_a_crash(tmp_path):
    from nlpkit.errors import DamagedFile
    from nlpkit.models.inference import OnnxModule

    garbage = tmp_path / "model.onnx"
    garbage.write_bytes(b"\x08\x07not a graph at all")
    with pytest.raises(DamagedFile, match=r"model\.onnx: damaged ONNX graph \("):
        OnnxModule(garbage, returns_output_object=False)


# --------------------------------------------------------------------------- language models


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    from nlpkit.lm.model import LanguageModel

    return LanguageModel(**{**TINY_LSTM, "epochs": 2}).fit(CORPUS).save(tmp_path_factory.mktemp("lm") / "lm")


LM_TRAIN = ["--dim", "8", "--hidden", "8", "--layers", "1", "--context", "4", "--epochs", "1", "--valid-fraction", "0",
            "--min-count", "1", "--threads", "1", "--device", "cpu"]


@pytest.fixture
def corpus(tmp_path):
    return write_jsonl(tmp_path / "corpus.jsonl", CORPUS)


@pytest.mark.parametrize("temperature", ["inf", "nan", "1e308", "1e-300", "-1", "100.5", "0.009"])
def test_a_temperature_outside_the_range_is_a_usage_error(temperature, lm_dir, invoke):
    result = invoke("lm", "generate", "--model", lm_dir, "--prompt", "one", "--strategy", "sample",
                    "--temperature", temperature)
    assert result.exit_code == 2 and result.stdout == ""
    assert "temperature must be 0 (greedy) or between 0.01 and 100, not" in result.stderr
    assert "unexpected" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("temperature", ["0", "0.01", "100"])
def test_the_ends_of_the_temperature_range_generate(temperature, lm_dir, invoke):
    result = invoke("lm", "generate", "--model", lm_dir, "--prompt", "one", "--strategy", "sample",
                    "--temperature", temperature, "--max-new-tokens", "3")
    assert result.exit_code == 0, result.stderr
    assert parse_jsonl(result.stdout)[0]["prompt"] == "one"


def test_the_library_refuses_the_same_temperatures():
    from nlpkit.lm.decoding import Decoding
    from nlpkit.lm.model import LMUsageError

    for temperature in (float("inf"), float("nan"), 1e308, 1e-300):
        with pytest.raises(LMUsageError, match="temperature must be 0"):
            Decoding("sample", temperature=temperature).check()


def test_cutoffs_beyond_the_vocabulary_are_a_usage_error(corpus, tmp_path, invoke):
    result = invoke("lm", "train", *LM_TRAIN, "--adaptive-softmax", "--cutoffs", "100000", "--vocab-size", "100",
                    "-o", tmp_path / "m", corpus)
    assert_clean_error(result, 2, "--cutoffs 100000 do not fit a vocabulary of 100 tokens: every cut-off must be below 99")
    # the vocabulary the data gives (11 tokens) is checked too, not only --vocab-size
    result = invoke("lm", "train", *LM_TRAIN, "--adaptive-softmax", "--cutoffs", "50", "-o", tmp_path / "m", corpus)
    assert_clean_error(result, 2, "--cutoffs 50 do not fit a vocabulary of 11 tokens")
    assert not (tmp_path / "m").exists()


def test_tie_weights_with_the_adaptive_softmax_is_refused_and_lm_json_tells_the_truth(corpus, tmp_path, invoke):
    result = invoke("lm", "train", *LM_TRAIN, "--adaptive-softmax", "--tie-weights", "-o", tmp_path / "m", corpus)
    assert_clean_error(result, 2, "--tie-weights does not fit --adaptive-softmax")
    result = invoke("lm", "train", *LM_TRAIN, "--adaptive-softmax", "--cutoffs", "4", "-o", tmp_path / "a", corpus)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "a" / "lm.json").read_text())["tie_weights"] is False
    result = invoke("lm", "train", *LM_TRAIN, "-o", tmp_path / "t", corpus)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "t" / "lm.json").read_text())["tie_weights"] is True


def test_resume_with_another_architecture_is_refused(corpus, tmp_path, invoke):
    run = tmp_path / "run"
    assert invoke("lm", "train", *LM_TRAIN, "-o", run, corpus).exit_code == 0
    before = (run / "weights.safetensors").read_bytes()
    result = invoke("lm", "train", *LM_TRAIN, "--dim", "16", "--epochs", "2", "--resume", "-o", run, corpus)
    assert_clean_error(result, 2, f"{run / 'model-last'}: cannot resume with another architecture than the "
                                  "checkpoint's (--dim 8 -> 16)")
    result = invoke("lm", "train", *LM_TRAIN, "--arch", "transformer", "--heads", "2", "--epochs", "2", "--resume",
                    "-o", run, corpus)
    assert_clean_error(result, 2, "(--arch 'lstm' -> 'transformer'; --heads 4 -> 2)")
    assert (run / "weights.safetensors").read_bytes() == before
    # the same architecture continues (more epochs is not another architecture)
    result = invoke("lm", "train", *LM_TRAIN, "--epochs", "2", "--resume", "-o", run, corpus)
    assert result.exit_code == 0, result.stderr


def _damage_lm(source: Path, dest: Path, how: str) -> Path:
    model = Path(shutil.copytree(source, dest))
    unseal(model)  # a directory saved before checksums: the loader's own checks must catch it
    if how == "cut vocab.json":
        vocab = json.loads((model / "vocab.json").read_text())
        vocab["tokens"] = vocab["tokens"][:5]
        (model / "vocab.json").write_text(json.dumps(vocab))
    elif how == "a NaN tensor":
        from safetensors.torch import load_file, save_file

        tensors = load_file(str(model / "weights.safetensors"))
        tensors["encoder.embedding.weight"][3, 0] = float("nan")
        save_file(tensors, str(model / "weights.safetensors"))
    elif how == "another width in lm.json":
        shape = json.loads((model / "lm.json").read_text())
        shape["dim"] = 12
        (model / "lm.json").write_text(json.dumps(shape))
    elif how == "a cut lm.json":
        (model / "lm.json").write_text('{"arch": "ls')
    return model


LM_DAMAGE = {
    "cut vocab.json": "vocab.json: damaged: 5 tokens, where lm.json and the weights have 11 (the file was cut or replaced)",
    "a NaN tensor": "weights.safetensors: damaged: tensor encoder.embedding.weight holds NaN or infinite values",
    "another width in lm.json": ": damaged language model directory (RuntimeError: size mismatch for "
                                "encoder.embedding.weight: copying a param with shape torch.Size([11, 16])",
    "a cut lm.json": "lm.json: damaged JSON file (JSONDecodeError",
}


@pytest.mark.parametrize("how", list(LM_DAMAGE))
@pytest.mark.parametrize("command", [["perplexity", "--json"], ["generate", "--prompt", "one"]])
def test_a_damaged_lm_directory_is_one_line(how, command, lm_dir, corpus, tmp_path, invoke):
    model = _damage_lm(lm_dir, tmp_path / "m", how)
    result = invoke("lm", command[0], "--model", model, *command[1:], *([corpus] if command[0] == "perplexity" else []))
    assert_clean_error(result, 1, str(model), LM_DAMAGE[how])
    assert result.stdout == ""  # never {"perplexity": NaN}


def test_perplexity_never_writes_nan_or_infinity():
    from nlpkit.lm.model import perplexity

    assert perplexity(1e6, 1) == float("inf")  # exp overflows: not an OverflowError
    assert perplexity(2.0, 2) == pytest.approx(2.718281828)


# --------------------------------------------------------------------------- evaluate-ner alignment


GOLD = "John B-PER\nlives O\nhere O\n\nMary B-PER\nsings O\nwell O\n\n"


@pytest.mark.parametrize("pred, expected", [
    # two sentences of equal length, swapped: scored F1 0.994 before
    ("Mary B-PER\nsings O\nwell O\n\nJohn B-PER\nlives O\nhere O\n\n",
     "pred.iob:1: sentence 1, token 1 is 'Mary', but 'John' in the gold (GOLD:1)"),
    # one token's text changed: scored 100 before
    ("John B-PER\nlives O\nthere O\n\nMary B-PER\nsings O\nwell O\n\n",
     "pred.iob:3: sentence 1, token 3 is 'there', but 'here' in the gold (GOLD:3)"),
])
def test_evaluate_ner_refuses_files_whose_tokens_differ(pred, expected, tmp_path, invoke):
    gold = tmp_path / "gold.iob"
    gold.write_text(GOLD)
    (tmp_path / "pred.iob").write_text(pred)
    result = invoke("evaluate-ner", "--gold", gold, "--pred", tmp_path / "pred.iob")
    assert_clean_error(result, 1, expected.replace("pred.iob", str(tmp_path / "pred.iob")).replace("GOLD", str(gold)))


def test_evaluate_ner_checks_jsonl_tokens_against_the_gold_and_scores_aligned_files(tmp_path, invoke):
    gold = tmp_path / "gold.iob"
    gold.write_text(GOLD)
    pred = write_jsonl(tmp_path / "pred.jsonl", [
        {"tokens": ["John", "lives", "here"], "ents": [{"start": 0, "end": 1, "label": "PER"}]},
        {"tokens": ["Mary", "sang", "well"], "ents": []},
    ])
    result = invoke("evaluate-ner", "--gold", gold, "--pred", pred)
    assert_clean_error(result, 1, f"{pred}:2: sentence 2, token 2 is 'sang', but 'sings' in the gold ({gold}:6)")
    result = invoke("evaluate-ner", "--gold", gold, "--pred", gold, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["micro"]["f1"] == 1.0


# --------------------------------------------------------------------------- bench corpus labels


TRAIN = [{"text": "a good film", "label": "pos"}, {"text": "a bad film", "label": "neg"},
         {"text": "great", "label": "pos"}, {"text": "awful", "label": "neg"}]


@pytest.mark.parametrize("train, test, where, expected", [
    (TRAIN, [{"text": "fine", "label": "pos"}, {"text": "meh", "label": "meh"}], "test",
     "label(s) 'meh' of the test split are not in the train split ('neg', 'pos'): no method could predict them"),
    ([{"text": "a good film", "label": ["pos"]}, *TRAIN], TRAIN, "train:1",
     "label field 'label' holds list ['pos'], not a string"),
    ([*TRAIN, {"text": "so so", "label": 0.5}], TRAIN, "train:5", "label field 'label' holds float 0.5, not a string"),
    (TRAIN, [{"text": "fine", "label": {"y": 1}}], "test:1", "label field 'label' holds dict {'y': 1}, not a string"),
    ([{"text": "a good film", "label": "pos"}], TRAIN, "train",
     "all 1 records have the label 'pos': a classifier needs at least two labels"),
    (TRAIN[:3], TRAIN, "train", "label 'neg' has only one record in the train split: each label needs two or more"),
])
def test_bench_corpus_labels_are_checked_as_train_checks_them(train, test, where, expected, tmp_path, invoke):
    paths = {"train": write_jsonl(tmp_path / "train.jsonl", train), "test": write_jsonl(tmp_path / "test.jsonl", test)}
    result = invoke("bench", "corpus", "--train", paths["train"], "--test", paths["test"], "--methods", "bow-nb",
                    "--out", tmp_path / "out")
    split, _, line = where.partition(":")
    assert_clean_error(result, 1, f"{paths[split]}{':' + line if line else ''}: {expected}")


def test_whole_number_labels_mean_the_same_as_train_reads_them():
    from nlpkit.bench.data import check_labels
    from nlpkit.models.training import record_label

    # 1, 1.0 and "1" are one label for `nlpkit train`; so they are for the ladder (no unknown test label)
    train = [{"label": record_label({"label": x})} for x in (1, 1.0, 0, "0")]
    check_labels(train, [{"label": record_label({"label": "1"})}], "train.jsonl", "test.jsonl")


# --------------------------------------------------------------------------- paths and checkpoints


@pytest.mark.parametrize("args", [
    ["predict", "--model", "MISSING", "X"],
    ["evaluate", "--model", "MISSING", "--test", "X"],
    ["export", "--format", "onnx", "--model", "MISSING"],
    ["inspect", "--model", "MISSING"],
    ["serve", "--model", "MISSING"],
    ["tokenize", "--engine", "wordpiece", "--checkpoint", "MISSING", "X"],
])
def test_a_missing_model_or_checkpoint_path_is_exit_2(args, records, tmp_path, invoke):
    missing = tmp_path / "no" / "such" / "model"
    result = invoke(*[str(missing) if a == "MISSING" else records if a == "X" else a for a in args])
    assert_clean_error(result, 2, f"Error: {missing}: no such file or directory")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_directory_that_is_no_checkpoint_is_one_line(jobs, records, invoke):
    result = invoke("tokenize", "--engine", "wordpiece", "--checkpoint", "/etc", "--jobs", jobs, records)
    assert_clean_error(result, 1, "Error: /etc: not a usable transformers checkpoint directory (")
    assert result.stdout == ""


def test_nltks_regex_time_limit_is_a_skippable_record_error(tmp_path, monkeypatch):
    """NLTK 3.9+ gives up a regular expression after 5 s (a 5 MB text with --max-chars 0 hits it);
    a limit of 0 makes every NLTK match give up at once, so the test needs no slow text."""
    import io

    from nltk import redos

    from nlpkit import io as nlpkit_io
    from nlpkit.errors import InputError
    from nlpkit.runner import drive
    from nlpkit.text.tokenize import TokenizeStage

    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "A first text."}, {"text": "A second."}])
    stage = TokenizeStage()
    stage.ensure_setup()  # loading punkt runs NLTK regexes too: set up first, then lower the limit
    monkeypatch.setattr(redos, "DEFAULT_TIMEOUT", 0)
    report = drive(stage, nlpkit_io.read_items([str(path)]), nlpkit_io.make_writer("jsonl", io.BytesIO()), on_error="skip")
    assert report.skipped.count == 2 and report.records_out == 0
    assert report.skipped.examples[0] == (f"{path}:1: NLTK gave up on this text of 13 characters (a regular expression "
                                          "ran over its 0-second limit); split the document, or lower --max-chars")
    with pytest.raises(InputError) as e:
        drive(stage, nlpkit_io.read_items([str(path)]), nlpkit_io.make_writer("jsonl", io.BytesIO()))
    assert str(e.value).startswith(f"{path}:1: NLTK gave up") and "timeout=None" not in str(e.value)


# --------------------------------------------------------------------------- one huge record


def test_max_chars_given_applies_to_every_stage(tmp_path, invoke):
    path = write_jsonl(tmp_path / "t.jsonl", [{"text": "x" * 50}, {"text": "Short."}])
    for command in (["clean"], ["stem", "--field", "text"], ["run", "--pipeline", "clean | stopwords"]):
        result = invoke(*command, "--max-chars", "20", "--on-error", "skip", path)
        assert result.exit_code == 0, result.stderr
        assert len(parse_jsonl(result.stdout)) == 1
        assert f"first: {path}:1: text of 50 characters is over --max-chars 20" in result.stderr
    result = invoke("clean", "--max-chars", "20", path)
    assert_clean_error(result, 1, f"{path}:1: text of 50 characters is over --max-chars 20")
    result = invoke("clean", path)  # no --max-chars: clean has no limit of its own
    assert result.exit_code == 0 and len(parse_jsonl(result.stdout)) == 2


def test_clean_in_slices_gives_the_whole_texts_result(monkeypatch):
    module = importlib.import_module("nlpkit.text.clean")  # the module (nlpkit.text.clean is also the function)
    rng = random.Random(0)
    alphabet = ["a", "B", "\u03a3", " ", "\n", "\u3000", "\xa0", "<", ">", "<b x>", "&amp;", "&", "'", "\u2019", "''",
                "1", "http://x.y ", "a@b.cc", ".", "\u0301", "\u2026", "\uff25"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        for options in ({}, {"whitespace": False}, {"digits": True, "lower": False}, {"unicode": "none", "html_tags": False}):
            monkeypatch.setattr(module, "SLICE", rng.randint(1, 12))
            sliced = module.clean(text, **options)
            monkeypatch.setattr(module, "SLICE", 10**9)
            assert sliced == module.clean(text, **options), (text, options)


def test_a_text_longer_than_a_slice_through_the_command(tmp_path, invoke):
    module = importlib.import_module("nlpkit.text.clean")
    review = "I <i>LOVED</i> it &amp; you'll too!<br />4/10 \u2026 See www.example.com or mail a@b.cc. "
    text = review * (module.SLICE // len(review) * 2 + 7)  # about two and a half slices
    path = write_jsonl(tmp_path / "long.jsonl", [{"text": text}])
    result = invoke("clean", path)
    assert result.exit_code == 0, result.stderr
    whole = module._clean_piece(text, True, True, True, True, True, False, "NFKC", True)  # the text at once
    assert parse_jsonl(result.stdout) == [{"text": whole}]

"""BERT fine-tuning on a tiny, randomly initialised BERT (no download): train, save, load, predict, resume.

The checkpoint is built here: a 2-layer, 32-wide BertConfig with the offline
MiniLM checkpoint's WordPiece vocabulary, saved with save_pretrained into a
temporary directory and passed as --checkpoint. The hub is switched off, so no
test can reach the network.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from nlpkit.models import load_model, model_class  # noqa: E402
from nlpkit.models import neural  # noqa: E402
from tests.conftest import parse_jsonl, write_jsonl  # noqa: E402
from tests.test_neural import LABELS, RECORDS, Interrupted  # noqa: E402


@pytest.fixture(autouse=True)
def offline_one_thread(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from nlpkit.resources import default_bert_checkpoint

    where = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = AutoTokenizer.from_pretrained(default_bert_checkpoint())
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(where)
    tokenizer.save_pretrained(where)
    return where


TINY = dict(epochs=20, lr=1e-2, batch_size=4, max_len=16, warmup=0.0, seed=0, threads=1)


def test_tiny_bert_overfits_and_reloads_with_identical_predictions(tmp_path, tiny_bert):
    model = model_class("bert")(checkpoint=str(tiny_bert), **TINY)
    model.fit(RECORDS, LABELS)
    assert model.history_[0]["train_loss"] > 0.5
    assert model.history_[-1]["train_loss"] < 0.05
    assert model.predict(RECORDS) == LABELS
    from nlpkit.models import save_model

    save_model(model, tmp_path / "m")
    reloaded = load_model(tmp_path / "m")
    assert np.array_equal(reloaded.predict_proba(RECORDS), model.predict_proba(RECORDS))


def test_truncation_keeps_special_tokens_and_the_chosen_ends(tiny_bert):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    text = "one two three four five six seven eight nine ten"
    words = tokenizer(text, add_special_tokens=False)["input_ids"]
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    expected = {"head": words[:6], "tail": words[-6:], "head+tail": words[:2] + words[-4:]}  # 6 = 8 - [CLS] - [SEP]
    for strategy, kept in expected.items():
        model = model_class("bert")(checkpoint=str(tiny_bert), max_len=8, truncate=strategy)
        model.labels_ = ["neg", "pos"]
        model._build(RECORDS, LABELS)
        assert model._encode([{"text": text}]) == [[cls, *kept, sep]], strategy


def test_bert_resume_mid_epoch_equals_an_uninterrupted_run(tmp_path, tiny_bert, monkeypatch):
    # covers what the RNNs do not have: AdamW with two parameter groups and the warm-up/decay schedule
    params = dict(checkpoint=str(tiny_bert), **{**TINY, "epochs": 2, "warmup": 0.3, "batch_size": 3, "save_every": 2})

    def fit(run_dir, **extra):
        return model_class("bert")(run_dir=str(run_dir), **params, **extra).fit(RECORDS, LABELS)

    whole = fit(tmp_path / "whole")

    def after_step(state):
        if state.step == 5:
            raise Interrupted

    monkeypatch.setattr(neural, "after_step", after_step)
    with pytest.raises(Interrupted):
        fit(tmp_path / "cut")
    monkeypatch.setattr(neural, "after_step", lambda state: None)
    resumed = fit(tmp_path / "cut", resume=str(tmp_path / "cut"))
    for name, tensor in whole.module_.state_dict().items():
        assert torch.equal(tensor, resumed.module_.state_dict()[name]), name
    assert [r["train_loss"] for r in resumed.history_] == [r["train_loss"] for r in whole.history_]
    assert [r["lr"] for r in resumed.history_] == [r["lr"] for r in whole.history_]


def test_bert_through_train_and_predict_commands(invoke, tmp_path, tiny_bert):
    data = write_jsonl(tmp_path / "train.jsonl", [{"id": i, "text": r["text"], "label": y} for i, (r, y) in enumerate(zip(RECORDS, LABELS))])
    out = tmp_path / "model"
    result = invoke("train", "--model", "bert", "--checkpoint", tiny_bert, "--train", data, "-o", out, "--valid-fraction", "0",
                    "--epochs", "10", "--lr", "1e-2", "--batch-size", "4", "--max-len", "16", "--warmup", "0", "--truncate", "head+tail",
                    "--grad-accum", "1", "--device", "cpu", "--threads", "1")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "nlpkit.json").read_text())
    assert manifest["kind"] == "bert" and manifest["labels"] == ["neg", "pos"]
    assert manifest["params"]["truncate"] == "head+tail" and manifest["params"]["checkpoint"] == str(tiny_bert)
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"nlpkit.json", "transformer/config.json", "transformer/model.safetensors", "transformer/tokenizer.json",
            "metrics.jsonl", "model-best/nlpkit.json", "model-last/trainer/state.json"} <= files
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl", ".pickle"))]
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 10
    # shuffled input: order kept, predictions exact
    order = [5, 0, 7, 2, 1, 6, 3, 4]
    shuffled = write_jsonl(tmp_path / "shuffled.jsonl", [{"id": i, "text": RECORDS[i]["text"]} for i in order])
    predicted = invoke("predict", "--model", out, shuffled)
    assert predicted.exit_code == 0, predicted.stderr
    rows = parse_jsonl(predicted.stdout)
    assert [r["id"] for r in rows] == order
    assert [r["pred"] for r in rows] == [LABELS[i] for i in order]
    assert set(rows[0]["probs"]) == {"neg", "pos"}


def test_unknown_checkpoint_offline_is_a_clear_error(invoke, tmp_path):
    data = write_jsonl(tmp_path / "train.jsonl", [{"text": r["text"], "label": y} for r, y in zip(RECORDS, LABELS)])
    result = invoke("train", "--model", "bert", "--checkpoint", "no-such-org/no-such-bert", "--train", data,
                    "-o", tmp_path / "m", "--valid-fraction", "0")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: BERT checkpoint 'no-such-org/no-such-bert' not found: no such local directory")
    assert "HF_HUB_OFFLINE" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m" / "nlpkit.json").exists()


def test_max_len_beyond_the_checkpoints_positions(invoke, tmp_path, tiny_bert):
    data = write_jsonl(tmp_path / "train.jsonl", [{"text": r["text"], "label": y} for r, y in zip(RECORDS, LABELS)])
    result = invoke("train", "--model", "bert", "--checkpoint", tiny_bert, "--train", data, "-o", tmp_path / "m",
                    "--max-len", "512", "--valid-fraction", "0")
    assert result.exit_code == 1
    assert "max_len 512 is longer than this checkpoint's 64 positions" in result.stderr

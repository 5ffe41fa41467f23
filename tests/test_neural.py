"""The neural rungs without BERT: device choice, sequence shaping, bucketing, the RNN kinds, resume.

Everything runs on tiny models and hand-made data with one torch thread, so the
file takes seconds; exactness (bit-for-bit resume, identical reloaded predictions)
is what is checked, not speed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nlpkit import device as devices  # noqa: E402
from nlpkit.models import load_model, model_class, save_model  # noqa: E402
from nlpkit.models import neural  # noqa: E402
from nlpkit.models.neural import Collate, bucket_batches, sorted_batches  # noqa: E402
from nlpkit.training.vocab import Vocab, pad, record_tokens, truncate  # noqa: E402
from tests.conftest import parse_jsonl, write_jsonl  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# Eight reviews a tiny model can learn exactly: the label is in the words, lengths differ.
POS = ["good film", "great great acting", "a good and great story overall", "wonderful good"]
NEG = ["bad film", "awful awful acting", "a bad and awful story overall", "terrible bad"]
RECORDS = [{"text": t} for t in POS + NEG]
LABELS = ["pos"] * 4 + ["neg"] * 4
TINY = dict(dim=8, hidden=8, min_count=1, epochs=40, lr=0.05, batch_size=4, dropout=0.0, seed=3, threads=1)


# --------------------------------------------------------------------------- devices


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    monkeypatch.setattr(devices, "mps_available", lambda: False)


def test_auto_is_cpu_without_cuda_or_mps(no_accelerators):
    assert devices.resolve_device("auto").type == "cpu"
    assert devices.resolve_device("cpu").type == "cpu"


def test_auto_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: True)
    monkeypatch.setattr(devices, "mps_available", lambda: True)
    assert devices.resolve_device("auto").type == "cuda"
    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    assert devices.resolve_device("auto").type == "mps"


@pytest.mark.parametrize("spec, message", [
    ("cuda", "device 'cuda' asked for, but CUDA is not available"),
    ("cuda:1", "device 'cuda:1' asked for, but CUDA is not available"),
    ("mps", "device 'mps' asked for, but MPS is not available"),
    ("tpu", "unknown device 'tpu'"),
])
def test_asking_for_a_missing_device_is_an_error(no_accelerators, spec, message):
    with pytest.raises(devices.DeviceError, match=message.replace("(", r"\(")):
        devices.resolve_device(spec)


def test_cuda_index_beyond_the_visible_devices(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: True)
    monkeypatch.setattr(devices, "cuda_device_count", lambda: 1)
    assert devices.resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(devices.DeviceError, match=r"only 1 CUDA device\(s\) are visible"):
        devices.resolve_device("cuda:1")


def test_no_mixed_precision_on_cpu():
    assert devices.amp_dtype(torch.device("cpu")) is None


# --------------------------------------------------------------------------- shaping


def test_truncation_strategies_on_a_hand_made_sequence():
    ids = list(range(10))
    assert truncate(ids, 4, "head") == [0, 1, 2, 3]
    assert truncate(ids, 4, "tail") == [6, 7, 8, 9]
    assert truncate(ids, 4, "head+tail") == [0, 7, 8, 9]  # a quarter (128/510) from the head
    assert truncate(ids, 12, "head+tail") == ids  # short enough: untouched
    long = list(range(1000))
    kept = truncate(long, 510, "head+tail")  # Sun et al. 2019: first 128 and last 382
    assert kept == long[:128] + long[-382:]


def test_padding_sides():
    assert pad([5, 6], 4, "pre") == [0, 0, 5, 6]
    assert pad([5, 6], 4, "post") == [5, 6, 0, 0]
    assert pad([5, 6], 4, "packed") == [5, 6, 0, 0]
    with pytest.raises(ValueError):
        pad([5], 3, "middle")


def test_collate_pads_pre_and_post_with_masks():
    batch = [([7, 8, 9], 1), ([4], 0)]
    pre = Collate(pad_id=0, side="pre")(batch)
    assert pre["input_ids"].tolist() == [[7, 8, 9], [0, 0, 4]]
    assert pre["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    post = Collate(pad_id=0, side="post")(batch)
    assert post["input_ids"].tolist() == [[7, 8, 9], [4, 0, 0]]
    assert post["lengths"].tolist() == [3, 1]
    assert post["labels"].tolist() == [1, 0]


def test_vocabulary_by_frequency_with_ties_alphabetical_and_limits(tmp_path):
    tokens = [["b", "a", "c", "a"], ["c", "d", "a"]]
    assert Vocab.build(tokens).itos == ["<pad>", "<unk>", "a", "c", "b", "d"]
    assert Vocab.build(tokens, min_count=2).itos == ["<pad>", "<unk>", "a", "c"]
    vocab = Vocab.build(tokens, max_size=3)
    assert vocab.itos == ["<pad>", "<unk>", "a"]
    assert vocab.encode(["a", "zebra"]) == [2, 1]
    vocab.save(tmp_path / "vocab.json")
    assert Vocab.load(tmp_path / "vocab.json").itos == vocab.itos


def test_record_tokens_prefers_tokens_else_cleans_text():
    assert record_tokens({"tokens": ["Keep", "AS", "is"]}) == ["Keep", "AS", "is"]
    assert record_tokens({"text": "Great <br />movie, isn't it?"}) == ["great", "movie", ",", "isn't", "it", "?"]


def test_bucket_batches_cover_everything_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 500, size=1000)
    batches = bucket_batches(lengths, 10, seed=1, bucket_batches=5)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert batches == bucket_batches(lengths, 10, seed=1, bucket_batches=5)
    assert batches != bucket_batches(lengths, 10, seed=2, bucket_batches=5)
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    random_spread = np.mean([lengths[i : i + 10].max() - lengths[i : i + 10].min() for i in range(0, 1000, 10)])
    assert spread < random_spread / 4
    assert [len(b) for b in sorted_batches([3, 1, 2], 2)] == [2, 1]
    assert sorted_batches([3, 1, 2], 2) == [[1, 2], [0]]


# --------------------------------------------------------------------------- the RNN kinds


@pytest.mark.parametrize("kind, padding, pooling", [
    ("lstm", "pre", "last"),
    ("bilstm", "packed", "max"),
    ("gru", "post", "mean"),
    ("bilstm", "post", "last"),
])
def test_small_models_overfit_a_few_examples_and_reload_exactly(tmp_path, kind, padding, pooling):
    model = model_class(kind)(padding=padding, pooling=pooling, **TINY)
    model.fit(RECORDS, LABELS)
    assert model.history_[0]["train_loss"] > 0.5
    assert model.history_[-1]["train_loss"] < 0.05
    assert model.predict(RECORDS) == LABELS
    save_model(model, tmp_path / "m")
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["nlpkit.json", "rnn.json", "vocab.json", "weights.safetensors"]
    reloaded = load_model(tmp_path / "m")
    assert np.array_equal(reloaded.predict_proba(RECORDS), model.predict_proba(RECORDS))


def test_same_seed_same_model_other_seed_other_model():
    def weights(seed):
        model = model_class("gru")(**{**TINY, "epochs": 2, "seed": seed}).fit(RECORDS, LABELS)
        return model.module_.state_dict()["classifier.weight"]

    assert torch.equal(weights(1), weights(1))
    assert not torch.equal(weights(1), weights(2))


def test_last_state_of_post_padding_equals_packed_for_the_forward_direction():
    from nlpkit.models.rnn import RNNModule

    torch.manual_seed(0)
    post = RNNModule("lstm", True, 20, 4, 5, 1, 0.0, "last", "post", 2).eval()
    packed = RNNModule("lstm", True, 20, 4, 5, 1, 0.0, "last", "packed", 2).eval()
    packed.load_state_dict(post.state_dict())
    batch = Collate(side="post")([([3, 4, 5, 6], 0), ([7, 8], 1)])
    args = batch["input_ids"], batch["lengths"], batch["attention_mask"]
    post.classifier = packed.classifier = torch.nn.Identity()  # compare the pooled states themselves
    with torch.no_grad():
        a, b = post(*args), packed(*args)
    assert torch.allclose(a[:, :5], b[:, :5], atol=1e-6)  # forward: state after the last real token
    assert torch.allclose(a[0, 5:], b[0, 5:], atol=1e-6)  # backward, unpadded row: the same
    assert not torch.allclose(a[1, 5:], b[1, 5:])  # backward, padded row: post read the pads first


def test_vectors_initialise_known_words_and_freeze_keeps_them(tmp_path):
    vectors = tmp_path / "tiny.vec"
    vectors.write_text("2 8\ngood " + " ".join(["0.5"] * 8) + "\nbad " + " ".join(["-0.5"] * 8) + "\n")
    model = model_class("gru")(vectors=str(vectors), freeze_embeddings=True, **{**TINY, "dim": 99, "epochs": 3})
    model.fit(RECORDS, LABELS)
    table = model.module_.embedding.weight
    assert table.shape[1] == 8  # the vectors' size, not dim
    assert torch.equal(table[model.vocab_.stoi["good"]], torch.full((8,), 0.5))
    assert torch.equal(table[model.vocab_.stoi["bad"]], torch.full((8,), -0.5))
    assert model.vectors_found_ == 2


# --------------------------------------------------------------------------- the loop: checkpoints and resume


class Interrupted(Exception):
    pass


def _train(run_dir, resume=None, stop_at_step=None, monkeypatch=None, **params):
    if stop_at_step is not None:
        def after_step(state):
            if state.step == stop_at_step:
                raise Interrupted

        monkeypatch.setattr(neural, "after_step", after_step)
    model = model_class("bilstm")(run_dir=str(run_dir), resume=resume, **{**TINY, "epochs": 3, "dropout": 0.3, **params})
    try:
        return model.fit(RECORDS[:7], LABELS[:7], valid=([RECORDS[7]], [LABELS[7]]))
    finally:
        monkeypatch.setattr(neural, "after_step", lambda state: None) if monkeypatch else None


# from an epoch's end; from mid-epoch; from mid-epoch with a learning-rate schedule, whose state is restored too
@pytest.mark.parametrize("save_every, stop_at_step, schedule", [(0, 4, "constant"), (2, 5, "constant"), (2, 5, "linear")])
def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path, monkeypatch, save_every, stop_at_step,
                                                                  schedule):
    whole = _train(tmp_path / "whole", save_every=save_every, batch_size=3, schedule=schedule)  # 3 batches an epoch
    with pytest.raises(Interrupted):
        _train(tmp_path / "cut", save_every=save_every, batch_size=3, stop_at_step=stop_at_step, monkeypatch=monkeypatch,
               schedule=schedule)
    assert not (tmp_path / "cut" / "nlpkit.json").exists()  # no final model from an interrupted run
    resumed = _train(tmp_path / "cut", resume="latest", save_every=save_every, batch_size=3, monkeypatch=monkeypatch,
                     schedule=schedule)
    for name, tensor in whole.module_.state_dict().items():
        assert torch.equal(tensor, resumed.module_.state_dict()[name]), name
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s")} for r in rows]  # noqa: E731
    assert strip(resumed.history_) == strip(whole.history_)
    assert len(whole.history_) == 3
    logged = [json.loads(line) for line in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()]
    assert strip(logged) == strip(whole.history_)


@pytest.mark.parametrize("schedule, factors", [("constant", [1, 1, 1]), ("linear", [2 / 3, 1 / 3, 0])])
def test_the_recurrent_kinds_learning_rate_schedule(tmp_path, schedule, factors):
    # 3 epochs of 3 optimizer steps: a linear decay reaches 0 at the last step
    model = _train(tmp_path / schedule, batch_size=3, schedule=schedule)
    assert [row["lr"] for row in model.history_] == pytest.approx([TINY["lr"] * f for f in factors])


def test_model_best_model_last_and_early_stopping(tmp_path):
    model = model_class("gru")(run_dir=str(tmp_path), patience=1, monitor="accuracy", **{**TINY, "epochs": 30})
    model.fit(RECORDS, LABELS, valid=(RECORDS, LABELS))
    # accuracy reaches 1.0, then cannot improve: one more epoch and the run stops
    assert model.history_[-1]["valid_accuracy"] == 1.0
    assert len(model.history_) == model.best_epoch_ + 1 < 30
    best, last = load_model(tmp_path / "model-best"), load_model(tmp_path / "model-last")
    assert best.predict(RECORDS) == LABELS
    assert json.loads((tmp_path / "model-last" / "nlpkit.json").read_text())["metrics"]["epochs"] == len(model.history_)
    assert (tmp_path / "model-last" / "trainer" / "tensors.safetensors").exists()
    assert np.array_equal(model.predict_proba(RECORDS), best.predict_proba(RECORDS))  # the best one comes out
    assert last is not None


# --------------------------------------------------------------------------- through the CLI


@pytest.fixture
def tiny_train(tmp_path):
    return write_jsonl(tmp_path / "train.jsonl", [{"text": r["text"], "label": y} for r, y in zip(RECORDS, LABELS)])


TINY_CLI = ["--dim", "8", "--hidden", "8", "--min-count", "1", "--epochs", "40", "--lr", "0.05", "--batch-size", "4",
            "--dropout", "0", "--seed", "3", "--threads", "1", "--valid-fraction", "0"]


def test_train_predict_evaluate_through_the_cli(invoke, tmp_path, tiny_train):
    out = tmp_path / "model"
    result = invoke("train", "--model", "bilstm", "--train", tiny_train, "-o", out, "--pooling", "max", "--padding", "packed",
                    "--max-len", "5", "--truncate", "tail", "--clip", "1.0", "--save-every", "3", *TINY_CLI)
    assert result.exit_code == 0, result.stderr
    assert {p.name for p in out.iterdir()} >= {"nlpkit.json", "weights.safetensors", "vocab.json", "rnn.json",
                                                "model-best", "model-last", "metrics.jsonl"}
    assert not [p for p in out.rglob("*") if p.suffix in (".pkl", ".pickle", ".pt", ".pth", ".bin", ".joblib")]
    manifest = json.loads((out / "nlpkit.json").read_text())
    assert manifest["kind"] == "bilstm" and manifest["params"]["truncate"] == "tail" and "device" not in manifest["params"]
    predicted = invoke("predict", "--model", out, tiny_train)
    assert predicted.exit_code == 0, predicted.stderr
    rows = parse_jsonl(predicted.stdout)
    assert [r["pred"] for r in rows] == LABELS and [r["label"] for r in rows] == LABELS
    assert all(abs(sum(r["probs"].values()) - 1) < 1e-4 for r in rows)
    evaluated = invoke("evaluate", "--model", out, "--test", tiny_train, "--json")
    assert json.loads(evaluated.stdout)["accuracy"] == 1.0


def test_resume_through_the_cli_needs_a_checkpoint(invoke, tmp_path, tiny_train):
    result = invoke("train", "--model", "gru", "--train", tiny_train, "-o", tmp_path / "fresh", "--resume", *TINY_CLI)
    assert result.exit_code == 1
    assert "no checkpoint to resume from" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_errors_one_line_exit_1(invoke, tmp_path, tiny_train):
    unlabelled = write_jsonl(tmp_path / "u.jsonl", [{"text": "good"}, {"text": "bad"}])
    one_class = write_jsonl(tmp_path / "one.jsonl", [{"text": "good", "label": "pos"}, {"text": "fine", "label": "pos"}])
    for path, message in ((unlabelled, "record has no 'label' field"), (one_class, "a classifier needs at least two labels")):
        result = invoke("train", "--model", "lstm", "--train", path, "-o", tmp_path / "m", *TINY_CLI)
        assert result.exit_code == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    result = invoke("train", "--model", "lstm", "--train", tiny_train, "-o", tmp_path / "m", "--device", "cuda:7", *TINY_CLI)
    if not torch.cuda.is_available():
        assert result.exit_code == 1 and "CUDA is not available" in result.stderr
    result = invoke("train", "--model", "lstm", "--train", tiny_train, "-o", tmp_path / "m", "--checkpoint", "x", *TINY_CLI)
    assert result.exit_code == 2 and "--checkpoint does not apply to --model lstm" in result.stderr

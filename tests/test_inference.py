"""predict --quantize int8 / --runtime onnx and nlpkit export: the same predictions as fp32 on small trained models."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from nlpkit.models import model_class, save_model  # noqa: E402
from nlpkit.models.base import load_model  # noqa: E402
from nlpkit.models.inference import export_onnx, load_for_inference  # noqa: E402
from tests.conftest import parse_jsonl, write_jsonl  # noqa: E402
from tests.test_neural import LABELS, RECORDS  # noqa: E402
from tests.test_neural_bert import offline_one_thread, tiny_bert  # noqa: E402,F401 (fixtures: hub off, one thread)

RNN = dict(dim=8, hidden=8, min_count=1, epochs=30, lr=0.05, batch_size=4, dropout=0.0, seed=3, threads=1)
BERT = dict(epochs=20, lr=1e-2, batch_size=4, max_len=16, warmup=0.0, seed=0, threads=1)
VARIANTS = [("int8", "torch"), (None, "onnx"), ("int8", "onnx")]
# texts the models never saw, of other lengths than the training ones (dynamic axes)
UNSEEN = [{"text": t} for t in ("good", "an awful bad film with terrible acting", "great story", "bad bad bad bad bad")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_bert):  # noqa: F811
    where = tmp_path_factory.mktemp("inference")
    torch.set_num_threads(1)
    specs = {
        "bilstm": ("bilstm", dict(RNN, padding="pre")),
        "gru": ("gru", dict(RNN, padding="post", pooling="mean")),
        "bert": ("bert", dict(BERT, checkpoint=str(tiny_bert))),
    }
    dirs = {}
    for name, (kind, params) in specs.items():
        model = model_class(kind)(**params).fit(RECORDS, LABELS)
        dirs[name] = save_model(model, where / name, libraries=model.libraries)
        export_onnx(dirs[name], quantize="int8")
    return dirs


@pytest.mark.parametrize("name", ["bilstm", "gru", "bert"])
def test_quantized_and_onnx_predictions_agree_with_fp32(trained, name):
    fp32 = load_model(trained[name])
    inputs = RECORDS + UNSEEN
    reference = fp32.predict_proba(inputs)
    assert list(np.array(fp32.labels_)[reference[: len(RECORDS)].argmax(1)]) == LABELS  # the model learned the task
    for quantize, runtime in VARIANTS:
        model = load_for_inference(trained[name], quantize=quantize, runtime=runtime)
        probs = model.predict_proba(inputs)
        assert model.inference_ == {"runtime": runtime, "quantize": quantize}
        assert (probs.argmax(1) == reference.argmax(1)).all(), (quantize, runtime)
        assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
        tolerance = 1e-5 if quantize is None else 0.05  # ONNX fp32 is the same arithmetic; int8 rounds the weights
        assert np.abs(probs - reference).max() < tolerance, (quantize, runtime, np.abs(probs - reference).max())


@pytest.mark.parametrize("name", ["bilstm", "gru", "bert"])
def test_torch_int8_quantizes_per_channel_all_but_the_head(trained, name):
    from torch import nn

    from nlpkit.models.inference import FP32_LAYERS

    files = sorted(p.name for p in trained[name].rglob("*"))
    model = load_for_inference(trained[name], quantize="int8")
    assert sorted(p.name for p in trained[name].rglob("*")) == files  # made at load time: nothing is stored
    modules = dict(model.module_.named_modules())
    head = {n for n in modules if any(n == kept or n.startswith(kept + ".") for kept in FP32_LAYERS)}
    assert "classifier" in head and type(modules["classifier"]) is nn.Linear  # the head stays fp32
    if name == "bert":
        assert type(modules["bert.pooler.dense"]) is nn.Linear
    # every other Linear and recurrent layer is dynamic int8; the embedding is left alone
    assert not [n for n, m in modules.items() if type(m) in (nn.Linear, nn.LSTM, nn.GRU) and n not in head]
    assert any(type(m) is nn.Embedding for m in modules.values())
    dynamic = {type(m).__name__ for m in modules.values()
               if type(m).__module__.startswith("torch.ao.nn.quantized.dynamic") and type(m).__name__ != "PackedParameter"}
    assert dynamic == ({"Linear"} if name == "bert" else {"LSTM"} if name == "bilstm" else {"GRU"})
    for m in modules.values():
        if type(m).__module__ == "torch.ao.nn.quantized.dynamic.modules.linear":
            assert m.weight().qscheme() == torch.per_channel_affine  # a scale per output row


def test_export_writes_onnx_graphs_and_their_manifest_only(trained):
    import onnx

    where = trained["bert"] / "onnx"
    assert sorted(p.name for p in where.iterdir()) == ["export.json", "model.int8.onnx", "model.onnx"]
    info = json.loads((where / "export.json").read_text())
    assert info["kind"] == "bert" and info["inputs"] == ["input_ids", "attention_mask"] and info["outputs"] == ["logits"]
    assert info["files"] == ["model.onnx", "model.int8.onnx"] and len(info["weights_sha256"]) == 64
    for name in info["files"]:
        graph = onnx.load(str(where / name))  # protobuf, nothing to unpickle
        onnx.checker.check_model(graph)
        assert [i.name for i in graph.graph.input] == ["input_ids", "attention_mask"]
    rnn = json.loads((trained["gru"] / "onnx" / "export.json").read_text())
    assert rnn["inputs"] == ["input_ids", "lengths", "attention_mask"]


def test_predict_and_export_commands(invoke, trained, tmp_path):
    data = write_jsonl(tmp_path / "in.jsonl", [{"id": i, **r} for i, r in enumerate(UNSEEN)])
    plain = parse_jsonl(invoke("predict", "--model", trained["gru"], data).stdout)
    for flags in (["--quantize", "int8"], ["--runtime", "onnx"], ["--runtime", "onnx", "--quantize", "int8"]):
        result = invoke("predict", "--model", trained["gru"], *flags, data)
        assert result.exit_code == 0, result.stderr
        fast = parse_jsonl(result.stdout)
        assert [(r["id"], r["pred"]) for r in fast] == [(r["id"], r["pred"]) for r in plain], flags
    result = invoke("run", "--pipeline", f"predict --model {trained['gru']} --quantize int8", data)
    assert [r["pred"] for r in parse_jsonl(result.stdout)] == [r["pred"] for r in plain]


def test_onnx_needs_a_current_export_and_a_neural_kind(invoke, tmp_path):
    data = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    gru = tmp_path / "gru"
    model = model_class("gru")(**dict(RNN, epochs=2)).fit(RECORDS, LABELS)
    save_model(model, gru)
    result = invoke("predict", "--model", gru, "--runtime", "onnx", data)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {gru}: no ONNX export (onnx/model.onnx); run `nlpkit export --format onnx --model {gru}` first\n"

    result = invoke("export", "--format", "onnx", "--model", gru)
    assert result.exit_code == 0 and result.stderr.startswith(f"export: gru -> {gru}/onnx/model.onnx (opset 20, ")
    result = invoke("predict", "--model", gru, "--runtime", "onnx", "--quantize", "int8", data)
    assert result.exit_code == 2 and "no ONNX export (onnx/model.int8.onnx); run `nlpkit export --format onnx" \
        f" --model {gru} --quantize int8` first" in result.stderr

    # (retraining into the same directory replaces onnx/ with it; an export copied across models is caught)
    other = save_model(model_class("gru")(**dict(RNN, epochs=3)).fit(RECORDS, LABELS), tmp_path / "other")
    shutil.copytree(gru / "onnx", other / "onnx")
    result = invoke("predict", "--model", other, "--runtime", "onnx", data)
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {other}: the ONNX export is of other weights than the model's; "
                             f"run `nlpkit export --format onnx --model {other}` again\n")

    lr = tmp_path / "lr"
    save_model(model_class("tfidf-lr")().fit(RECORDS, LABELS), lr)
    for command in (["predict", "--model", lr, "--quantize", "int8", data], ["export", "--format", "onnx", "--model", lr]):
        result = invoke(*command)
        assert result.exit_code == 2
        assert result.stderr == (f"Error: {lr}: --quantize and --runtime onnx apply to the neural kinds "
                                 "(bert, lstm, bilstm, gru), not to a tfidf-lr model\n")


def test_packed_sequences_cannot_be_exported_and_say_what_to_do(tmp_path):
    from nlpkit.models.inference import InferenceError

    packed = save_model(model_class("lstm")(**dict(RNN, epochs=1, padding="packed")).fit(RECORDS, LABELS), tmp_path / "p")
    with pytest.raises(InferenceError, match="trained with --padding packed cannot be exported to ONNX"):
        export_onnx(packed)
    assert not (packed / "onnx").exists()
    model = load_for_inference(packed, quantize="int8")  # the torch int8 path handles packed sequences
    assert model.predict_proba(RECORDS).shape == (8, 2)

"""Faster CPU inference for the neural kinds: int8 dynamic quantization and ONNX Runtime.

Both work on a loaded model's torch module and leave the rest of the model (its
tokenizer or vocabulary, length-sorted batching, ``predict_proba``) as it is:

- ``quantize="int8"`` (runtime torch): ``torch.ao.quantization.quantize_dynamic`` of the
  ``Linear`` (per output channel), ``LSTM`` and ``GRU`` layers but the classifier head
  (:data:`FP32_LAYERS`), done at load time from the fp32 weights in a second or so, so
  nothing new is stored.
- ``runtime="onnx"``: the module exported once by :func:`export_onnx` (``nlpkit
  export --format onnx``) into ``MODEL_DIR/onnx/model.onnx`` (for BERT with onnxruntime's
  transformer fusions: fused attention, layer norms, GELU) and run by onnxruntime;
  with ``quantize="int8"`` onnxruntime's own dynamic quantization of that graph,
  ``onnx/model.int8.onnx``. ONNX files are protobuf: nothing is ever unpickled.

``onnx/export.json`` records the sha256 of the weights it was exported from, so an
export left behind by an older training run is refused instead of used.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path

from nlpkit.errors import UsageError
from nlpkit.files import AtomicDirectory, library_versions, write_json
from nlpkit.models.base import Classifier, ModelError, load_model, read_manifest

RUNTIMES = ("torch", "onnx")
QUANTIZE_CHOICES = ("int8",)
NEURAL_KINDS = ("bert", "lstm", "bilstm", "gru")
ONNX_DIR, ONNX_FILE, ONNX_INT8_FILE, EXPORT_MANIFEST = "onnx", "model.onnx", "model.int8.onnx", "export.json"
OPSET = 20
# texts for the example batch the exporter traces (two rows of different lengths: dynamic axes)
_TRACE_TEXTS = ("an example review to trace the graph with", "a second one")


class InferenceError(UsageError):
    """A --quantize / --runtime request that does not apply to this model (a usage error)."""


def check_inference_options(model_dir: str | Path, quantize: str | None = None, runtime: str = "torch") -> None:
    """Fail now, in one line, where :func:`load_for_inference` would fail later: a missing
    model, a kind these options do not apply to, a missing or stale ONNX export."""
    read_manifest(model_dir)
    if quantize or runtime != "torch":
        require_neural(model_dir)
    if runtime == "onnx":
        onnx_file(model_dir, quantize)


def load_for_inference(model_dir: str | Path, quantize: str | None = None, runtime: str = "torch") -> Classifier:
    """The model in `model_dir`, its torch module quantized or replaced by an ONNX Runtime session."""
    if runtime not in RUNTIMES:
        raise InferenceError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
    if quantize not in (None, *QUANTIZE_CHOICES):
        raise InferenceError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)}, not {quantize!r}")
    if quantize is None and runtime == "torch":
        return load_model(model_dir)
    require_neural(model_dir)
    onnx_path = onnx_file(model_dir, quantize) if runtime == "onnx" else None  # a missing export fails before loading
    model = load_model(model_dir)
    import torch

    model.device_ = torch.device("cpu")  # both paths are CPU kernels
    if runtime == "onnx":
        model.module_ = OnnxModule(onnx_path, returns_output_object=model.kind == "bert")
    else:
        model.module_ = quantize_int8(model.module_)
    model.inference_ = {"runtime": runtime, "quantize": quantize}
    return model


# layers --quantize int8 leaves in fp32: the classifier head and BERT's pooler before it (two small
# Linear layers whose rounding falls straight on the logits); chosen on held-out IMDb training reviews
# (benchmarks/choose_int8.py), never on the test set
FP32_LAYERS = ("classifier", "bert.pooler.dense")


def quantize_int8(module, *, per_channel: bool = True, fp32_layers: tuple[str, ...] = FP32_LAYERS):
    """Dynamic int8 quantization of the Linear and recurrent layers (weights int8, activations float).

    Linear weights get a scale per output row (``per_channel``) rather than one per matrix;
    LSTM and GRU weights one per matrix (torch's dynamic recurrent kernels have no
    per-channel form); the layers named in `fp32_layers`, and those under them, stay as they
    are. The embedding is
    never quantized.
    """
    import torch
    from torch import nn
    from torch.ao import quantization as tq

    linear = tq.per_channel_dynamic_qconfig if per_channel else tq.default_dynamic_qconfig
    spec: dict = {nn.Linear: linear, nn.LSTM: tq.default_dynamic_qconfig, nn.GRU: tq.default_dynamic_qconfig}
    # a name in fp32_layers keeps that module and every module under it in fp32
    spec.update({name: None for name, _ in module.named_modules()
                 if any(name == kept or name.startswith(kept + ".") for kept in fp32_layers)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice, once per load
        return tq.quantize_dynamic(module.to("cpu").eval(), spec, dtype=torch.qint8)


def require_neural(model_dir) -> dict:
    manifest = read_manifest(model_dir)
    if manifest["kind"] not in NEURAL_KINDS:
        raise InferenceError(
            f"{model_dir}: --quantize and --runtime onnx apply to the neural kinds ({', '.join(NEURAL_KINDS)}), "
            f"not to a {manifest['kind']} model"
        )
    return manifest


# --------------------------------------------------------------------------- ONNX


def onnx_file(model_dir: str | Path, quantize: str | None = None) -> Path:
    """The exported graph to run, checked against the weights it was exported from."""
    where = Path(model_dir) / ONNX_DIR
    name = ONNX_INT8_FILE if quantize == "int8" else ONNX_FILE
    command = f"nlpkit export --format onnx --model {model_dir}" + (" --quantize int8" if quantize else "")
    if not (where / name).is_file() or not (where / EXPORT_MANIFEST).is_file():
        raise InferenceError(f"{model_dir}: no ONNX export ({ONNX_DIR}/{name}); run `{command}` first")
    import json

    recorded = json.loads((where / EXPORT_MANIFEST).read_text(encoding="utf-8")).get("weights_sha256")
    if recorded != _weights_digest(model_dir):
        raise InferenceError(f"{model_dir}: the ONNX export is of other weights than the model's; run `{command}` again")
    return where / name


def _weights_file(model_dir: str | Path) -> Path:
    from nlpkit.models.bert import TRANSFORMER

    model_dir = Path(model_dir)
    for candidate in (model_dir / TRANSFORMER / "model.safetensors", model_dir / "weights.safetensors"):
        if candidate.is_file():
            return candidate
    raise ModelError(f"{model_dir}: damaged model directory (no weights file)")


def _weights_digest(model_dir: str | Path) -> str:
    h = hashlib.sha256()
    with open(_weights_file(model_dir), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(model_dir: str | Path, quantize: str | None = None) -> dict:
    """Write MODEL_DIR/onnx/ (model.onnx, optionally model.int8.onnx, export.json), atomically.

    Returns export.json's content. The graph takes ``input_ids`` and ``attention_mask``
    (and ``lengths`` for the recurrent kinds) with dynamic batch and sequence axes,
    and gives ``logits``.
    """
    manifest = require_neural(model_dir)
    if quantize not in (None, *QUANTIZE_CHOICES):
        raise InferenceError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)}, not {quantize!r}")
    if manifest["params"].get("padding") == "packed":
        raise InferenceError(
            f"{model_dir}: a model trained with --padding packed cannot be exported to ONNX (the exporter has no "
            "packed sequences); use --quantize int8 on the torch runtime, or train with --padding pre or post"
        )
    import torch

    model = load_model(model_dir)
    module = model.module_.to("cpu").eval()
    batch = model._collate()([(ids, -1) for ids in model._encode([{"text": t} for t in _TRACE_TEXTS])])
    if manifest["kind"] == "bert":
        # eager attention traces to the MatMul/Softmax pattern onnxruntime's BERT fuser recognises
        if hasattr(module, "set_attn_implementation"):
            module.set_attn_implementation("eager")
        graph, names = _logits_only(module), ["input_ids", "attention_mask"]
    else:
        graph, names = module, ["input_ids", "lengths", "attention_mask"]
    example = tuple(batch[name] for name in names)
    axes = {name: ({0: "batch"} if name == "lengths" else {0: "batch", 1: "sequence"}) for name in names}
    started = time.perf_counter()
    with AtomicDirectory(Path(model_dir) / ONNX_DIR) as tmp, warnings.catch_warnings():
        # the TorchScript exporter: it handles both kinds' graphs and needs no sample-based export guards
        warnings.simplefilter("ignore")
        torch.onnx.export(graph, example, str(tmp / ONNX_FILE), input_names=names, output_names=["logits"],
                          dynamic_axes={**axes, "logits": {0: "batch"}}, opset_version=OPSET, dynamo=False)
        fused = fuse_transformer(tmp / ONNX_FILE, module.config) if manifest["kind"] == "bert" else None
        files = [ONNX_FILE]
        if quantize == "int8":
            quantize_onnx_int8(tmp / ONNX_FILE, tmp / ONNX_INT8_FILE)
            files.append(ONNX_INT8_FILE)
        info = {
            "kind": manifest["kind"], "opset": OPSET, "inputs": names, "outputs": ["logits"], "files": files, "fused": fused,
            "weights_sha256": _weights_digest(model_dir), "seconds": round(time.perf_counter() - started, 2),
            "versions": library_versions("torch", "onnx", "onnxruntime"),
        }
        write_json(tmp / EXPORT_MANIFEST, info)
    return info


def quantize_onnx_int8(source: Path, dest: Path) -> None:
    """onnxruntime's dynamic int8 quantization of an exported graph (weights int8, activations float)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # its advice to "pre-process" is printed on the root logger
    try:
        # fused ops (com.microsoft domain) have no inferred output types: say they are float
        quantize_dynamic(str(source), str(dest), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)


def fuse_transformer(path: Path, config) -> dict[str, int]:
    """onnxruntime's BERT graph fusions (attention, embedding and skip layer norms, GELU), in place;
    returns how many of each it made."""
    from onnxruntime.transformers import optimizer

    fused = optimizer.optimize_model(str(path), model_type="bert", num_heads=config.num_attention_heads,
                                     hidden_size=config.hidden_size)
    fused.save_model_to_file(str(path))
    return {op: n for op, n in fused.get_fused_operator_statistics().items() if n}


def _logits_only(module):
    """A transformers classifier as a module of (input_ids, attention_mask) -> logits, for the exporter."""
    from torch import nn

    class LogitsOnly(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    return LogitsOnly(module)


def OnnxModule(path: str | Path, returns_output_object: bool, output: str = "logits",
               inputs: tuple[str, ...] = ("input_ids", "lengths", "attention_mask")):
    """An ONNX Runtime session behind a torch module's call, so the model's predict loop runs it unchanged.

    The recurrent kinds call ``module(input_ids, lengths, attention_mask)`` and get
    logits; BERT calls ``module(input_ids=..., attention_mask=...)`` and reads
    ``.logits`` (``returns_output_object``). `output` names the graph's output to return
    (the sentence encoder's is ``embedding``), `inputs` the order of positional arguments.
    """
    import onnxruntime as ort
    import torch
    from torch import nn

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    # no busy-waiting between ops: on a CPU other work shares, spinning threads take the cores it needs
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    wanted = [i.name for i in session.get_inputs()]  # the exporter drops inputs a graph never reads

    class _OnnxModule(nn.Module):
        positional = inputs

        def forward(self, *args, **kwargs):
            given = {**dict(zip(self.positional, args)), **kwargs}
            feeds = {name: given[name].cpu().numpy() for name in wanted}
            logits = torch.from_numpy(session.run([output], feeds)[0])
            if returns_output_object:
                from types import SimpleNamespace

                return SimpleNamespace(logits=logits)
            return logits

        def extra_repr(self) -> str:
            return f"onnxruntime session of {Path(path).name}"

    return _OnnxModule()

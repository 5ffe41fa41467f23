"""A language model: trained through the shared loop, saved as a directory, scored by perplexity.

:class:`LanguageModel` holds its parameters as a dataclass (the loop's from
:class:`~nlpkit.training.loop.TrainLoopParams`, the architecture's here) and, once
fitted or loaded, ``tokenizer_`` and ``module_``.

Training data: every record becomes ``w_1 ... w_n <eos>``; the records are
concatenated into one stream, cut into windows of ``context + 1`` tokens, and the
windows are shuffled each epoch (seeded). The model predicts each window's
tokens from the ones before them in the window. Validation perplexity is measured
on the validation records' stream cut the same way (the last, shorter window included).

Perplexity of records (:meth:`LanguageModel.score`): each record on its own,
``<eos> w_1 ... w_n <eos>``, predicting ``w_1 ... w_n <eos>``, so the count is
n + 1 tokens a record; a record longer than the context is scored in consecutive
windows. Perplexity = exp(total negative log-likelihood / tokens).

The directory: ``nlpkit.json`` (kind ``lm``), ``lm.json`` (the module's shape),
``weights.safetensors``, the vocabulary (``vocab.json``, or ``tokenizer.json`` for
WordPiece), and after ``lm train`` the run's ``model-best/``, ``model-last/`` and
``metrics.jsonl``. No pickle anywhere.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from nlpkit.errors import NlpkitError, UsageError
from nlpkit.files import AtomicDirectory, library_versions, seal, write_json
from nlpkit.modeldir import FORMAT_VERSION, MANIFEST, fingerprint, read_manifest
from nlpkit.training.checkpoint import RunDirectory, carry_run_files, resume_dir
from nlpkit.training.loop import SCHEDULES, TrainLoopParams, adamw, train_loop, warmup_then_decay

KIND = "lm"
SHAPE = "lm.json"
WEIGHTS = "weights.safetensors"


def after_step(state) -> None:
    """Called after every optimizer step (a seam for tests that interrupt a run)."""


class LMError(NlpkitError):
    """A language model that cannot be trained or used as asked (exit 1)."""


class LMUsageError(LMError, UsageError):
    """Options that do not fit together (exit 2)."""

    exit_code = 2


@dataclass(eq=False)
class LMParams(TrainLoopParams):
    arch: str = "lstm"  # lstm | transformer
    tokenizer: str = "word"  # word | wordpiece
    vocab_size: int = 30000  # word: the most frequent words, <pad> <unk> <eos> included
    min_count: int = 2  # word: fewer occurrences become <unk>
    dim: int = 128  # embedding width (the transformer's width); with `vectors`, theirs
    vectors: str | None = None  # word vectors (a directory or file nlpkit.embeddings reads) to start the embedding from
    hidden: int = 256  # LSTM state (the last layer is dim wide when weights are tied)
    layers: int = 2
    heads: int = 4  # transformer
    context: int = 64  # tokens per training window; the transformer's longest input
    positions: str = "learned"  # transformer: learned | sinusoidal
    dropout: float = 0.1  # LSTM: locked dropout between layers; transformer: every dropout
    emb_dropout: float = 0.05  # LSTM: share of words dropped from the embedding matrix per batch
    tie_weights: bool = True  # the output layer shares the embedding's weights (not with the adaptive softmax)
    adaptive_softmax: bool = False
    cutoffs: list | None = None  # adaptive softmax cluster bounds (None: 2000, 10000, 50000 below the vocabulary size)
    warmup: float = 0.05  # share of the steps with a linear warm-up
    schedule: str = "cosine"  # decay after the warm-up: cosine | linear | constant
    weight_decay: float = 0.01
    time_budget: float | None = None  # seconds of training, then the epoch in progress ends (None: no limit)
    # the loop's defaults for language models
    epochs: int = 3
    lr: float = 2e-3
    batch_size: int = 32
    clip: float = 1.0

    def check(self) -> None:
        self.check_loop_params(monitors=("loss",))
        for name, value, choices in (("arch", self.arch, ("lstm", "transformer")), ("tokenizer", self.tokenizer, ("word", "wordpiece")),
                                     ("positions", self.positions, ("learned", "sinusoidal")), ("schedule", self.schedule, SCHEDULES)):
            if value not in choices:
                raise LMUsageError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        for name in ("vocab_size", "min_count", "dim", "hidden", "layers", "heads", "context"):
            if getattr(self, name) < 1:
                raise LMUsageError(f"{name} must be at least 1")
        if self.arch == "transformer" and self.dim % self.heads:
            raise LMUsageError(f"--dim {self.dim} must be a multiple of --heads {self.heads}")
        if not 0.0 <= self.warmup < 1.0:
            raise LMUsageError("warmup is the share of steps spent warming up: 0 <= warmup < 1")


class LanguageModel(LMParams):
    """Fit on records, save/load a directory, score records, predict the next token."""

    show_progress = False

    def get_params(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k not in self.RUN_ONLY}

    # -- fit

    def fit(self, records, valid=None, field: str = "text", vocabulary_records=None, tokenizer=None) -> "LanguageModel":
        """Train on `records` (validation perplexity on `valid`); the word vocabulary comes from
        `vocabulary_records` when given (e.g. a larger corpus than one trains on), else from `records`.
        `tokenizer`, a ready one of the `tokenizer` kind (e.g. a :class:`~nlpkit.lm.tokenizer.PretokenizedWordPiece`
        over records of ids), replaces the one the model would build or restore."""
        from nlpkit.device import resolve_device, seed_everything, set_threads

        self.check()
        if tokenizer is not None and tokenizer.kind != self.tokenizer:
            raise LMUsageError(f"a {tokenizer.kind} tokenizer given to a model of tokenizer {self.tokenizer!r}")
        records = list(records)
        self.device_ = resolve_device(self.device)
        set_threads(self.threads)
        seed_everything(self.seed)
        snapshot = resume_dir(self.resume, self.run_dir)
        if snapshot is not None:
            self._restore(snapshot)
        else:
            self._build(records if vocabulary_records is None else list(vocabulary_records), field, tokenizer)
        if tokenizer is not None:
            self.tokenizer_ = tokenizer
        train = self._windows(records, field, keep_tail=False)
        if len(train.stream) == len(records):  # <eos> after each record, and nothing else
            raise LMError("no tokens to train on: the corpus is empty")
        self.train_tokens_ = len(train.stream)  # each record's tokens and the <eos> after it
        valid_windows = self._windows(list(valid), field, keep_tail=True) if valid else None
        self._fingerprint = fingerprint(records)
        self.module_ = self.module_.to(self.device_)
        started = time.perf_counter()
        result = train_loop(LMTask(self, train, valid_windows), self, self.device_, RunDirectory(self.run_dir, self._write),
                            self._fingerprint, resume_from=snapshot, progress=self.show_progress,
                            on_step=lambda state: after_step(state),  # looked up at each call: tests replace it
                            time_budget=self.time_budget)
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _build(self, records, field: str, tokenizer=None) -> None:
        import torch

        from nlpkit.lm.modules import LanguageModelNet
        from nlpkit.lm.tokenizer import build_tokenizer

        self.tokenizer_ = tokenizer if tokenizer is not None else build_tokenizer(
            self.tokenizer, records, field, self.vocab_size, self.min_count)
        keyed_vectors = self._load_vectors()
        self.shape_ = {
            "arch": self.arch, "vocab_size": len(self.tokenizer_),
            "dim": keyed_vectors.vector_size if keyed_vectors is not None else self.dim, "hidden": self.hidden,
            "layers": self.layers, "heads": self.heads, "context": self.context, "positions": self.positions,
            "dropout": self.dropout, "emb_dropout": self.emb_dropout, "tie_weights": self.tie_weights,
            "adaptive_softmax": self.adaptive_softmax, "cutoffs": self.cutoffs, "pad_id": self.tokenizer_.pad_id,
            "eos_id": self.tokenizer_.eos_id, "tokenizer": self.tokenizer_.kind,
        }
        self.module_ = LanguageModelNet(self.shape_)
        if keyed_vectors is not None:
            from nlpkit.training.embeddings import init_embeddings

            embedding = self.module_.encoder.embedding
            self.vectors_found_ = init_embeddings(embedding, self.tokenizer_.vocab, keyed_vectors)
            # to the N(0, 1) scale of the embedding's own init (Word2Vec's entries are ~10x smaller), so that
            # the LSTM's weights meet inputs of the size they were initialised for; the directions are the vectors'
            with torch.no_grad():
                embedding.weight.mul_(1.0 / float(embedding.weight[3:].std()))

    def _load_vectors(self):
        """The word vectors to start the embedding from (None without `vectors`); a word vocabulary only."""
        if not self.vectors:
            return None
        if self.tokenizer != "word":
            raise LMUsageError("--vectors starts a word vocabulary's embedding; it does not fit --tokenizer wordpiece")
        from nlpkit.embeddings.vectors import load_vectors

        return load_vectors(self.vectors)

    def _windows(self, records, field: str, keep_tail: bool) -> "Windows":
        stream: list[int] = []
        for record in records:
            stream += self.tokenizer_.encode(record, field)
            stream.append(self.tokenizer_.eos_id)
        return Windows(stream, self.context, self.tokenizer_.pad_id, keep_tail)

    # -- files

    def _write(self, directory: Path, metrics: dict, run_files: bool = False) -> None:
        """A complete LM directory (the loop's snapshots; with `run_files`, the final one, which also
        holds the run's snapshots and metrics.jsonl). The manifest, written last, seals every file."""
        from safetensors.torch import save_model

        save_model(self.module_, str(directory / WEIGHTS))
        self.tokenizer_.save(directory)
        write_json(directory / SHAPE, self.shape_)
        if run_files:
            carry_run_files(self.run_dir, directory)
        write_json(directory / MANIFEST, seal(directory, {
            "format_version": FORMAT_VERSION, "kind": KIND, "arch": self.shape_["arch"], "params": self.get_params(),
            "vocab_size": self.shape_["vocab_size"], "tokenizer": self.shape_["tokenizer"], "metrics": metrics,
            "versions": library_versions("torch", "safetensors", "tokenizers"),
            "data_fingerprint": getattr(self, "_fingerprint", None),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }, MANIFEST))

    def save(self, directory: str | Path) -> Path:
        metrics = {"epochs": len(getattr(self, "history_", [])), "best_epoch": getattr(self, "best_epoch_", None),
                   "history": getattr(self, "history_", []), "fit_seconds": round(getattr(self, "fit_seconds_", 0.0), 3)}
        with AtomicDirectory(directory) as tmp:
            self._write(tmp, metrics, run_files=True)
        return Path(directory)

    def _restore(self, directory: Path) -> None:
        """Tokenizer, shape and module with the directory's weights."""
        from safetensors.torch import load_model

        from nlpkit.lm.modules import LanguageModelNet
        from nlpkit.lm.tokenizer import load_tokenizer

        self.shape_ = json.loads((directory / SHAPE).read_text(encoding="utf-8"))
        self.tokenizer_ = load_tokenizer(self.shape_["tokenizer"], directory)
        self.module_ = LanguageModelNet(self.shape_)
        load_model(self.module_, str(directory / WEIGHTS))

    @classmethod
    def load(cls, directory: str | Path, device: str = "auto", threads: int | None = None) -> "LanguageModel":
        from nlpkit.device import resolve_device, set_threads

        directory = Path(directory)
        manifest = read_manifest(directory)
        if manifest.get("kind") != KIND:
            raise LMError(f"{directory}: not a language model (a {manifest.get('kind')!r} model directory; "
                          "train one with nlpkit lm train)")
        model = cls(**{**manifest["params"], "device": device, "threads": threads})
        from safetensors import SafetensorError

        try:
            model._restore(directory)
        except (FileNotFoundError, KeyError, TypeError, ValueError, OSError, RuntimeError, SafetensorError) as e:
            raise LMError(f"{directory}: damaged language model directory ({type(e).__name__}: {e})") from None
        model.metrics_ = manifest.get("metrics", {})
        model.device_ = resolve_device(device)
        set_threads(threads)
        model.module_.to(model.device_).eval()
        return model

    # -- use

    @property
    def vocab_size_(self) -> int:
        return self.shape_["vocab_size"]

    def encode_prompt(self, record: dict, field: str = "text") -> list[int]:
        """<eos> w_1 ... w_n: a record's text as the context to continue."""
        return [self.tokenizer_.eos_id, *self.tokenizer_.encode(record, field)]

    def score(self, records, field: str = "text", batch_size: int = 32) -> list[tuple[float, int]]:
        """(negative log-likelihood in nats, tokens) of each record on its own (see the module docstring)."""
        return score_records(self, records, field, batch_size)


def score_records(model: LanguageModel, records, field: str = "text", batch_size: int = 32) -> list[tuple[float, int]]:
    """What LanguageModel.score returns: each record as <eos> w_1 ... w_n <eos>, in windows of the context."""
    eos, context = model.tokenizer_.eos_id, model.shape_["context"]
    windows, owners = [], []  # windows of context + 1 tokens, and the record each belongs to
    for i, record in enumerate(records):
        ids = [eos, *model.tokenizer_.encode(record, field), eos]
        for start in range(0, len(ids) - 1, context):
            windows.append(ids[start : start + context + 1])
            owners.append(i)
    nll, counts = [0.0] * len(records), [0] * len(records)
    for window, owner, log_prob in zip(windows, owners, window_log_probs(model, windows, batch_size)):
        nll[owner] -= log_prob
        counts[owner] += len(window) - 1
    return list(zip(nll, counts))


def window_log_probs(model: LanguageModel, windows: list[list[int]], batch_size: int) -> list[float]:
    """log P(w_1..w_k | w_0) of each window w_0..w_k, computed in length-sorted batches, in input order."""
    import torch

    from nlpkit.training.batching import sorted_batches

    collate, module = WindowCollate(model.tokenizer_.pad_id), model.module_
    was_training = module.training
    module.eval()
    out = [0.0] * len(windows)
    with torch.inference_mode():
        for batch in sorted_batches([len(w) for w in windows], batch_size):
            tensors = collate([windows[j] for j in batch])
            sums = module.token_log_probs(tensors["input_ids"].to(model.device_), tensors["targets"].to(model.device_)).sum(1)
            for j, value in zip(batch, sums.tolist()):
                out[j] = value
    module.train(was_training)
    return out


def perplexity(nll: float, tokens: int) -> float:
    return math.exp(nll / tokens) if tokens else float("nan")


class Windows:
    """A token stream cut into windows of `context` inputs and the `context` targets after them."""

    def __init__(self, stream: list[int], context: int, pad_id: int, keep_tail: bool):
        self.stream, self.context, self.pad_id = stream, context, pad_id
        last = len(stream) - 1  # the last token is only a target
        starts = range(0, max(0, last), context)
        self.starts = [s for s in starts if keep_tail or s + context <= last] or ([0] if last > 0 else [])

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i):
        s = self.starts[i]
        return self.stream[s : s + self.context + 1]


@dataclass
class WindowCollate:
    pad_id: int

    def __call__(self, windows):
        import torch

        from nlpkit.lm.modules import IGNORE

        width = max(len(w) for w in windows) - 1
        inputs = torch.full((len(windows), width), self.pad_id, dtype=torch.long)
        targets = torch.full((len(windows), width), IGNORE, dtype=torch.long)
        for row, w in enumerate(windows):
            inputs[row, : len(w) - 1] = torch.tensor(w[:-1])
            targets[row, : len(w) - 1] = torch.tensor(w[1:])
        return {"input_ids": inputs, "targets": targets}


class LMTask:
    """The loop's view of a language model being trained: next-token cross-entropy over windows."""

    unit = "tokens"

    def __init__(self, model: LanguageModel, train: Windows, valid: Windows | None):
        self.model, self.valid = model, valid
        self.name = f"lm {model.arch}"
        self.module, self.dataset, self.collate = model.module_, train, WindowCollate(model.tokenizer_.pad_id)

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        order = np.random.default_rng(self.model.seed * 1000 + epoch).permutation(len(self.dataset)).tolist()
        size = self.model.batch_size
        return [order[i : i + size] for i in range(0, len(order), size)]

    def start_epoch(self, epoch: int) -> None:
        pass

    def loss(self, module, batch):
        from nlpkit.lm.modules import IGNORE

        targets = batch["targets"]
        return module.loss(batch["input_ids"], targets), int((targets != IGNORE).sum())

    def validate(self) -> dict:
        if self.valid is None or not len(self.valid):
            return {}
        windows = [self.valid[i] for i in range(len(self.valid))]
        nll = -sum(window_log_probs(self.model, windows, self.model.batch_size))
        tokens = sum(len(w) - 1 for w in windows)
        return {"valid_loss": nll / tokens, "valid_perplexity": math.exp(nll / tokens)}

    def make_optimizer(self, module):
        return adamw(module, self.model.lr, self.model.weight_decay)

    def make_scheduler(self, optimizer, total_steps: int):
        return warmup_then_decay(optimizer, int(self.model.warmup * total_steps), total_steps, self.model.schedule)

    def load_module_state(self, snapshot: Path) -> None:
        from safetensors.torch import load_model

        load_model(self.module, str(snapshot / WEIGHTS))

"""The models a server holds: each loaded once per worker process, never unpickled."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlpkit.errors import UsageError
from nlpkit.models.inference import NEURAL_KINDS
from nlpkit.serve.pipelines import Served, served_path

EXPLAIN_WORDS = 10
LM_KIND = "lm"  # a language model's nlpkit.json kind: served to /v1/run's lm stages, not to /v1/predict


class ServeError(UsageError):
    """A server set-up the user must change (two models of one name, ...): a usage error."""


def parse_model_spec(spec: str, option: str = "--model") -> tuple[str, str]:
    """``NAME=DIR`` or ``DIR`` (named after its last path component)."""
    name, sep, directory = spec.partition("=")
    if not sep:
        directory = spec
        name = Path(spec.rstrip("/")).name or spec
    if not name or not directory:
        raise ServeError(f"{option} {spec!r}: expected PATH or NAME=PATH")
    return name, directory


@dataclass
class ServedModel:
    name: str
    directory: str
    manifest: dict
    model: object  # a Classifier
    batcher: object | None = None  # a MicroBatcher for the neural kinds
    _weights: dict | None = field(default=None, repr=False)
    _weights_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def labels(self) -> list[str]:
        return list(self.model.labels_)

    @property
    def neural(self) -> bool:
        return self.manifest["kind"] in NEURAL_KINDS

    @property
    def explains(self) -> bool:
        return hasattr(self.model, "top_features")

    async def predict_proba(self, inputs: list[dict]) -> list:
        if self.batcher is not None:
            return await self.batcher.submit(inputs)
        from starlette.concurrency import run_in_threadpool

        return list(await run_in_threadpool(self.model.predict_proba, inputs))

    def _label_weights(self) -> dict:
        """Each label's weight per feature, built once: concurrent first calls wait for the one
        building it, and the table is published only when every label is in it."""
        with self._weights_lock:
            if self._weights is None:
                vocabulary = self.model.vectorizer_.vocabulary
                index = {name: i for i, name in enumerate(vocabulary)}
                weights = {}
                for name, sides in self.model.top_features(len(vocabulary)).items():
                    row = np.zeros(len(vocabulary))
                    for feature, weight in sides["positive"]:
                        row[index[feature]] = weight
                    weights[name] = row
                self._weights = weights
            return self._weights

    def words_that_weighed(self, model_input: dict, label: str, k: int = EXPLAIN_WORDS) -> list[dict]:
        """The words (features) of this text that pushed most towards `label`: inspect's weights
        (``top_features``) times the text's feature values."""
        weights = self._label_weights()[label]
        features = self.model.vectorizer_.transform([model_input]).tocsr()
        contributions = [(float(value * weights[j]), int(j)) for j, value in zip(features.indices, features.data)]
        contributions.sort(key=lambda c: -c[0])
        vocabulary = self.model.vectorizer_.vocabulary
        return [{"word": str(vocabulary[j]), "weight": round(w, 6)} for w, j in contributions[:k] if w > 0]


def load_served_models(specs: list[str], quantize: str | None = None, runtime: str = "torch") -> list[ServedModel]:
    """Load each ``[NAME=]DIR`` (classifiers); --quantize / --runtime apply to the neural ones."""
    return load_served(specs, quantize=quantize, runtime=runtime)[0]


def load_served(specs: list[str], vector_specs: list[str] = (), quantize: str | None = None,
                runtime: str = "torch") -> tuple[list[ServedModel], Served]:
    """Every ``--model [NAME=]DIR`` and ``--vectors [NAME=]PATH``, each loaded once (a damaged one fails
    here, as one line): the classifiers to predict with, and what /v1/run may use by name (the
    classifiers, the language models among the models, the vectors)."""
    from nlpkit.modeldir import read_manifest
    from nlpkit.models.inference import load_for_inference

    served, resources, names = [], Served(), set()
    for spec in specs:
        name, directory = parse_model_spec(spec)
        if name in names:
            raise ServeError(f"two models are named {name!r}; name them with --model NAME=DIR")
        names.add(name)
        manifest = read_manifest(directory)
        if manifest["kind"] == LM_KIND:  # for /v1/run's lm stages only
            from nlpkit.lm.model import LanguageModel

            LanguageModel.load(directory)
            resources.lm[name] = served_path(directory)
            continue
        neural = manifest["kind"] in NEURAL_KINDS
        model = load_for_inference(directory, quantize=quantize if neural else None, runtime=runtime if neural else "torch")
        served.append(ServedModel(name, str(directory), manifest, model))
    for spec in vector_specs:
        from nlpkit.embeddings.vectors import load_vectors

        name, path = parse_model_spec(spec, "--vectors")
        if name in resources.vectors:
            raise ServeError(f"two vectors are named {name!r}; name them with --vectors NAME=PATH")
        load_vectors(path)
        resources.vectors[name] = served_path(path)
    return served, resources


async def start_batchers(served: list[ServedModel], settings, metrics) -> None:
    """A micro-batcher per neural model (called inside the server's event loop)."""
    from nlpkit.serve.batching import MicroBatcher

    for m in served:
        if not m.neural:
            continue
        m.batcher = MicroBatcher(
            m.model.predict_proba, max_batch=settings.max_batch, max_wait_s=settings.max_wait_ms / 1000,
            max_queue=settings.max_queue, length=_input_length,
            on_batch=lambda size, name=m.name: metrics.observe_batch(name, size),
        )
        metrics.queue_depth[m.name] = lambda b=m.batcher: b.pending
        await m.batcher.start()


async def stop_batchers(served: list[ServedModel]) -> None:
    await asyncio.gather(*(m.batcher.stop() for m in served if m.batcher is not None))


def _input_length(model_input: dict) -> int:
    tokens = model_input.get("tokens")
    return len(tokens) if tokens is not None else len(model_input.get("text", "").split())

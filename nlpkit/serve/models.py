"""The models a server holds: each loaded once per worker process, never unpickled."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlpkit.errors import UsageError
from nlpkit.models.inference import NEURAL_KINDS

EXPLAIN_WORDS = 10


class ServeError(UsageError):
    """A server set-up the user must change (two models of one name, ...): a usage error."""


def parse_model_spec(spec: str) -> tuple[str, str]:
    """``NAME=DIR`` or ``DIR`` (named after its last path component)."""
    name, sep, directory = spec.partition("=")
    if not sep:
        directory = spec
        name = Path(spec.rstrip("/")).name or spec
    if not name or not directory:
        raise ServeError(f"--model {spec!r}: expected DIR or NAME=DIR")
    return name, directory


@dataclass
class ServedModel:
    name: str
    directory: str
    manifest: dict
    model: object  # a Classifier
    batcher: object | None = None  # a MicroBatcher for the neural kinds
    _weights: dict | None = field(default=None, repr=False)

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

    def words_that_weighed(self, model_input: dict, label: str, k: int = EXPLAIN_WORDS) -> list[dict]:
        """The words (features) of this text that pushed most towards `label`: inspect's weights
        (``top_features``) times the text's feature values."""
        if self._weights is None:
            vocabulary = self.model.vectorizer_.vocabulary
            index = {name: i for i, name in enumerate(vocabulary)}
            self._weights = {}
            for name, sides in self.model.top_features(len(vocabulary)).items():
                row = np.zeros(len(vocabulary))
                for feature, weight in sides["positive"]:
                    row[index[feature]] = weight
                self._weights[name] = row
        features = self.model.vectorizer_.transform([model_input]).tocsr()
        weights = self._weights[label]
        contributions = [(float(value * weights[j]), int(j)) for j, value in zip(features.indices, features.data)]
        contributions.sort(key=lambda c: -c[0])
        vocabulary = self.model.vectorizer_.vocabulary
        return [{"word": str(vocabulary[j]), "weight": round(w, 6)} for w, j in contributions[:k] if w > 0]


def load_served_models(specs: list[str], quantize: str | None = None, runtime: str = "torch") -> list[ServedModel]:
    """Load each ``[NAME=]DIR``; --quantize / --runtime apply to the neural ones."""
    from nlpkit.modeldir import read_manifest
    from nlpkit.models.inference import load_for_inference

    served, names = [], set()
    for spec in specs:
        name, directory = parse_model_spec(spec)
        if name in names:
            raise ServeError(f"two models are named {name!r}; name them with --model NAME=DIR")
        names.add(name)
        manifest = read_manifest(directory)
        neural = manifest["kind"] in NEURAL_KINDS
        model = load_for_inference(directory, quantize=quantize if neural else None, runtime=runtime if neural else "torch")
        served.append(ServedModel(name, str(directory), manifest, model))
    return served


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

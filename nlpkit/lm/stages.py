"""Record stages over a language model: ``generated`` (lm generate) and ``perplexity`` (lm perplexity --per-record).

Each stage loads the model once per process (:meth:`setup`) and passes every other
field of a record through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nlpkit.device import device_param, threads_param
from nlpkit.errors import RecordError, UsageError
from nlpkit.io import Writer
from nlpkit.lm.decoding import Decoding
from nlpkit.params import FLAG, nested, param
from nlpkit.records import Record
from nlpkit.stage import Stage


def lm_model_param():
    return param(None, flag="--model", path="dir", exists=True, required=True, help="Language model directory.")


@dataclass
class PerplexityOptions:
    model_dir: str = lm_model_param()
    per_record: bool = param(False, style=FLAG,
                             help="Write each record with a `perplexity` field (a filter), not the corpus figure.")
    as_json: bool = param(False, style=FLAG, flag="--json", help="The corpus figures as JSON.")
    device: str = device_param()
    threads: int | None = threads_param()

    def build(self, field: str = "text") -> PerplexityStage:
        """The stage as a filter of records, which it is only with --per-record."""
        if not self.per_record or self.as_json:
            raise UsageError("lm perplexity streams records only with --per-record (the corpus figure is not a record)")
        return self.scorer(field)

    def scorer(self, field: str = "text") -> PerplexityStage:
        """The stage that scores each record (the command adds the scores up without --per-record)."""
        return PerplexityStage(self.model_dir, field=field, device=self.device, threads=self.threads)


@dataclass
class GenerateOptions:
    model_dir: str = lm_model_param()
    prompt: str | None = param(None, help="The prompt (in place of each record's text); alone, without INPUTS, one record "
                                          "is written.")
    decoding: Decoding = nested(Decoding)
    device: str = device_param()
    threads: int | None = threads_param()

    def build(self, field: str = "text") -> GenerateStage:
        self.decoding.check()
        return GenerateStage(self.model_dir, self.decoding, prompt=self.prompt, field=field, device=self.device,
                             threads=self.threads)


class _LMStage(Stage):
    batch_size = 32

    def __init__(self, model_dir: str, field: str = "text", device: str = "auto", threads: int | None = None):
        self.model_dir, self.field, self.device, self.threads = model_dir, field, device, threads

    def setup(self) -> None:
        from nlpkit.lm.model import LanguageModel

        self._model = LanguageModel.load(self.model_dir, device=self.device, threads=self.threads)


class GenerateStage(_LMStage):
    """Continue each record's text (or `prompt`, the same for every record) into a ``generated`` field.

    A prompt longer than the model's context keeps its last ``context`` tokens, and the
    record gets ``prompt_truncated``: how many tokens were dropped."""

    main_field = "generated"

    def __init__(self, model_dir: str, decoding, prompt: str | None = None, field: str = "text",
                 device: str = "auto", threads: int | None = None):
        super().__init__(model_dir, field, device, threads)
        self.decoding, self.prompt = decoding, prompt

    def process(self, records: list[Record]) -> list[Record]:
        from nlpkit.lm.decoding import fit_context, generate

        self.ensure_setup()
        model = self._model
        prompts, dropped = [], []
        for record in records:
            source, field = ({"text": self.prompt}, "text") if self.prompt is not None else (record, self.field)
            ids = model.encode_prompt(source, field)
            kept = fit_context(ids, model.shape_["context"])[0]
            prompts.append(kept)
            dropped.append(len(ids) - len(kept))
        continuations = generate(model, prompts, self.decoding, batch_size=len(prompts))
        return [{**record, "generated": model.tokenizer_.decode(ids), **({"prompt_truncated": cut} if cut else {})}
                for record, ids, cut in zip(records, continuations, dropped)]


class PerplexityStage(_LMStage):
    """Add each record's ``perplexity`` under the model (and the ``tokens`` it was measured on as ``lm_tokens``)."""

    main_field = "perplexity"

    def process(self, records: list[Record]) -> list[Record]:
        from nlpkit.lm.model import perplexity

        self.ensure_setup()
        scores = self._model.score(records, self.field, batch_size=self.batch_size)
        return [{**record, "perplexity": round(perplexity(nll, n), 4), "lm_tokens": n}
                for record, (nll, n) in zip(records, scores)]


class CountingWriter(Writer):
    """Passes records to another writer, counting those whose prompt was truncated."""

    def __init__(self, inner: Writer):
        self.inner, self.truncated = inner, 0

    def write(self, records) -> None:
        records = list(records)
        self.truncated += sum(1 for r in records if r.get("prompt_truncated"))
        self.inner.write(records)

    def close(self) -> None:
        self.inner.close()


def generate_one(stage: GenerateStage, output: str, output_format: str) -> int:
    """Write the one record {"prompt", "generated"} of a --prompt without inputs; the truncated count."""
    import io as _io

    from nlpkit.files import atomic_write_bytes
    from nlpkit.io import make_writer, open_output

    [record] = stage.process([{"prompt": stage.prompt}])
    buffer = _io.BytesIO()
    make_writer(output_format, buffer, main_field=stage.main_field).write([record])
    if output in (None, "-"):
        stream = open_output("-")
        stream.write(buffer.getvalue())
        stream.flush()
    else:
        atomic_write_bytes(Path(output), buffer.getvalue())
    return 1 if record.get("prompt_truncated") else 0


def corpus_perplexity(stage: PerplexityStage, inputs, *, lines: bool = False, input_format: str = "auto",
                      batch_size: int | None = None) -> dict:
    """The corpus figures: perplexity, cross-entropy (nats and bits per token), tokens, records, vocabulary size."""
    import math

    from nlpkit.errors import InputError
    from nlpkit.io import batched, iter_records, read_items
    from nlpkit.lm.model import perplexity

    stage.ensure_setup()
    model = stage._model
    nll, tokens, n_records = 0.0, 0, 0
    items = read_items(list(inputs), field=stage.field, lines=lines, input_format=input_format)
    for batch in batched(items, batch_size or stage.batch_size):
        records = list(iter_records(batch))
        try:
            scores = model.score([r for _, r in records], stage.field, batch_size=batch_size or stage.batch_size)
        except RecordError:
            for location, record in records:  # find the bad one, to say where it is
                try:
                    model.score([record], stage.field)
                except RecordError as e:
                    raise InputError(location, str(e)) from None
            raise
        nll += sum(s for s, _ in scores)
        tokens += sum(n for _, n in scores)
        n_records += len(records)
    if not tokens:
        raise InputError(", ".join(inputs) or "-", "no records to measure perplexity on")
    return {"perplexity": perplexity(nll, tokens), "cross_entropy": nll / tokens, "bits_per_token": nll / tokens / math.log(2),
            "tokens": tokens, "records": n_records, "vocab_size": model.vocab_size_, "model": stage.model_dir}

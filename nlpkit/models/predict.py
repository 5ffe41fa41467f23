"""The ``predict`` stage: any saved model over a record stream, adding ``pred`` and ``probs``."""

from __future__ import annotations

from dataclasses import dataclass

from nlpkit.models.inference import QUANTIZE_CHOICES, RUNTIMES, check_inference_options
from nlpkit.params import param, values
from nlpkit.records import model_input
from nlpkit.stage import Stage

PROB_DIGITS = 6


@dataclass
class PredictOptions:
    """Add each record's predicted label (`pred`) and class probabilities (`probs`).

    Works with every model kind; records keep their order and other fields.

    \b
      nlpkit predict --model models/lr test.jsonl.gz --format text | sort | uniq -c
      nlpkit predict --model models/bert --quantize int8 test.jsonl.gz
      nlpkit export --format onnx --model models/bert && nlpkit predict --model models/bert --runtime onnx test.jsonl.gz
    """

    model_dir: str = param(None, flag="--model", path="dir", required=True, help="Model directory (from `nlpkit train`).")
    quantize: str | None = param(None, choices=QUANTIZE_CHOICES,
                                 help="Neural kinds: int8 dynamic quantization of the Linear and LSTM/GRU layers (faster on CPU).")
    runtime: str = param("torch", choices=RUNTIMES, show_default=True,
                         help="Neural kinds: onnx runs the graph `nlpkit export --format onnx` wrote, through onnxruntime.")

    def build(self, field: str = "text") -> PredictStage:
        # a missing or damaged model, or a missing export, fails before any input is read
        check_inference_options(self.model_dir, self.quantize, self.runtime)
        return PredictStage(field=field, **values(self))


def prediction_record(record: dict, labels, row) -> dict:
    """`record` with ``pred`` (the most probable label) and ``probs`` ({label: probability}) added."""
    best = int(row.argmax())
    return {**record, "pred": labels[best],
            "probs": {label: round(float(p), PROB_DIGITS) for label, p in zip(labels, row)}}


class PredictStage(Stage):
    """Adds ``pred`` (the most probable label) and ``probs`` ({label: probability}).

    The model is loaded once per process in :meth:`setup`; each batch is one
    ``predict_proba`` call (neural kinds sort by length inside it). ``quantize`` and
    ``runtime`` choose the faster CPU paths of nlpkit.models.inference.
    """

    batch_size = 512
    main_field = "pred"

    def __init__(self, model_dir: str, field: str = "text", quantize: str | None = None, runtime: str = "torch"):
        self.model_dir = str(model_dir)
        self.field = field
        self.quantize = quantize
        self.runtime = runtime

    def setup(self) -> None:
        from nlpkit.models.inference import load_for_inference

        self._model = load_for_inference(self.model_dir, quantize=self.quantize, runtime=self.runtime)

    def process(self, records):
        inputs = [model_input(r, self.field) for r in records]
        probs = self._model.predict_proba(inputs)
        labels = self._model.labels_
        return [prediction_record(record, labels, row) for record, row in zip(records, probs)]

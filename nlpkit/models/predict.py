"""The ``predict`` stage: any saved model over a record stream, adding ``pred`` and ``probs``.

``pred`` is the most probable label, or, for a two-label model with a saved threshold
(``nlpkit threshold --save``), the threshold's label where its probability is at least the
threshold (the record then says so in ``threshold``: {"label", "value"}). With
``min_confidence``, a record whose predicted label's probability is below it gets
``"pred": null``: the model abstains, and a person or another program decides.
"""

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

    Works with every model kind; records keep their order and other fields. The
    probabilities are the calibrated ones where the model was calibrated (`train
    --calibrate`, `nlpkit calibrate`); a threshold saved by `nlpkit threshold --save`
    decides `pred` of a two-label model, and each record names it in `threshold`.

    \b
      nlpkit predict --model models/lr test.jsonl.gz --format text | sort | uniq -c
      nlpkit predict --model models/bert --quantize int8 test.jsonl.gz
      nlpkit predict --model models/lr --min-confidence 0.9 test.jsonl.gz > routed.jsonl
      nlpkit export --format onnx --model models/bert && nlpkit predict --model models/bert --runtime onnx test.jsonl.gz
    """

    model_dir: str = param(None, flag="--model", path="dir", required=True, help="Model directory (from `nlpkit train`).")
    quantize: str | None = param(None, choices=QUANTIZE_CHOICES,
                                 help="Neural kinds: int8 dynamic quantization of the Linear and LSTM/GRU layers (faster on CPU).")
    runtime: str = param("torch", choices=RUNTIMES, show_default=True,
                         help="Neural kinds: onnx runs the graph `nlpkit export --format onnx` wrote, through onnxruntime.")
    min_confidence: float | None = param(None, type=float, min=0, max=1, metavar="P",
                                         help="Abstain below P: write \"pred\": null where the predicted label's "
                                              "probability is under P, and count those on stderr.")

    def build(self, field: str = "text") -> PredictStage:
        # a missing or damaged model, or a missing export, fails before any input is read
        check_inference_options(self.model_dir, self.quantize, self.runtime)
        return PredictStage(field=field, **values(self))


def prediction_record(record: dict, labels, row, min_confidence: float | None = None) -> dict:
    """`record` with ``pred`` (see the module docstring) and ``probs`` ({label: probability}) added;
    ``threshold`` too where `labels` (nlpkit.decisions.Labels) carry a saved threshold."""
    import numpy as np

    from nlpkit.decisions import decide

    row = np.asarray(row)
    best = int(decide(row[None, :], labels)[0])
    pred = labels[best] if min_confidence is None or row[best] >= min_confidence else None
    out = {**record, "pred": pred, "probs": {label: round(float(p), PROB_DIGITS) for label, p in zip(labels, row)}}
    rule = getattr(labels, "threshold", None)
    if rule is not None:
        out["threshold"] = {"label": rule["label"], "value": rule["threshold"]}
    return out


class PredictStage(Stage):
    """Adds ``pred`` (the most probable label) and ``probs`` ({label: probability}).

    The model is loaded once per process in :meth:`setup`; each batch is one
    ``predict_proba`` call (neural kinds sort by length inside it). ``quantize`` and
    ``runtime`` choose the faster CPU paths of nlpkit.models.inference.
    """

    batch_size = 512
    main_field = "pred"

    def __init__(self, model_dir: str, field: str = "text", quantize: str | None = None, runtime: str = "torch",
                 min_confidence: float | None = None):
        self.model_dir = str(model_dir)
        self.field = field
        self.quantize = quantize
        self.runtime = runtime
        self.min_confidence = min_confidence

    def setup(self) -> None:
        from nlpkit.models.inference import load_for_inference

        self._model = load_for_inference(self.model_dir, quantize=self.quantize, runtime=self.runtime)

    def process(self, records):
        inputs = [model_input(r, self.field) for r in records]
        probs = self._model.predict_proba(inputs)
        labels = self._model.labels_
        return [prediction_record(record, labels, row, self.min_confidence) for record, row in zip(records, probs)]

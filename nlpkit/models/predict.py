"""The ``predict`` stage: any saved model over a record stream, adding ``pred`` and ``probs``.

``pred`` is the most probable label, or, for a two-label model with a saved threshold
(``nlpkit threshold --save``), the threshold's label where its probability is at least the
threshold (the record then says so in ``threshold``: {"label", "value"}). With
``min_confidence``, a record whose predicted label's probability is below it gets
``"pred": null``: the model abstains, and a person or another program decides.
"""

from __future__ import annotations

from nlpkit.records import model_input
from nlpkit.stage import Stage

PROB_DIGITS = 6


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

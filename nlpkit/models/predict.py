"""The ``predict`` stage: any saved model over a record stream, adding ``pred`` and ``probs``."""

from __future__ import annotations

from nlpkit.models.base import load_model
from nlpkit.records import model_input
from nlpkit.stage import Stage

PROB_DIGITS = 6


class PredictStage(Stage):
    """Adds ``pred`` (the most probable label) and ``probs`` ({label: probability}).

    The model is loaded once per process in :meth:`setup`; each batch is one
    ``predict_proba`` call (neural kinds sort by length inside it).
    """

    batch_size = 512
    main_field = "pred"

    def __init__(self, model_dir: str, field: str = "text"):
        self.model_dir = str(model_dir)
        self.field = field

    def setup(self) -> None:
        self._model = load_model(self.model_dir)

    def process(self, records):
        inputs = [model_input(r, self.field) for r in records]
        probs = self._model.predict_proba(inputs)
        labels = self._model.labels_
        out = []
        for record, row in zip(records, probs):
            best = int(row.argmax())
            out.append({**record, "pred": labels[best],
                        "probs": {label: round(float(p), PROB_DIGITS) for label, p in zip(labels, row)}})
        return out

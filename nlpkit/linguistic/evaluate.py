"""Score a predicted CoNLL-U file against a gold one, on gold tokenization.

The metrics are those of the CoNLL 2018 shared task evaluation script
(conll18_ud_eval.py) restricted to the case where the system was given the
gold words, so that every word aligns and precision = recall = accuracy:

- UPOS, XPOS: the tag matches;
- Lemmas: the lemma matches (a gold ``_`` accepts any lemma, as in the script);
- UAS: the head matches; LAS: the head and the relation, subtypes ignored
  (``nsubj:pass`` counts as ``nsubj``).

Words are compared across the whole file, not sentence by sentence, so a
prediction that splits sentences differently is still scored word by word
(heads are compared as positions in the file). Multiword-token lines and
empty nodes are not words here, as in the script.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nlpkit.errors import NlpkitError

METRICS = ("UPOS", "XPOS", "Lemmas", "UAS", "LAS")


@dataclass
class Word:
    form: str
    lemma: str
    upos: str
    xpos: str
    head: int | None  # position in the file of the head word; -1 for a root; None when unknown
    deprel: str
    location: str


def _words(path: str) -> Iterator[Word]:
    from nlpkit.linguistic.conllu import read_conllu_file
    from nlpkit.io import iter_records

    offset = 0
    for location, record in iter_records(read_conllu_file(path)):
        tokens = record["tokens"]
        n = len(tokens)
        lemma = record.get("lemma") or ["_"] * n
        upos = record.get("upos") or ["_"] * n
        xpos = record.get("pos") or ["_"] * n
        deps = record.get("deps")
        for i, form in enumerate(tokens):
            if deps:
                head = deps[i]["head"]
                absolute = -1 if head == i else offset + head
                deprel = deps[i]["dep"].split(":")[0]
            else:
                absolute, deprel = None, "_"
            yield Word(form, lemma[i], upos[i], xpos[i], absolute, deprel, location)
        offset += n


def evaluate_conllu(gold_path: str, pred_path: str) -> dict:
    """{"words": N, "sentences": ..., "UPOS": {"correct", "total", "accuracy"}, ...} for the two files."""
    correct = dict.fromkeys(METRICS, 0)
    total = 0
    gold_words, pred_words = _words(gold_path), _words(pred_path)
    while True:
        gold = next(gold_words, None)
        pred = next(pred_words, None)
        if gold is None and pred is None:
            break
        if gold is None or pred is None:
            longer, where = ("pred", pred.location) if gold is None else ("gold", gold.location)
            raise NlpkitError(
                f"{where}: the {longer} file has more words than the other ({total} words matched); "
                "evaluate-conllu needs the prediction made on the gold tokenization"
            )
        if gold.form != pred.form:
            raise NlpkitError(
                f"{pred.location}: word {total + 1} is {pred.form!r} but the gold file has {gold.form!r} "
                f"({gold.location}); evaluate-conllu needs the prediction made on the gold tokenization"
            )
        total += 1
        correct["UPOS"] += gold.upos == pred.upos
        correct["XPOS"] += gold.xpos == pred.xpos
        correct["Lemmas"] += gold.lemma == "_" or gold.lemma == pred.lemma
        head_ok = gold.head is not None and gold.head == pred.head
        correct["UAS"] += head_ok
        correct["LAS"] += head_ok and gold.deprel == pred.deprel
    if total == 0:
        raise NlpkitError(f"{gold_path}: no words to evaluate")
    return {
        "gold": str(gold_path),
        "pred": str(pred_path),
        "words": total,
        **{m: {"correct": correct[m], "total": total, "accuracy": correct[m] / total} for m in METRICS},
    }


def format_table(scores: dict) -> str:
    """The scores as a plain table (accuracy in percent, like the CoNLL 2018 script)."""
    lines = ["Metric     | Correct |   Words | Accuracy", "-----------+---------+---------+---------"]
    for metric in METRICS:
        s = scores[metric]
        lines.append(f"{metric:<10} | {s['correct']:>7} | {s['total']:>7} | {100 * s['accuracy']:>8.2f}")
    return "\n".join(lines)

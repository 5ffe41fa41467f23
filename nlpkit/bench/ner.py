"""`nlpkit bench ner`: named entities against Universal NER (or a CoNLL-2003 file), engines side by side.

Each engine reads the gold tokens (one sentence at a time), and its entities
are scored with :mod:`nlpkit.linguistic.ner_eval` (exact span and type, as
conlleval): per type, micro and macro. The engines' label sets are mapped onto
the gold's with the table in :data:`MAPPINGS`; a predicted label the gold does
not use (spaCy's DATE, MONEY...) is left out and counted in the report.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from nlpkit.bench.engines import Benchmark, Dataset, timed
from nlpkit.linguistic.ner_eval import Sentence, read_sentences, score_entities, tags_to_entities

UNER_COMMIT = "8ed072de2fd24022cc62458997fe96a8fe191ea4"
DATASET = Dataset(
    name="uner_en_ewt",
    shared={"dev": "dev.iob2"},
    released={split: f"en_ewt-ud-{split}.iob2" for split in ("dev", "test", "train")},
    url=f"https://raw.githubusercontent.com/UniversalNER/UNER_English-EWT/{UNER_COMMIT}/{{file}}",
    md5={},  # the shared dev copy is converted (two columns), not the released bytes
    description="Universal NER v1 English-EWT (Mayhew et al. 2024), CC BY-SA 4.0",
)

# engine label -> gold label. OntoNotes (spaCy) and ACE (NLTK) onto PER/ORG/LOC (+ MISC for CoNLL-2003 files);
# a mapped label the gold file never uses is ignored.
ONTONOTES = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC",
             "NORP": "MISC", "EVENT": "MISC", "WORK_OF_ART": "MISC", "LANGUAGE": "MISC", "PRODUCT": "MISC"}
ACE = {"PERSON": "PER", "ORGANIZATION": "ORG", "GPE": "LOC", "LOCATION": "LOC", "FACILITY": "LOC", "GSP": "LOC"}
MAPPINGS = {"spacy": ONTONOTES, "nltk": ACE}

# No published figure is on the same footing here (UNER's paper reports fine-tuned models on test);
# the report gives spaCy's own published NER scores (OntoNotes 5) from each pipeline's meta.json.
REFERENCES: dict = {}

NLTK_NER_DATA = {"maxent_ne_chunker_tab": "chunkers/maxent_ne_chunker_tab/english_ace_multiclass/",
                 "words": "corpora/words/"}


def nltk_missing() -> str | None:
    """Why NLTK's ne_chunk cannot run here (its data packages are missing), or None."""
    from nlpkit.resources import configure_nltk

    configure_nltk()
    import nltk

    missing = []
    for name, path in NLTK_NER_DATA.items():
        try:
            nltk.data.find(path)
        except LookupError:
            missing.append(name)
    if not missing:
        return None
    downloads = "; ".join(f"nltk.download('{name}')" for name in missing)
    return f"NLTK data {', '.join(missing)} not found (ne_chunk needs them); install with: python -c \"import nltk; {downloads}\""


def describe_data(path: Path, limit: int | None) -> dict:
    from collections import Counter

    sentences = _gold(path, limit)
    labels = Counter(e[0] for s in sentences for e in s.entities)
    return {"sentences": len(sentences), "words": sum(s.n_tokens or 0 for s in sentences),
            "entities": sum(labels.values()), "labels": dict(sorted(labels.items()))}


def _unavailable(engine) -> str | None:
    return nltk_missing() if engine.library == "nltk" else None


BENCHMARK = Benchmark(name="ner", dataset=DATASET, entry="nlpkit.bench.ner:run_engine", describe_data=describe_data,
                      references=REFERENCES, unavailable=_unavailable)


def _gold(path: Path, limit: int | None) -> list[Sentence]:
    sentences = read_sentences(str(path))
    return sentences[:limit] if limit else sentences


# --------------------------------------------------------------------------- engines


def spacy_entities(model: str):
    from nlpkit.linguistic.ner import NerStage

    stage = NerStage(model=model)
    stage.ensure_setup()

    def run(sentences: list[list[str]]) -> list[list[tuple[str, int, int]]]:
        return [[(e["label"], e["start"], e["end"]) for e in r["ents"]] for r in stage({"tokens": t} for t in sentences)]

    return run


def nltk_entities():
    from nltk.chunk import ne_chunker, tree2conlltags

    from nlpkit.text.perceptron import shared_tagger

    tagger, chunker = shared_tagger(), ne_chunker()  # NLTK's tagger and tags, batched

    def run(sentences: list[list[str]]) -> list[list[tuple[str, int, int]]]:
        return [tags_to_entities([iob for _, _, iob in tree2conlltags(chunker.parse(list(zip(t, tags))))]) if t else []
                for t, tags in zip(sentences, tagger.tag_sentences(sentences))]

    return run


def write_predictions(path: Path, token_lists: list[list[str]], entities: list[list[tuple[str, int, int]]]) -> None:
    """The engine's entities as nlpkit JSONL (its own labels), so evaluate-ner can score them again."""
    from nlpkit.files import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"tokens": tokens, "ents": [{"start": s, "end": e, "label": label} for label, s, e in ents]})
             for tokens, ents in zip(token_lists, entities)]
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))


def run_engine(spec: dict, emit) -> dict:
    emit("load")
    gold = _gold(Path(spec["data"]), spec.get("limit"))
    token_lists = [s.tokens or [] for s in gold]
    started = time.perf_counter()
    entities = nltk_entities() if spec["library"] == "nltk" else spacy_entities(spec["model"])
    load_seconds = time.perf_counter() - started
    entities(token_lists[:50])  # warm up
    emit("entities")
    predicted, seconds = timed(entities, token_lists)
    pred = [Sentence(g.location, g.n_tokens, ents) for g, ents in zip(gold, predicted)]
    write_predictions(Path(spec["predictions"]) / f"{spec['engine']}.jsonl", token_lists, predicted)
    mapping = MAPPINGS[spec["library"]]
    scores = score_entities(gold, pred, mapping)
    n_words = sum(len(t) for t in token_lists)
    result = {"engine": spec["engine"], "words": n_words, "scores": scores, "seconds": round(seconds, 3),
              "words_per_second": round(n_words / seconds), "load_seconds": round(load_seconds, 2)}
    if spec["library"] == "spacy":
        from nlpkit.bench.engines import spacy_meta

        result["spacy"] = spacy_meta(spec["model"])
    return result

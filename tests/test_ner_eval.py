"""evaluate-ner: entity-level scores equal seqeval's (default mode) on every input format; bad input is one line."""

from __future__ import annotations

import json
import random
import warnings
from pathlib import Path

import pytest

from nlpkit.linguistic.ner_eval import entities_to_tags, tags_to_entities

seqeval_metrics = pytest.importorskip("seqeval.metrics")

UNER_DEV = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "uner_en_ewt" / "dev.iob2"

TOKENS = [["John", "Smith", "lives", "in", "New", "York", "."],
          ["Acme", "Corp", "hired", "Mary", "."],
          ["Nothing", "here", "."],
          ["Paris", "and", "Rome", "and", "the", "UN", "met", "Bob", "Lee", "Ann", "."]]
GOLD_IOB2 = [["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC", "O"],
             ["B-ORG", "I-ORG", "O", "B-PER", "O"],
             ["O", "O", "O"],
             ["B-LOC", "O", "B-LOC", "O", "O", "B-ORG", "O", "B-PER", "I-PER", "B-PER", "O"]]
# wrong boundary, wrong type, a miss, an invention, an I- after O, and two adjacent PER split right
PRED_IOB2 = [["B-PER", "O", "O", "O", "B-LOC", "I-LOC", "O"],
             ["B-LOC", "I-LOC", "O", "I-PER", "O"],
             ["B-ORG", "O", "O"],
             ["B-LOC", "O", "O", "O", "O", "B-ORG", "O", "B-PER", "I-PER", "B-PER", "O"]]


def iob1(tags: list[str]) -> list[str]:
    """IOB2 -> IOB1: B- only where an entity follows one of the same type."""
    out = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-") and not (i and tags[i - 1] != "O" and tags[i - 1][2:] == tag[2:]):
            tag = "I-" + tag[2:]
        out.append(tag)
    return out


def bioes(tags: list[str]) -> list[str]:
    out = []
    for i, tag in enumerate(tags):
        follows = i + 1 < len(tags) and tags[i + 1].startswith("I-")
        if tag.startswith("B-"):
            tag = tag if follows else "S-" + tag[2:]
        elif tag.startswith("I-"):
            tag = tag if follows else "E-" + tag[2:]
        out.append(tag)
    return out


def write_columns(path: Path, sentences, tags, columns: str = "2") -> Path:
    lines = ["-DOCSTART- -X- -X- O", ""] if columns == "conll2003" else []
    for k, (tokens, sentence_tags) in enumerate(zip(sentences, tags)):
        if columns == "uner":
            lines += [f"# sent_id = s{k}", f"# text = {' '.join(tokens)}"]
        for i, (token, tag) in enumerate(zip(tokens, sentence_tags)):
            if columns == "conll2003":
                lines.append(f"{token} NNP B-NP {tag}")
            elif columns == "uner":
                lines.append(f"{i + 1}\t{token}\t{tag}\t-\t-")
            else:
                lines.append(f"{token}\t{tag}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, sentences, tags) -> Path:
    records = [{"tokens": tokens, "ents": [{"start": s, "end": e, "label": label}
                                           for label, s, e in tags_to_entities(t)]}
               for tokens, t in zip(sentences, tags)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def seqeval_scores(gold_tags, pred_tags) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division warnings for types with no prediction
        return seqeval_metrics.classification_report(gold_tags, pred_tags, output_dict=True, zero_division=0)


def assert_same_as_seqeval(ours: dict, gold_tags, pred_tags):
    theirs = seqeval_scores(gold_tags, pred_tags)
    for label, s in ours["types"].items():
        assert s["gold"] == theirs[label]["support"]
        for ours_key, their_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert s[ours_key] == pytest.approx(float(theirs[label][their_key]), abs=1e-12), (label, ours_key)
    for avg in ("micro", "macro"):
        for ours_key, their_key in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert ours[avg][ours_key] == pytest.approx(float(theirs[f"{avg} avg"][their_key]), abs=1e-12)
    assert set(ours["types"]) == {k for k in theirs if not k.endswith(" avg")}


def scores(invoke, gold: Path, pred: Path, *extra) -> dict:
    result = invoke("evaluate-ner", "--gold", gold, "--pred", pred, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_tags_to_entities_follows_conlleval_rules():
    assert tags_to_entities(["I-PER", "I-PER", "B-PER", "I-LOC", "E-LOC", "S-ORG", "O", "E-PER"]) == [
        ("PER", 0, 2), ("PER", 2, 3), ("LOC", 3, 5), ("ORG", 5, 6), ("PER", 7, 8)]
    assert entities_to_tags(4, [("LOC", 2, 4), ("PER", 0, 1)]) == ["B-PER", "O", "B-LOC", "I-LOC"]


@pytest.mark.parametrize("form", ["iob2", "iob1", "bioes", "conll2003", "uner", "jsonl"])
def test_equals_seqeval_on_every_format(invoke, tmp_path, form):
    convert = {"iob1": iob1, "bioes": bioes}.get(form, lambda t: t)
    gold_tags = [convert(t) for t in GOLD_IOB2]
    pred_tags = [convert(t) for t in PRED_IOB2]
    if form == "jsonl":
        gold = write_jsonl(tmp_path / "gold.jsonl", TOKENS, gold_tags)
        pred = write_jsonl(tmp_path / "pred.jsonl", TOKENS, pred_tags)
    else:
        columns = form if form in ("conll2003", "uner") else "2"
        gold = write_columns(tmp_path / "gold.txt", TOKENS, gold_tags, columns)
        pred = write_columns(tmp_path / "pred.txt", TOKENS, pred_tags, columns)
    ours = scores(invoke, gold, pred)
    assert_same_as_seqeval(ours, gold_tags, pred_tags)
    # the hand count: gold 9 entities, predicted 9, correct 6 (New York, Mary from I-PER after O, Paris, UN,
    # Bob Lee, Ann); wrong: John (boundary), Acme Corp (type), Nothing (invented); missed: Rome
    assert (ours["gold_entities"], ours["pred_entities"], ours["correct"]) == (9, 9, 6)
    assert ours["micro"]["f1"] == pytest.approx(6 / 9)
    assert (ours["sentences"], ours["tokens"]) == (4, 26)


def test_a_gold_file_in_one_format_against_a_prediction_in_another(invoke, tmp_path):
    gold = write_columns(tmp_path / "gold.iob2", TOKENS, GOLD_IOB2, "uner")
    pred = write_jsonl(tmp_path / "pred.jsonl", TOKENS, [bioes(t) for t in PRED_IOB2])
    assert_same_as_seqeval(scores(invoke, gold, pred), GOLD_IOB2, PRED_IOB2)


def test_equals_seqeval_on_the_real_dev_set_with_a_seeded_noisy_prediction(invoke, tmp_path):
    from nlpkit.linguistic.ner_eval import read_sentences

    if not UNER_DEV.is_file():
        pytest.skip("../shared/corpora/uner_en_ewt/dev.iob2 is not here")
    gold = read_sentences(str(UNER_DEV))[:600]
    rng = random.Random(0)
    choices = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    pred_tags = [[rng.choice(choices) if rng.random() < 0.04 else t for t in s.tags] for s in gold]
    gold_file = write_columns(tmp_path / "gold.iob2", [s.tokens for s in gold], [s.tags for s in gold])
    pred_file = write_columns(tmp_path / "pred.iob2", [s.tokens for s in gold], pred_tags)
    ours = scores(invoke, gold_file, pred_file)
    assert_same_as_seqeval(ours, [s.tags for s in gold], pred_tags)
    assert 0.3 < ours["micro"]["f1"] < 0.9


def test_gold_against_itself_is_one(invoke, tmp_path):
    gold = UNER_DEV if UNER_DEV.is_file() else write_columns(tmp_path / "gold.iob2", TOKENS, GOLD_IOB2)
    ours = scores(invoke, gold, gold)
    assert ours["micro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert ours["macro"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    assert ours["gold_entities"] == ours["pred_entities"] == ours["correct"]
    if gold == UNER_DEV:
        assert (ours["sentences"], ours["tokens"], ours["gold_entities"]) == (2001, 25149, 966)
        assert {k: v["gold"] for k, v in ours["types"].items()} == {"LOC": 399, "ORG": 224, "PER": 343}


def test_map_onto_the_gold_labels_and_ignore_the_rest(invoke, tmp_path):
    gold = write_columns(tmp_path / "gold.iob2", TOKENS, GOLD_IOB2)
    spacy_like = [["B-PERSON", "I-PERSON", "O", "O", "B-GPE", "I-GPE", "O"],
                  ["B-ORG", "I-ORG", "O", "B-PERSON", "O"],
                  ["B-DATE", "O", "O"],
                  ["B-GPE", "O", "B-GPE", "O", "O", "B-ORG", "B-DATE", "B-PERSON", "I-PERSON", "B-PERSON", "O"]]
    pred = write_columns(tmp_path / "pred.iob2", TOKENS, spacy_like)
    ours = scores(invoke, gold, pred, "--map", "PERSON=PER, GPE=LOC")
    assert ours["micro"]["f1"] == 1.0
    assert ours["ignored"] == {"DATE": 2}
    assert ours["mapping"] == {"PERSON": "PER", "GPE": "LOC"}
    unmapped = scores(invoke, gold, pred)
    assert unmapped["ignored"] == {"DATE": 2, "GPE": 3, "PERSON": 4}
    assert unmapped["types"]["ORG"]["f1"] == 1.0 and unmapped["types"]["PER"]["pred"] == 0


def test_the_table(invoke, tmp_path):
    gold = write_columns(tmp_path / "gold.iob2", TOKENS, GOLD_IOB2)
    pred = write_columns(tmp_path / "pred.iob2", TOKENS, PRED_IOB2)
    result = invoke("evaluate-ner", "--gold", gold, "--pred", pred)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "4 sentences, 26 tokens, 9 gold and 9 predicted entities" in result.stdout
    row = next(line for line in lines if "micro" in line).replace("│", " ").split()
    assert row == ["micro", "66.67", "66.67", "66.67", "9", "9", "6"]


BAD = [
    ("gold", "John\tB-PER\nSmith\tX-PER\n", "bad tag 'X-PER'", 2),
    ("gold", "John\tB-PER\nSmith\n", "expected a token and a tag", 2),
    ("pred", "{\"ents\": [{\"start\": 0, \"end\": 9, \"label\": \"PER\"}], \"tokens\": [\"a\"]}\n",
     "entity 1 ends at token 9 but the record has 1 tokens", 1),
    ("pred", "{\"ents\": [{\"start\": 2, \"end\": 1, \"label\": \"PER\"}]}\n", "entity 1 needs integer", 1),
    ("pred", "{not json\n", "not a JSON object", 1),
]


@pytest.mark.parametrize("which, text, message, line", BAD)
def test_a_malformed_line_is_one_error_naming_file_and_line(invoke, tmp_path, which, text, message, line):
    good = write_columns(tmp_path / "good.iob2", [["John", "Smith"]], [["B-PER", "I-PER"]])
    bad = tmp_path / "bad.txt"
    bad.write_text(text, encoding="utf-8")
    files = {"gold": good, "pred": good, which: bad}
    result = invoke("evaluate-ner", "--gold", files["gold"], "--pred", files["pred"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [f"Error: {bad}:{line}: {result.stderr.split(': ', 2)[2].strip()}"]
    assert message in result.stderr and "Traceback" not in result.stderr


def test_sentence_and_token_count_mismatches(invoke, tmp_path):
    gold = write_columns(tmp_path / "gold.iob2", TOKENS, GOLD_IOB2)
    fewer = write_columns(tmp_path / "fewer.iob2", TOKENS[:3], GOLD_IOB2[:3])
    result = invoke("evaluate-ner", "--gold", gold, "--pred", fewer)
    assert result.exit_code == 1
    # the gold's 4th sentence starts on line 19 (7 + 5 + 3 token lines and 3 blank lines before it)
    assert result.stderr.strip() == (f"Error: {gold}:19: sentence 4 has no counterpart: {gold} has 4 sentences, "
                                     f"{fewer} has 3")
    short = [t[:-1] for t in TOKENS]
    cut = write_columns(tmp_path / "cut.iob2", short, [t[:-1] for t in GOLD_IOB2])
    result = invoke("evaluate-ner", "--gold", gold, "--pred", cut)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {cut}:1: sentence 1 has 6 tokens, but 7 in the gold ({gold}:1)"


def test_a_bad_map_is_a_usage_error(invoke, tmp_path):
    gold = write_columns(tmp_path / "gold.iob2", TOKENS, GOLD_IOB2)
    result = invoke("evaluate-ner", "--gold", gold, "--pred", gold, "--map", "PERSON")
    assert result.exit_code == 2
    assert "--map: expected LABEL=GOLD_LABEL pairs" in result.stderr


def test_prediction_from_stdin(invoke, tmp_path):
    gold = write_columns(tmp_path / "gold.iob2", TOKENS, GOLD_IOB2)
    pred = write_jsonl(tmp_path / "pred.jsonl", TOKENS, PRED_IOB2)
    result = invoke("evaluate-ner", "--gold", gold, "--pred", "-", "--json", input=pred.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["correct"] == 6


def test_iob_input_then_ner_then_evaluate(invoke, tmp_path):
    """`nlpkit ner file.iob2 > pred.jsonl; nlpkit evaluate-ner --gold file.iob2 --pred pred.jsonl`."""
    gold = write_columns(tmp_path / "gold.iob2", [["Barack", "Obama", "visited", "Paris", "."]],
                         [["B-PER", "I-PER", "O", "B-LOC", "O"]])
    records = invoke("ner", gold)
    assert records.exit_code == 0, records.output
    first = json.loads(records.stdout.splitlines()[0])
    assert first["tokens"] == ["Barack", "Obama", "visited", "Paris", "."]
    assert [(e["label"], e["start"], e["end"]) for e in first["ents"]] == [("PERSON", 0, 2), ("GPE", 3, 4)]
    pred = tmp_path / "pred.jsonl"
    pred.write_text(records.stdout, encoding="utf-8")
    assert scores(invoke, gold, pred, "--map", "PERSON=PER,GPE=LOC")["micro"]["f1"] == 1.0


def test_iob_reader_gives_each_sentence_its_entities_and_a_bad_line_once(tmp_path):
    from nlpkit.io import BadInput, read_items

    good = write_columns(tmp_path / "a.iob2", TOKENS[:2], GOLD_IOB2[:2], "uner")
    items = list(read_items([str(good)]))
    assert [r["ents"] for _, r in items] == [
        [{"text": "John Smith", "label": "PER", "start": 0, "end": 2},
         {"text": "New York", "label": "LOC", "start": 4, "end": 6}],
        [{"text": "Acme Corp", "label": "ORG", "start": 0, "end": 2},
         {"text": "Mary", "label": "PER", "start": 3, "end": 4}]]
    assert items[0][0] == f"{good}:3" and items[1][1]["text"] == "Acme Corp hired Mary ."
    bad = tmp_path / "b.iob2"
    bad.write_text("John\tB-PER\n\nSmith\tQ\n", encoding="utf-8")
    items = list(read_items([str(bad)]))
    assert items[0][1]["tokens"] == ["John"]
    assert items[1][0] == f"{bad}:3" and isinstance(items[1][1], BadInput) and "bad tag 'Q'" in items[1][1].problem

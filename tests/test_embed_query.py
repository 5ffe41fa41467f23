"""`embed similar`, `embed analogy`, `embed evaluate` on hand-made vectors with known answers,
and evaluation figures equal to gensim's own."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from conftest import parse_jsonl, write_jsonl
from nlpkit.embeddings.evaluate import evaluate_analogies, evaluate_similarity, gensim_test_file
from nlpkit.embeddings.similarity import parse_analogy
from nlpkit.embeddings.vectors import keyed_vectors, load_vectors, write_vectors_file
from nlpkit.errors import RecordError

# king - man + woman = queen exactly; paris - france + italy = rome exactly
HAND_MADE = {
    "man": [1, 0, 0, 0, 0, 0],
    "woman": [0, 1, 0, 0, 0, 0],
    "king": [1, 0, 1, 0, 0, 0],
    "queen": [0, 1, 1, 0, 0, 0],
    "prince": [1, 0, 0.8, 0, 0, 0.3],
    "france": [0, 0, 0, 1, 0, 0],
    "italy": [0, 0, 0, 0, 1, 0],
    "paris": [0, 0, 0, 1, 0, 1],
    "rome": [0, 0, 0, 0, 1, 1],
}


@pytest.fixture
def hand_made(tmp_path):
    kv = keyed_vectors(list(HAND_MADE), np.array(list(HAND_MADE.values()), dtype=np.float32))
    return write_vectors_file(kv, tmp_path / "hand.txt")


def test_analogy_3cosadd_and_3cosmul(invoke, hand_made):
    result = invoke("embed", "analogy", "king - man + woman", "france paris italy", "--vectors", hand_made)
    assert result.exit_code == 0, result.stderr
    # 3CosAdd adds unit vectors: unit(king) - unit(man) + unit(woman) points near queen, not onto it
    assert result.stdout == "king - man + woman\tqueen\t0.9586\nfrance paris italy\trome\t0.9586\n"
    result = invoke("embed", "analogy", "king - man + woman", "--vectors", hand_made, "--method", "3cosmul", "-k", 2)
    assert [line.split("\t")[1] for line in result.stdout.splitlines()] == ["queen", "prince"]


def test_similar_ranks_by_cosine(invoke, hand_made):
    result = invoke("embed", "similar", "king", "--vectors", hand_made, "-k", 3, "--format", "jsonl")
    [record] = parse_jsonl(result.stdout)
    kv = load_vectors(hand_made)
    expected = [(w, round(float(s), 6)) for w, s in kv.most_similar("king", topn=3)]
    assert [(n["word"], n["score"]) for n in record["similar"]] == expected
    assert record["similar"][0]["word"] == "prince"
    assert record["similar"][0]["score"] == pytest.approx(1.8 / (np.sqrt(2) * np.sqrt(1.73)), abs=1e-6)


def test_query_stream_keeps_fields_and_skips_unknown_words(invoke, hand_made, tmp_path):
    queries = write_jsonl(tmp_path / "q.jsonl", [
        {"id": "q1", "query": "paris - france + italy"},
        {"id": "q2", "query": "paris - france + atlantis"},
        {"id": "q3", "text": "king - man + woman"},
    ])
    result = invoke("embed", "analogy", "--vectors", hand_made, "--queries", queries, "--format", "jsonl", "--on-error", "skip")
    records = parse_jsonl(result.stdout)
    assert [(r["id"], r["analogy"][0]["word"]) for r in records] == [("q1", "rome"), ("q3", "queen")]
    assert "skipped 1 query(ies); first:" in result.stderr and "q.jsonl:2: not in the vectors' vocabulary" in result.stderr
    assert "'atlantis'" in result.stderr


def test_plain_text_queries_from_stdin(invoke, hand_made):
    result = invoke("embed", "similar", "--vectors", hand_made, "-k", 1, input="queen\nrome\n")
    assert result.stdout == "queen\twoman\t0.7071\nrome\titaly\t0.7071\n"


def test_unknown_word_is_one_line_exit_1(invoke, hand_made):
    result = invoke("embed", "similar", "king", "unicorn", "--vectors", hand_made)
    assert result.exit_code == 1
    assert result.stderr == "Error: argument 2: not in the vectors' vocabulary (9 words): 'unicorn'\n"
    assert result.stdout.startswith("king\tprince")  # answers before the bad query are kept


@pytest.mark.parametrize("query,expected", [
    ("king - man + woman", (["king", "woman"], ["man"])),
    ("man king woman", (["king", "woman"], ["man"])),
    ("man : king :: woman", (["king", "woman"], ["man"])),
    ("paris + italy", (["paris", "italy"], [])),
    ("self-made - man + woman", (["self-made", "woman"], ["man"])),
])
def test_parse_analogy(query, expected):
    assert parse_analogy(query) == expected


@pytest.mark.parametrize("query,problem", [
    ("king man", "three words"),
    ("king - - man", "an operator where a word should be"),
    ("king - man +", "ends with an operator"),
    ("king - man woman", "joined by + or -"),
    ("   ", "empty"),
])
def test_parse_analogy_errors(query, problem):
    with pytest.raises(RecordError, match=re.escape(problem)):
        parse_analogy(query)


def test_evaluate_hand_made_files(invoke, hand_made, tmp_path):
    analogies = tmp_path / "a.txt"
    analogies.write_text(": royals\nman king woman queen\nman king woman prince\n"
                         ": capitals\nfrance paris italy rome\nfrance paris italy atlantis\n", encoding="utf-8")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("# word1\tword2\tscore\nking\tqueen\t8\nking\tprince\t9\nman\trome\t1\nman\tunicorn\t3\n", encoding="utf-8")
    result = invoke("embed", "evaluate", "--vectors", hand_made, "--analogies", analogies, "--similarity", pairs, "--json")
    figures = json.loads(result.stdout)
    a = figures["analogies"]
    assert (a["correct"], a["evaluated"], a["questions"], a["oov"]) == (2, 3, 4, 1)
    assert [(s["section"], s["correct"], s["total"]) for s in a["sections"]] == [("royals", 1, 2), ("capitals", 1, 1)]
    [s] = figures["similarity"]
    assert (s["pairs"], s["oov"], s["spearman"]) == (3, 1, 1.0)
    text = invoke("embed", "evaluate", "--vectors", hand_made, "--analogies", analogies, "--similarity", pairs).stdout
    assert "analogies (a.txt): accuracy 0.6667 (2/3); OOV 25.0% of 4 questions" in text
    assert "similarity (p.tsv): Spearman 1.0000" in text


@pytest.fixture(scope="module")
def glove():
    return load_vectors("glove-6b-50d")


def test_evaluation_equals_gensim_on_glove_6b_50d(glove, tmp_path):
    # a slice of the Google file (one whole section and part of the next) over the 20,000 most frequent words,
    # so that gensim's own one-question-at-a-time evaluation stays quick
    lines = open(gensim_test_file("questions-words.txt"), encoding="utf-8").read().splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(": ")]
    subset = tmp_path / "q.txt"
    subset.write_text("\n".join(lines[: starts[1] + 150]) + "\n", encoding="utf-8")
    ours = evaluate_analogies(glove, subset, restrict_vocab=20_000)
    score, sections = glove.evaluate_word_analogies(str(subset), restrict_vocab=20_000)
    assert ours.overall.accuracy == score
    assert [(s.section, s.correct, s.total) for s in ours.sections] == [
        (s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections[:-1]
    ]
    assert ours.oov > 0 and ours.overall.correct > 100
    for name in ("wordsim353.tsv", "simlex999.txt"):
        mine = evaluate_similarity(glove, gensim_test_file(name))
        pearson, spearman, oov_percent = glove.evaluate_word_pairs(gensim_test_file(name))
        assert (mine.spearman, mine.pearson) == (spearman[0], pearson[0])
        assert mine.oov_rate * 100 == pytest.approx(oov_percent, abs=1e-12)

"""`vectorize bow|tfidf`: fitting to a directory, --apply, --top, tokens versus text, equality with scikit-learn."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from nlpkit.features import TextVectorizer, load_matrix
from tests.conftest import SAMPLE_DIR, parse_jsonl, run_cli, write_jsonl

DOCS = [
    {"id": "d1", "text": "The cat sat."},
    {"id": "d2", "text": "the dog sat"},
    {"id": "d3", "tokens": ["The", "Cat"]},
]



@pytest.fixture
def docs(tmp_path):
    return write_jsonl(tmp_path / "docs.jsonl", DOCS)


def test_bow_fit_writes_vectorizer_and_matrix_with_ids(docs, tmp_path):
    result = run_cli("vectorize", "bow", docs, "-o", tmp_path / "feats")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "feats").iterdir()) == ["matrix.npz", "vectorizer.json"]
    state = json.loads((tmp_path / "feats" / "vectorizer.json").read_text())
    assert state["vocabulary"] == ["cat", "dog", "sat", "the"]
    matrix, ids = load_matrix(tmp_path / "feats" / "matrix.npz")
    assert ids == ["d1", "d2", "d3"]
    # d3 is counted on its tokens (lowercased), the others on their text
    assert matrix.toarray().tolist() == [[1, 0, 1, 1], [0, 1, 1, 1], [1, 0, 0, 1]]


def test_apply_transforms_new_records_and_ids_default_to_locations(docs, tmp_path):
    run_cli("vectorize", "bow", docs, "-o", tmp_path / "feats")
    result = run_cli("vectorize", "bow", "--apply", tmp_path / "feats", "-o", tmp_path / "new",
                     input="the bird sat on the cat\n")
    assert result.exit_code == 0, result.output
    matrix, ids = load_matrix(tmp_path / "new" / "matrix.npz")
    assert ids == ["stdin:1"]
    assert matrix.toarray().tolist() == [[1, 0, 1, 2]]  # "bird" and "on" are not in the vocabulary


def test_top_terms_stream_on_with_exact_tfidf_ranking(docs, tmp_path):
    # smooth idf over 3 documents: dog 1.69 > cat = sat 1.29 > the 1.0; ties keep vocabulary order
    run_cli("vectorize", "tfidf", docs, "-o", tmp_path / "feats")
    result = run_cli("vectorize", "tfidf", "--apply", tmp_path / "feats", "--top", "2", docs)
    assert result.exit_code == 0, result.output
    out = parse_jsonl(result.stdout)
    assert [r["terms"] for r in out] == [["cat", "sat"], ["dog", "sat"], ["cat", "the"]]
    assert [{k: v for k, v in r.items() if k != "terms"} for r in out] == DOCS
    text = run_cli("vectorize", "tfidf", "--apply", tmp_path / "feats", "--top", "1", "--format", "text", docs)
    assert text.stdout == "cat\ndog\ncat\n"


def test_top_without_apply_fits_on_named_files_but_not_on_stdin(docs):
    result = run_cli("vectorize", "tfidf", "--top", "1", docs)
    assert result.exit_code == 0, result.output
    assert [r["terms"] for r in parse_jsonl(result.stdout)] == [["cat"], ["dog"], ["cat"]]
    refused = run_cli("vectorize", "tfidf", "--top", "1", input="some text\n")
    assert refused.exit_code == 2 and "--top without --apply reads its inputs twice" in refused.stderr


def test_word_ngrams_are_built_from_tokens():
    vectorizer = TextVectorizer("bow", ngrams=(1, 2), lowercase=False)
    vectorizer.fit([{"tokens": ["New", "York", "City"]}, {"text": "new york"}])
    # tokens are used as given (case kept here), n-grams span adjacent tokens
    assert vectorizer.vocabulary == sorted(["New", "York", "City", "New York", "York City", "new", "york", "new york"])


def test_tfidf_matches_scikit_learn_on_text(tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer

    with gzip.open(SAMPLE_DIR / "train.jsonl.gz", "rt") as f:
        records = [json.loads(line) for _, line in zip(range(150), f)]
    ours = TextVectorizer("tfidf", ngrams=(1, 2), min_df=2, sublinear_tf=True)
    matrix = ours.fit_transform(records)
    reference = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    expected = reference.fit_transform([r["text"] for r in records])
    assert ours.vocabulary == list(reference.get_feature_names_out())
    np.testing.assert_allclose(matrix.toarray(), expected.toarray())
    # after a save and load, transforming gives exactly what transforming gave before
    ours.save(tmp_path)
    np.testing.assert_array_equal(TextVectorizer.load(tmp_path).transform(records).toarray(),
                                  ours.transform(records).toarray())


def test_character_ngrams(docs, tmp_path):
    result = run_cli("vectorize", "bow", "--analyzer", "char_wb", "--ngrams", "2,2", docs, "-o", tmp_path / "f")
    assert result.exit_code == 0, result.output
    vocabulary = json.loads((tmp_path / "f" / "vectorizer.json").read_text())["vocabulary"]
    assert {" c", "ca", "at", "t "} <= set(vocabulary)


def test_refusals(docs, tmp_path):
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "notes.txt").write_text("mine")
    result = run_cli("vectorize", "bow", docs, "-o", tmp_path / "keep")
    assert result.exit_code == 2 and "not a vectorizer directory" in result.stderr
    assert (tmp_path / "keep" / "notes.txt").read_text() == "mine"
    run_cli("vectorize", "tfidf", docs, "-o", tmp_path / "feats")
    result = run_cli("vectorize", "bow", "--apply", tmp_path / "feats", docs, "-o", tmp_path / "x")
    assert result.exit_code == 1 and "holds a tfidf vectorizer, not bow" in result.stderr
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "x", "text": "fine"}, {"id": "y", "body": "no text"}])
    result = run_cli("vectorize", "bow", bad, "-o", tmp_path / "f2")
    assert result.exit_code == 1 and f"{bad}:2: record has no 'text' field" in result.stderr
    result = run_cli("vectorize", "bow", bad, "-o", tmp_path / "f3", "--on-error", "skip")
    assert result.exit_code == 0 and "skipped 1 bad record" in result.stderr
    assert load_matrix(tmp_path / "f3" / "matrix.npz")[1] == ["x"]
    assert run_cli("vectorize", "bow", docs).exit_code == 2  # neither -o DIR nor --top

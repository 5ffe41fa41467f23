"""Vectors I/O: every --vectors format loads, round-trips, and bad specs fail with one clear line."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from nlpkit.embeddings.vectors import (
    VectorsError,
    keyed_vectors,
    load_vectors,
    save_vectors,
    sniff_format,
    write_vectors_file,
)

WORDS = ["the", "movie", "great", "awful", "plot", "émigré"]


@pytest.fixture(scope="module")
def small_kv():
    rng = np.random.default_rng(0)
    return keyed_vectors(WORDS, rng.normal(size=(len(WORDS), 8)).astype(np.float32))


def assert_same(kv, expected, atol=1e-6):
    assert kv.index_to_key == expected.index_to_key
    np.testing.assert_allclose(kv.vectors, expected.vectors, atol=atol)


@pytest.mark.parametrize("fmt", ["word2vec-text", "word2vec-binary"])
def test_nlpkit_directory_round_trip(tmp_path, small_kv, fmt):
    save_vectors(small_kv, tmp_path / "v", format=fmt, params={"algo": "test"})
    manifest = json.loads((tmp_path / "v" / "nlpkit.json").read_text())
    assert manifest["kind"] == "vectors" and manifest["format"] == fmt
    assert (manifest["dim"], manifest["vocab_size"]) == (8, len(WORDS))
    assert_same(load_vectors(tmp_path / "v"), small_kv)


@pytest.mark.parametrize("fmt,name", [
    ("word2vec-text", "v.txt"), ("word2vec-binary", "v.bin"), ("glove-text", "glove.6B.8d.txt"), ("word2vec-text", "v.vec"),
])
def test_bare_files_are_sniffed_and_load(tmp_path, small_kv, fmt, name):
    path = write_vectors_file(small_kv, tmp_path / name, fmt)
    assert sniff_format(path) == fmt
    assert_same(load_vectors(path), small_kv)


def test_gzipped_text_vectors_load(tmp_path, small_kv):
    plain = write_vectors_file(small_kv, tmp_path / "v.txt")
    zipped = tmp_path / "v.txt.gz"
    zipped.write_bytes(gzip.compress(plain.read_bytes()))
    assert_same(load_vectors(zipped), small_kv)


def test_glove_file_without_header_has_first_word_kept(tmp_path):
    (tmp_path / "g.txt").write_text("cat 1 0\ndog 0.5 0.5\n", encoding="utf-8")
    kv = load_vectors(tmp_path / "g.txt")
    assert kv.index_to_key == ["cat", "dog"]
    np.testing.assert_allclose(kv["dog"], [0.5, 0.5])


def test_fasttext_bin_from_the_fasttext_library_keeps_subwords(tmp_path):
    import fasttext

    corpus = tmp_path / "c.txt"
    corpus.write_text("the movie was great and the plot was great\n" * 50, encoding="utf-8")
    model = fasttext.train_unsupervised(str(corpus), dim=8, minCount=1, epoch=1, thread=1, verbose=0)
    model.save_model(str(tmp_path / "ft.bin"))
    kv = load_vectors(tmp_path / "ft.bin")
    assert sniff_format(tmp_path / "ft.bin") == "fasttext-bin"
    np.testing.assert_allclose(kv["movie"], model.get_word_vector("movie"), atol=1e-5)
    # an unseen word: fastText's own n-gram vector
    np.testing.assert_allclose(kv["moviegoer"], model.get_word_vector("moviegoer"), atol=1e-5)


def test_bundled_glove_6b_50d():
    kv = load_vectors("glove-6b-50d")
    assert (len(kv), kv.vector_size) == (400_000, 50)
    assert kv.index_to_key[:3] == ["the", ",", "."]
    assert kv.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"


def test_words_with_spaces_cannot_be_saved(tmp_path):
    kv = keyed_vectors(["new york", "x"], np.ones((2, 2), dtype=np.float32))
    with pytest.raises(VectorsError, match="no whitespace"):
        save_vectors(kv, tmp_path / "v")
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("content,problem", [
    (b"", "empty vectors file"),
    (b"\x00\x01\x02\x03garbage\xff\xfe" * 20, "unknown vectors format"),
    (b"just some words here\nand more\n", "unknown vectors format"),
])
def test_unreadable_files_say_why(tmp_path, content, problem):
    (tmp_path / "bad.txt").write_bytes(content)
    with pytest.raises(VectorsError, match=problem):
        load_vectors(tmp_path / "bad.txt")


def test_missing_spec_and_other_model_directories(tmp_path):
    with pytest.raises(VectorsError, match="no such vectors file or directory.*glove-6b-50d"):
        load_vectors(tmp_path / "nope")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "nlpkit.json").write_text(json.dumps({"kind": "tfidf-lr", "format_version": 1}))
    with pytest.raises(VectorsError, match="holds a 'tfidf-lr' model, not vectors"):
        load_vectors(tmp_path / "model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VectorsError, match="not an nlpkit vectors directory"):
        load_vectors(tmp_path / "empty")


def test_cli_bad_vectors_is_one_line_exit_1(invoke, tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\x00\x01\x02\xff" * 50)
    result = invoke("embed", "similar", "good", "--vectors", tmp_path / "bad.txt")
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("Error: ") and "unknown vectors format" in result.stderr

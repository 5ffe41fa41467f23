"""`embed train`: reproducible word2vec, planted neighbours for all three algorithms, GloVe by hand."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from conftest import write_jsonl
from nlpkit.embeddings.glove import (
    GloveModel,
    GloveParams,
    build_vocab,
    cooccurrence_matrix,
    train_glove,
    train_glove_matrix,
)
from nlpkit.embeddings.vectors import load_vectors

GROUPS = {
    "animals": ["cat", "dog", "horse", "cow", "sheep"],
    "colours": ["red", "blue", "green", "yellow", "purple"],
    "numbers": ["one", "two", "three", "four", "five"],
}


@pytest.fixture(scope="module")
def planted_corpus(tmp_path_factory):
    """Documents that each draw words from one group only: a word's neighbours are its group."""
    rng = random.Random(7)
    records = []
    for i in range(600):
        group = list(GROUPS.values())[i % len(GROUPS)]
        records.append({"id": str(i), "tokens": [rng.choice(group) for _ in range(12)]})
    return write_jsonl(tmp_path_factory.mktemp("planted") / "planted.jsonl", records)


def group_of(word):
    return next(name for name, words in GROUPS.items() if word in words)


def assert_planted_neighbours(kv):
    for words in GROUPS.values():
        for word in words:
            top = [w for w, _ in kv.most_similar(word, topn=4)]
            assert {group_of(w) for w in top} == {group_of(word)}, (word, top)


@pytest.mark.parametrize("algo,flags", [
    ("word2vec", ["--sg", "--epochs", "5"]),
    ("fasttext", ["--sg", "--epochs", "5", "--min-n", "3", "--max-n", "4"]),
    ("glove", ["--epochs", "25", "--window", "5", "--device", "cpu", "--glove-batch", "512"]),
])
def test_planted_structure_neighbours(invoke, tmp_path, planted_corpus, algo, flags):
    result = invoke("embed", "train", "--algo", algo, "--dim", 16, "--min-count", 1, *flags, planted_corpus,
                    "-o", tmp_path / "v")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((tmp_path / "v" / "nlpkit.json").read_text())
    assert manifest["kind"] == "vectors" and manifest["params"]["algo"] == algo
    assert manifest["vocab_size"] == 15 and manifest["corpus"] == {"documents": 600, "tokens": 7200}
    assert_planted_neighbours(load_vectors(tmp_path / "v"))


def test_word2vec_is_reproducible_with_one_worker_and_a_seed(invoke, tmp_path, sample_dir):
    args = ["embed", "train", "--algo", "word2vec", "--dim", 16, "--epochs", 1, "--workers", 1, "--seed", 5,
            "--save-format", "word2vec-text", sample_dir / "train.jsonl.gz"]
    assert invoke(*args, "-o", tmp_path / "a").exit_code == 0
    # a second process with another string-hash seed: the vectors must not depend on it
    subprocess.run([sys.executable, "-m", "nlpkit", *map(str, args), "-o", str(tmp_path / "b")], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "12345"})
    first, second = (tmp_path / "a" / "vectors.txt").read_bytes(), (tmp_path / "b" / "vectors.txt").read_bytes()
    assert first == second
    other = invoke(*args[:-1], "--seed", 6, args[-1], "-o", tmp_path / "c")
    assert other.exit_code == 0 and (tmp_path / "c" / "vectors.txt").read_bytes() != first


def test_fasttext_gives_out_of_vocabulary_words_a_vector(invoke, tmp_path, planted_corpus):
    assert invoke("embed", "train", "--algo", "fasttext", "--dim", 8, "--min-count", 1, "--epochs", 1, planted_corpus,
                  "-o", tmp_path / "ft").exit_code == 0
    assert (tmp_path / "ft" / "vectors.fasttext.bin").exists()
    result = invoke("embed", "similar", "horses", "--vectors", tmp_path / "ft", "-k", 2)
    assert result.exit_code == 0, result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["horses", "horses"]


def test_glove_cooccurrence_counts_by_hand(tmp_path):
    # window 2 over "a b c a": (a,b) d1, (a,c) d2, (b,c) d1, (b,a) d2, (c,a) d1, each counted both ways
    (tmp_path / "c.txt").write_text("a b c a\nc a\n", encoding="utf-8")
    words, counts = build_vocab(tmp_path / "c.txt", min_count=1)
    assert words == ["a", "c", "b"] and counts.tolist() == [3, 2, 1]
    X = cooccurrence_matrix(tmp_path / "c.txt", words, window=2).toarray()
    a, c, b = 0, 1, 2
    expected = np.zeros((3, 3))
    expected[a, b] = expected[b, a] = 1 + 0.5
    expected[a, c] = expected[c, a] = 0.5 + 1 + 1  # line 1: a.c at 2 and c.a at 1; line 2: c a at 1
    expected[b, c] = expected[c, b] = 1
    np.testing.assert_allclose(X, expected)


def test_glove_window_does_not_cross_documents_and_skips_rare_words(tmp_path):
    (tmp_path / "c.txt").write_text("x y\nrare y x\n", encoding="utf-8")
    words, _ = build_vocab(tmp_path / "c.txt", min_count=2)
    X = cooccurrence_matrix(tmp_path / "c.txt", words, window=1).toarray()
    # "rare" is dropped before windowing, so "y x" stay adjacent; no pair spans the line break
    assert words == ["x", "y"] and X.tolist() == [[0, 2], [2, 0]]


def test_glove_step_is_adagrad_on_the_weighted_least_squares_by_hand():
    # glove.c's update, written out per pair: residual r = w_i.c_j + b_i + b~_j - log x; grad = f r (c_j, 1);
    # step = -lr grad / sqrt(accumulator before the batch); the accumulator then gains grad^2.
    # Row 0 appears twice in the batch: both pairs' steps add up (a mini-batch, not Hogwild).
    import torch

    model = GloveModel(vocab_size=3, dim=2, device="cpu", generator=torch.Generator().manual_seed(1))
    model.gW += torch.rand(3, 3, generator=torch.Generator().manual_seed(2)) * 4  # as after some training
    model.gC += torch.rand(3, 3, generator=torch.Generator().manual_seed(3)) * 4
    W, C, gW, gC = (t.numpy().astype(np.float64).copy() for t in (model.W, model.C, model.gW, model.gC))
    rows, cols = np.array([0, 0, 2]), np.array([1, 2, 0])
    log_x, f_x = np.array([0.5, 1.0, -0.2]), np.array([1.0, 0.3, 0.7])
    lr, d = 0.05, 2
    expected_W, expected_C, expected_gW, expected_gC = W.copy(), C.copy(), gW.copy(), gC.copy()
    expected_loss = 0.0
    for i, j, lx, f in zip(rows, cols, log_x, f_x):
        r = W[i, :d] @ C[j, :d] + W[i, d] + C[j, d] - lx
        expected_loss += 0.5 * f * r * r
        grad_w = f * r * np.append(C[j, :d], 1.0)
        grad_c = f * r * np.append(W[i, :d], 1.0)
        expected_W[i] -= lr * grad_w / np.sqrt(gW[i])
        expected_C[j] -= lr * grad_c / np.sqrt(gC[j])
        expected_gW[i] += grad_w**2
        expected_gC[j] += grad_c**2
    loss = model.step(torch.tensor(rows), torch.tensor(cols), torch.tensor(log_x, dtype=torch.float32),
                      torch.tensor(f_x, dtype=torch.float32), lr)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    for got, want in ((model.W, expected_W), (model.C, expected_C), (model.gW, expected_gW), (model.gC, expected_gC)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-7)


def test_glove_loss_decreases(tmp_path, planted_corpus):
    corpus = tmp_path / "c.txt"
    corpus.write_text("".join(" ".join(json.loads(line)["tokens"]) + "\n" for line in open(planted_corpus)))
    words, _ = build_vocab(corpus, min_count=1)
    matrix = cooccurrence_matrix(corpus, words, window=5)
    _, losses = train_glove_matrix(matrix, GloveParams(dim=8, epochs=8, batch_size=256, device="cpu"))
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < losses[0] / 2
    result = train_glove(corpus, GloveParams(dim=8, epochs=2, min_count=1, window=5, device="cpu"))
    assert result.vectors.shape == (15, 8) and result.nonzeros == matrix.nnz


@pytest.mark.parametrize("algo", ["word2vec", "glove"])
def test_empty_corpus_is_an_error(invoke, tmp_path, algo):
    write_jsonl(tmp_path / "empty.jsonl", [{"id": "1", "text": "   "}])
    result = invoke("embed", "train", "--algo", algo, tmp_path / "empty.jsonl", "-o", tmp_path / "v")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'empty.jsonl'}: the training corpus is empty: no record had any tokens\n"
    assert not (tmp_path / "v").exists()


@pytest.mark.parametrize("algo", ["word2vec", "fasttext", "glove"])
def test_min_count_above_every_word_is_an_error(invoke, tmp_path, algo):
    write_jsonl(tmp_path / "c.jsonl", [{"text": "a b c"}])
    result = invoke("embed", "train", "--algo", algo, "--min-count", 5, tmp_path / "c.jsonl", "-o", tmp_path / "v")
    assert result.exit_code == 1
    assert "no word occurs at least --min-count 5 times" in result.stderr


def test_bad_record_names_file_and_line(invoke, tmp_path):
    (tmp_path / "c.jsonl").write_text('{"text": "a b"}\n{"title": "no text"}\n', encoding="utf-8")
    result = invoke("embed", "train", "--algo", "word2vec", tmp_path / "c.jsonl", "-o", tmp_path / "v")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'c.jsonl'}:2: record has no 'text' field")


def test_tokens_must_be_strings_and_skip_counts(invoke, tmp_path):
    (tmp_path / "c.jsonl").write_text('{"tokens": ["a", "b"]}\n{"tokens": ["a", 1]}\n{"tokens": "a b"}\n' * 3,
                                      encoding="utf-8")
    result = invoke("embed", "train", "--algo", "word2vec", "--min-count", 1, tmp_path / "c.jsonl", "-o", tmp_path / "v")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'c.jsonl'}:2: field 'tokens' must be a list of strings\n"
    result = invoke("embed", "train", "--algo", "word2vec", "--min-count", 1, "--on-error", "skip", tmp_path / "c.jsonl",
                    "-o", tmp_path / "v")
    assert result.exit_code == 0
    assert result.stderr.startswith("embed train: skipped 6 bad record(s); first: ")
    assert json.loads((tmp_path / "v" / "nlpkit.json").read_text())["corpus"] == {"documents": 3, "tokens": 6}


def test_train_reads_stdin_and_glove_refuses_a_missing_device(invoke, tmp_path):
    text = "".join(f"the {w} movie was {w}\n" for w in ("good", "bad", "great") * 10)
    result = invoke("embed", "train", "--algo", "word2vec", "--dim", 4, "--min-count", 1, "-o", tmp_path / "v", input=text)
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "v" / "nlpkit.json").read_text())["corpus"] == {"documents": 30, "tokens": 150}
    import torch

    if not torch.cuda.is_available():
        result = invoke("embed", "train", "--algo", "glove", "--device", "cuda", "--min-count", 1, "-o", tmp_path / "g",
                        input=text)
        assert result.exit_code == 1 and result.stderr.startswith("Error: device 'cuda' asked for, but CUDA is not available")

"""A language model over records of WordPiece ids (``PretokenizedWordPiece``, the GPU pack's form) trains
exactly as over their text, and saves a directory that the text path loads."""

from __future__ import annotations

import pytest

from nlpkit.lm.model import LanguageModel, LMUsageError
from nlpkit.lm.tokenizer import PretokenizedWordPiece, WordPieceTokenizer

TEXTS = [{"text": "the film was good and the actors were good"}, {"text": "a bad film, with bad actors<br />"}] * 4
TINY = dict(arch="lstm", tokenizer="wordpiece", dim=8, hidden=8, layers=1, context=6, dropout=0.0, emb_dropout=0.0,
            epochs=2, lr=1e-2, batch_size=4, warmup=0.0, seed=0, threads=1, device="cpu")


def test_ids_train_as_their_text(tmp_path):
    words = WordPieceTokenizer.bundled()
    records = [{"ids": words.encode(r)} for r in TEXTS]
    from_text = LanguageModel(**TINY).fit(TEXTS, valid=TEXTS[:2])
    from_ids = LanguageModel(**TINY).fit(records, valid=records[:2], tokenizer=PretokenizedWordPiece(words.tokenizer))
    assert from_ids.history_[-1]["valid_loss"] == from_text.history_[-1]["valid_loss"]
    assert from_ids.tokenizer_.tokens(records[1]) == words.tokens(TEXTS[1])
    loaded = LanguageModel.load(from_ids.save(tmp_path / "lm"), device="cpu")
    assert type(loaded.tokenizer_) is WordPieceTokenizer  # no trace of the ids: it reads text again
    assert loaded.score(TEXTS[:2]) == from_text.score(TEXTS[:2])


def test_a_tokenizer_of_another_kind_is_a_usage_error():
    with pytest.raises(LMUsageError, match="wordpiece tokenizer given to a model of tokenizer 'word'"):
        LanguageModel(**{**TINY, "tokenizer": "word"}).fit(TEXTS, tokenizer=PretokenizedWordPiece(WordPieceTokenizer.bundled().tokenizer))

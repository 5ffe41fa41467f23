"""Intrinsic evaluation of word vectors: Google analogies (per section) and word-similarity correlation.

The figures are defined exactly as gensim's ``KeyedVectors.evaluate_word_analogies``
and ``evaluate_word_pairs`` define them (same vocabulary restriction, case folding,
out-of-vocabulary rule and tie handling), so that they can be compared with
published gensim numbers. The analogy search is batched: one matrix product per
block of questions instead of one pass over the vocabulary per question; where
two candidates score within rounding distance of each other, the question is
re-scored exactly as gensim scores it, so the answers never differ.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nlpkit.errors import InputError, NlpkitError

DEFAULT_RESTRICT_VOCAB = 300_000
# scores closer than this may be ordered differently by a matrix product than by gensim's per-question product
_CLOSE = 1e-5


def gensim_test_file(name: str) -> str:
    """A file from gensim's test data (questions-words.txt, wordsim353.tsv, simlex999.txt)."""
    from gensim.test.utils import datapath

    path = datapath(name)
    if not os.path.exists(path):
        raise NlpkitError(f"gensim's test data has no {name} (looked at {path}); pass the file explicitly")
    return path


@dataclass
class SectionScore:
    section: str
    correct: int
    total: int  # questions evaluated (all words in the vocabulary)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def as_dict(self) -> dict:
        return {"section": self.section, "correct": self.correct, "total": self.total, "accuracy": round(self.accuracy, 6)}


@dataclass
class AnalogyScore:
    file: str
    sections: list[SectionScore]
    overall: SectionScore
    questions: int  # valid lines in the file
    oov: int  # questions skipped because a word is out of the vocabulary

    @property
    def oov_rate(self) -> float:
        return self.oov / self.questions if self.questions else 0.0

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "accuracy": round(self.overall.accuracy, 6),
            "correct": self.overall.correct,
            "evaluated": self.overall.total,
            "questions": self.questions,
            "oov": self.oov,
            "oov_rate": round(self.oov_rate, 6),
            "sections": [s.as_dict() for s in self.sections],
        }


@dataclass
class SimilarityScore:
    file: str
    spearman: float
    pearson: float
    pairs: int  # pairs scored
    oov: int
    spearman_pvalue: float = field(default=float("nan"), repr=False)

    @property
    def oov_rate(self) -> float:
        total = self.pairs + self.oov
        return self.oov / total if total else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("spearman_pvalue")
        out["oov_rate"] = round(self.oov_rate, 6)
        out["spearman"] = round(self.spearman, 6)
        out["pearson"] = round(self.pearson, 6)
        return out


def _ok_vocab(kv, restrict_vocab: int, case_insensitive: bool) -> dict[str, int]:
    # as gensim: the first `restrict_vocab` words; when folding case, the most frequent spelling wins
    keys = kv.index_to_key[:restrict_vocab]
    if case_insensitive:
        return {k.upper(): i for i, k in reversed(list(enumerate(keys)))}
    return {k: i for i, k in reversed(list(enumerate(keys)))}


def _read_lines(path: str | os.PathLike) -> list[str]:
    from nlpkit.io import open_binary

    try:
        with open_binary(path) as f:
            raw = f.read()
    except OSError as e:
        raise InputError(str(path), e.strerror or str(e)) from None
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise InputError(str(path), f"not valid UTF-8 (byte {e.start})") from None


# --------------------------------------------------------------------------- analogies


def evaluate_analogies(kv, path: str | os.PathLike | None = None, *, restrict_vocab: int = DEFAULT_RESTRICT_VOCAB,
                       case_insensitive: bool = True, block: int = 128) -> AnalogyScore:
    """3CosAdd accuracy on an analogy file in the Google format (": section" headers, then "a b c d" lines)."""
    import torch
    from gensim import matutils

    path = str(path or gensim_test_file("questions-words.txt"))
    ok_vocab = _ok_vocab(kv, restrict_vocab, case_insensitive)
    section_names: list[str] = []
    questions: list[tuple[int, int, int, str, frozenset, int]] = []  # ia, ib, ic, expected, ignore, section
    n_questions = oov = 0
    for lineno, line in enumerate(_read_lines(path), 1):
        if line.startswith(": "):
            section_names.append(line.lstrip(": ").strip())
            continue
        if not section_names:
            raise InputError(f"{path}:{lineno}", "an analogy line before the first ': section' header")
        words = [w.upper() for w in line.split()] if case_insensitive else line.split()
        if len(words) != 4:
            continue  # gensim skips invalid lines too
        n_questions += 1
        a, b, c, expected = words
        if a not in ok_vocab or b not in ok_vocab or c not in ok_vocab or expected not in ok_vocab:
            oov += 1
            continue
        questions.append((ok_vocab[a], ok_vocab[b], ok_vocab[c], expected, frozenset((a, b, c)), len(section_names) - 1))
    if n_questions == 0:
        raise InputError(path, "no analogy questions (expected lines 'a b c d' under ': section' headers)")

    kv.fill_norms()
    size = min(restrict_vocab, len(kv.vectors))
    vectors, norms = kv.vectors[:size], kv.norms[:size]
    unit_torch = torch.from_numpy(np.ascontiguousarray(vectors / norms[:, None]))
    unit = lambda i: kv.vectors[i] / kv.norms[i]  # noqa: E731  (gensim's get_vector(norm=True))
    correct = np.zeros(len(questions), dtype=bool)
    keep = 5 + 3 + 1  # gensim looks at the top 5 + 3 query words; one more shows a near-tie at the cut-off
    for start in range(0, len(questions), block):
        chunk = questions[start:start + block]
        means = np.stack([_mean_vector(unit(ib), unit(ic), unit(ia), matutils) for ia, ib, ic, *_ in chunk])
        # the batched pass: torch's matmul and top-k (threaded, and far faster than a per-row argpartition)
        scores = torch.from_numpy(means) @ unit_torch.T  # (questions, vocabulary)
        top = torch.topk(scores, keep, dim=1, sorted=True)
        ranked, ranked_ids = top.values.numpy(), top.indices.numpy()
        near_tie = (np.abs(np.diff(ranked, axis=1)) < _CLOSE).any(axis=1)
        for q, (ia, ib, ic, expected, ignore, _) in enumerate(chunk):
            if near_tie[q]:
                # candidates within rounding distance: score this question exactly as gensim does
                column = np.dot(vectors, means[q]) / norms
                best = matutils.argsort(column, topn=keep - 1, reverse=True)
            else:
                best = ranked_ids[q, : keep - 1]
            correct[start + q] = _answer(best, (ib, ic, ia), ignore, kv, case_insensitive) == expected

    section_of = np.array([s for *_, s in questions], dtype=np.int64)
    sections = []
    for i, name in enumerate(section_names):
        mask = section_of == i
        sections.append(SectionScore(name, int(correct[mask].sum()), int(mask.sum())))
    overall = SectionScore("total", int(correct.sum()), len(questions))
    return AnalogyScore(path, sections, overall, n_questions, oov)


def _mean_vector(vb, vc, va, matutils):
    # gensim's get_mean_vector with weights (1, 1, -1), float32 accumulation, then unit length
    mean = np.zeros(vb.shape[0], dtype=vb.dtype)
    for weight, vec in ((1.0, vb), (1.0, vc), (-1.0, va)):
        mean += np.float64(weight) * vec
    mean = mean / 3.0
    return matutils.unitvec(mean).astype(np.float32)


def _answer(best, query_ids, ignore, kv, case_insensitive: bool):
    """gensim's choice for one question: of the top 5 (query words left out), the first not in `ignore`."""
    predicted = None
    for i in [i for i in best if i not in query_ids][:5]:
        word = kv.index_to_key[i]
        predicted = word.upper() if case_insensitive else word
        if predicted not in ignore:
            break
    return predicted


# --------------------------------------------------------------------------- word pairs


def evaluate_similarity(kv, path: str | os.PathLike | None = None, *, restrict_vocab: int = DEFAULT_RESTRICT_VOCAB,
                        case_insensitive: bool = True, delimiter: str = "\t") -> SimilarityScore:
    """Spearman (and Pearson) correlation between cosine similarity and human scores on a word-pair file."""
    from gensim import matutils
    from scipy import stats

    path = str(path or gensim_test_file("wordsim353.tsv"))
    ok_vocab = _ok_vocab(kv, restrict_vocab, case_insensitive)
    gold: list[float] = []
    model: list[float] = []
    oov = 0
    for line in _read_lines(path):
        if not line or line.startswith("#"):
            continue
        parts = line.split(delimiter)
        if len(parts) != 3:
            continue
        a, b, score = [p.upper() for p in parts] if case_insensitive else parts
        try:
            value = float(score)
        except ValueError:
            continue
        if a not in ok_vocab or b not in ok_vocab:
            oov += 1
            continue
        gold.append(value)
        model.append(float(np.dot(matutils.unitvec(kv.vectors[ok_vocab[a]]), matutils.unitvec(kv.vectors[ok_vocab[b]]))))
    if not gold:
        raise InputError(path, f"no word pair to score: the file holds no 'word<TAB>word<TAB>score' lines in the vectors' vocabulary ({oov} out of vocabulary)")
    spearman = stats.spearmanr(gold, model)
    pearson = stats.pearsonr(gold, model)
    return SimilarityScore(path, float(spearman[0]), float(pearson[0]), len(gold), oov, float(spearman[1]))


def evaluate(kv, analogies: str | None = None, similarity: list[str] | None = None, **options) -> dict:
    """Both evaluations as one JSON-ready dict (what `embed evaluate` prints)."""
    result: dict = {"vocab_size": len(kv), "dim": int(kv.vector_size)}
    if analogies != "none":
        result["analogies"] = evaluate_analogies(kv, analogies, **options).as_dict()
    files = similarity if similarity is not None else [gensim_test_file("wordsim353.tsv"), gensim_test_file("simlex999.txt")]
    result["similarity"] = [
        evaluate_similarity(kv, f, **{k: v for k, v in options.items() if k != "block"}).as_dict() for f in files
    ]
    for entry in result["similarity"]:
        entry["name"] = Path(entry["file"]).name
    if "analogies" in result:
        result["analogies"]["name"] = Path(result["analogies"]["file"]).name
    return result

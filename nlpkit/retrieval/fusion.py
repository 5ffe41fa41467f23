"""Hybrid search: two ranked lists (BM25's and the dense index's) fused into one.

- ``rrf``, reciprocal rank fusion (Cormack, Clarke and Büttcher 2009): a document scores
  ``sum 1 / (RRF_K + rank)`` over the lists it is in (rank from 1), ``RRF_K`` = 60.
- ``weighted``: each list's scores min-max normalized to [0, 1] over its candidates, then
  ``weight * dense + (1 - weight) * bm25`` (a list a document is not in adds 0).

Each list holds the top ``CANDIDATES`` (or k, when larger) of its method.
:data:`DEFAULT_FUSION` and :data:`DEFAULT_WEIGHT` are the defaults of ``search --mode
hybrid``; they are chosen on a validation split of queries, never on the queries scored.
"""

from __future__ import annotations

FUSIONS = ("rrf", "weighted")
# chosen on the AG News retrieval development set: the best nDCG@10 of RRF k 10/30/60/100 and the weighted
# sum 0..1 on a seeded 30% of its queries, never the 70% scored (docs/retrieval.md has the candidates' table;
# benchmarks/bench_retrieval.py ag_news remakes it)
DEFAULT_FUSION = "weighted"
#: the dense list's weight in the weighted sum (BM25's is 1 - weight)
DEFAULT_WEIGHT = 0.6
RRF_K = 60
#: the depth of each list fused
CANDIDATES = 100

Ranked = list[tuple[int, float]]


def rrf(lists: list[Ranked], k: int = RRF_K) -> Ranked:
    scores: dict[int, float] = {}
    for ranked in lists:
        for rank, (doc, _) in enumerate(ranked, 1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return _sorted(scores)


def weighted(bm25: Ranked, dense: Ranked, weight: float = DEFAULT_WEIGHT) -> Ranked:
    scores: dict[int, float] = {}
    for ranked, w in ((bm25, 1.0 - weight), (dense, weight)):
        for doc, score in _min_max(ranked):
            scores[doc] = scores.get(doc, 0.0) + w * score
    return _sorted(scores)


def fuse(bm25: Ranked, dense: Ranked, fusion: str = DEFAULT_FUSION, weight: float = DEFAULT_WEIGHT) -> Ranked:
    if fusion == "rrf":
        return rrf([bm25, dense])
    if fusion == "weighted":
        return weighted(bm25, dense, weight)
    raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, not {fusion!r}")


def _min_max(ranked: Ranked) -> Ranked:
    if not ranked:
        return []
    values = [s for _, s in ranked]
    low, high = min(values), max(values)
    if high == low:
        return [(doc, 1.0) for doc, _ in ranked]
    return [(doc, (s - low) / (high - low)) for doc, s in ranked]


def _sorted(scores: dict[int, float]) -> Ranked:
    # ties broken by position in the index, so that a fused list is the same on every run
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))

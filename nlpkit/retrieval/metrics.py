"""Retrieval metrics with the semantics of trec_eval, as BEIR reports them.

A *run* maps each query id to its retrieved documents: a mapping ``{doc_id: score}`` (the
shape pytrec_eval and BEIR take) or a sequence of ``(doc_id, score)`` pairs, or of hits
``{"id", "score"}`` as ``nlpkit search`` writes them. *qrels* map each query id to
``{doc_id: relevance}`` (integers; relevant means > 0).

As trec_eval does:

- a run's documents are ranked by score, highest first, ties broken by document id in
  descending order (so the order a search returned ties in does not matter);
- nDCG@k uses the relevance itself as the gain and log2(rank + 1) as the discount; the ideal
  ranking is every judged document of the query by relevance (``ndcg_cut.k``);
- Recall@k is the relevant documents in the top k over all the relevant ones (``recall.k``);
- MAP@k sums the precision at the rank of each relevant document in the top k and divides
  by all the relevant ones (``map_cut.k``);
- MRR@k is 1 / the rank of the first relevant document in the top k, else 0 (BEIR's
  ``mrr@k``; trec_eval's ``recip_rank`` of the run cut at k);
- a query is scored when it is both in the run and in the qrels, and the mean is taken over
  those queries (BEIR divides by the queries scored); a query whose judgements hold no
  relevant document scores 0.

As BEIR does by default, a document whose id equals the query's id is dropped from that
query's results first (``ignore_identical_ids``; ArguAna and Quora need it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@100")
FAMILIES = ("ndcg", "recall", "mrr", "map", "precision")
_NAME = re.compile(r"^(ndcg|recall|mrr|map|precision)@([1-9][0-9]*)$")

Run = Mapping[str, "Mapping[str, float] | Sequence"]
Qrels = Mapping[str, Mapping[str, int]]


def parse_metric(name: str) -> tuple[str, int]:
    """("ndcg", 10) for "ndcg@10"; ValueError for a name outside FAMILIES@K."""
    match = _NAME.match(name.strip().lower())
    if not match:
        raise ValueError(f"unknown metric {name!r}: expected one of {', '.join(f + '@K' for f in FAMILIES)}")
    return match.group(1), int(match.group(2))


def _scored(results) -> list[tuple[str, float]]:
    if isinstance(results, Mapping):
        return [(str(doc), float(score)) for doc, score in results.items()]
    pairs = []
    for item in results:
        if isinstance(item, Mapping):
            pairs.append((str(item["id"]), float(item["score"])))
        else:
            doc, score = item
            pairs.append((str(doc), float(score)))
    return pairs


def ranking(results, *, query_id: str | None = None, ignore_identical_ids: bool = True) -> list[str]:
    """Document ids in trec_eval's order: score descending, ties by id descending."""
    pairs = _scored(results)
    if ignore_identical_ids and query_id is not None:
        pairs = [(doc, score) for doc, score in pairs if doc != query_id]
    pairs.sort(key=lambda pair: (pair[1], pair[0]), reverse=True)
    return [doc for doc, _ in pairs]


def query_scores(ranked: Sequence[str], judged: Mapping[str, int], metrics: Iterable[str] = METRICS) -> dict:
    """Each metric for one query: its ranked document ids against its judgements."""
    relevant = {doc for doc, rel in judged.items() if rel > 0}
    ideal = sorted((rel for rel in judged.values() if rel > 0), reverse=True)
    out = {}
    for name in metrics:
        family, k = parse_metric(name)
        top = ranked[:k]
        if family == "ndcg":
            dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(top) if judged.get(doc, 0) > 0)
            idcg = sum(rel / math.log2(rank + 2) for rank, rel in enumerate(ideal[:k]))
            value = dcg / idcg if idcg > 0 else 0.0
        elif family == "recall":
            value = sum(doc in relevant for doc in top) / len(relevant) if relevant else 0.0
        elif family == "precision":
            value = sum(doc in relevant for doc in top) / k
        elif family == "mrr":
            value = next((1.0 / (rank + 1) for rank, doc in enumerate(top) if doc in relevant), 0.0)
        else:  # map
            found, total = 0, 0.0
            for rank, doc in enumerate(top):
                if doc in relevant:
                    found += 1
                    total += found / (rank + 1)
            value = total / len(relevant) if relevant else 0.0
        out[name] = value
    return out


def per_query(run: Run, qrels: Qrels, metrics: Iterable[str] = METRICS, *,
              ignore_identical_ids: bool = True) -> dict[str, dict[str, float]]:
    """{query id: {metric: value}} for every query both in the run and in the qrels."""
    metrics = tuple(metrics)
    for name in metrics:
        parse_metric(name)
    return {qid: query_scores(ranking(run[qid], query_id=qid, ignore_identical_ids=ignore_identical_ids),
                              qrels[qid], metrics)
            for qid in run if qid in qrels}


def mean_scores(scores: Mapping[str, Mapping[str, float]], metrics: Iterable[str] = METRICS) -> dict[str, float]:
    """The mean of each metric over the queries of `scores` (0.0 for none)."""
    n = len(scores)
    return {name: (sum(s[name] for s in scores.values()) / n if n else 0.0) for name in metrics}


def evaluate(run: Run, qrels: Qrels, metrics: Iterable[str] = METRICS, *,
             ignore_identical_ids: bool = True) -> dict[str, float]:
    """The mean of each metric over the queries both in the run and in the qrels."""
    metrics = tuple(metrics)
    return mean_scores(per_query(run, qrels, metrics, ignore_identical_ids=ignore_identical_ids), metrics)

"""`bench retrieval`'s report.md and report.html, from its results.json only (see nlpkit.retrieval.bench).

Built from the bench report toolkit (nlpkit.bench.toolkit) and nlpkit.bench.report's atomic writer:
the same tables, style, embedded SVG plots and writes as the other benchmarks.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from nlpkit.bench.report import NONE_PUBLISHED, write_rendered
from nlpkit.bench.toolkit import CSS, Table, hardware_line, html_table, md_table, svg

METRIC_HEADERS = [("ndcg@10", "nDCG@10"), ("recall@10", "R@10"), ("recall@100", "R@100"), ("mrr@10", "MRR@10"),
                  ("map@100", "MAP@100")]


def _reference(results: dict, row: dict) -> dict | None:
    """The published figure of the row's family (results.json names it), when the set has one."""
    return (results.get("references") or {}).get(row.get("reference_family") or "")


def _mb(n: int | None) -> str:
    return "" if n is None else f"{n / 1e6:,.1f}"


def _num(x, fmt: str = "{:,.1f}") -> str:
    return "" if x is None else fmt.format(x)


def rows_table(results: dict) -> Table:
    known = bool(results.get("references"))
    headers = ["row"] + [h for _, h in METRIC_HEADERS[:1]] + (["published", "Δ"] if known else []) + \
        [h for _, h in METRIC_HEADERS[1:]] + ["queries", "build s", "encode docs/s", "queries/s", "p50 ms", "p95 ms",
                                              "size MB"]
    table = Table(f"Retrieval on {data_name(results)} ({results['data']['split']} queries, top 100 scored)", headers)
    for row in results["rows"]:
        cells = [row["row"], f"{row['ndcg@10']:.4f}"]
        if known:
            ref = _reference(results, row)
            cells += [f"{ref['ndcg@10']:.3f}" if ref else NONE_PUBLISHED,
                      f"{row['ndcg@10'] - ref['ndcg@10']:+.3f}" if ref else ""]
        cells += [f"{row[key]:.4f}" for key, _ in METRIC_HEADERS[1:]]
        cells += [f"{row['queries_scored']:,}", _num(row.get("index_build_seconds")),
                  _num(row.get("encoder_docs_per_second"), "{:,.0f}"), _num(row.get("queries_per_second"), "{:,.0f}"),
                  _num(row["latency_ms"]["p50"], "{:.2f}"), _num(row["latency_ms"]["p95"], "{:.2f}"),
                  _mb(row.get("index_bytes"))]
        table.rows.append(cells)
    table.notes += notes(results)
    return table


def candidates_table(results: dict) -> Table | None:
    tuning = results.get("tuning")
    if not tuning:
        return None
    table = Table(f"Fusion candidates on the {tuning['validation_queries']:,} validation queries (a seeded "
                  f"{tuning['share']:.0%}, seed {tuning['seed']}); chosen: {tuning['chosen_label']}",
                  ["fusion"] + [h for _, h in METRIC_HEADERS])
    for c in tuning["candidates"]:
        table.rows.append([c["label"] + (" (chosen)" if c["label"] == tuning["chosen_label"] else "")]
                          + [f"{c[key]:.4f}" for key, _ in METRIC_HEADERS])
    return table


def data_name(results: dict) -> str:
    d = results["data"]
    return {"scifact": "BEIR SciFact", "nfcorpus": "BEIR NFCorpus"}.get(d.get("name") or "", d["path"])


def notes(results: dict) -> list[str]:
    d = results["data"]
    out = [f"{d['documents']:,} documents; {d['queries']:,} judged queries"
           + (f" (--limit {d['limit']:,}: a seeded subset)" if d.get("limit") else "") + "."]
    if d.get("comparable") is False:
        out.append("NOT comparable with the published figures: not the whole published set (its documents, or its "
                   "judged test queries, differ in number).")
    hybrid = next((r for r in results["rows"] if r["row"] == "hybrid"), None)
    tuning = results.get("tuning")
    if hybrid and tuning:
        out.append(f"hybrid's fusion ({tuning['chosen_label']}) was chosen on a seeded {tuning['share']:.0%} of the "
                   f"queries ({tuning['validation_queries']:,}); hybrid is scored only on the other "
                   f"{tuning['scored_queries']:,}, the other rows on all of them (on those same "
                   f"{tuning['scored_queries']:,}: " + ", ".join(
                       f"{r['row']} {r['on_hybrid_queries']['ndcg@10']:.4f}" for r in results["rows"]
                       if r.get("on_hybrid_queries")) + ").")
    elif hybrid:
        out.append(f"hybrid uses the default fusion ({results['fusion_default']['label']}), chosen on the AG News "
                   "retrieval development set's validation queries (docs/retrieval.md); --tune-fusion chooses it on "
                   "this set instead.")
    out.append("build s: the whole index from the documents, encoding included; encode docs/s: documents per second "
               "of the encoder alone; queries/s: every query searched in batches of 64 (top 100); p50/p95: one "
               f"query at a time (top 10), {results['settings']['latency_queries']} seeded queries after a warm-up; "
               "size: the index directory on disk (records included).")
    return out


def references_lines(results: dict) -> list[str]:
    refs = results.get("references") or {}
    return [f"{ref['ndcg@10']:.3f} nDCG@10, {ref['label']}: {ref['source']}. Checked: {ref['checked']}."
            for ref in refs.values()]


def render_markdown(results: dict) -> str:
    lines = [f"# Retrieval benchmark: {data_name(results)}", "",
             f"- **Machine**: {hardware_line(results)}; seed {results['settings']['seed']}; "
             f"{results['wall_seconds']:,.0f} s in all.", ""]
    lines += md_table(rows_table(results))
    candidates = candidates_table(results)
    if candidates:
        lines += md_table(candidates)
    refs = references_lines(results)
    if refs:
        lines += ["Published figures (test queries):", ""] + [f"- {r}" for r in refs] + [""]
    return "\n".join(lines + ["Every figure, setting and library version: `results.json`.", ""])


def plot_ndcg(results: dict) -> str | None:
    from matplotlib.figure import Figure

    rows = results["rows"]
    if not rows:
        return None
    fig = Figure(figsize=(7, 0.5 * len(rows) + 1.3))
    ax = fig.subplots()
    y = list(range(len(rows)))[::-1]
    ax.barh([v + 0.18 for v in y], [r["ndcg@10"] for r in rows], height=0.36, color="#3b6ea8", label="this run")
    refs = [_reference(results, r) for r in rows]
    if any(refs):
        ax.barh([v - 0.18 for v, ref in zip(y, refs) if ref], [ref["ndcg@10"] for ref in refs if ref], height=0.36,
                color="#c9c9c9", label="published")
        ax.legend(fontsize=8)
    for v, r in zip(y, rows):
        ax.text(r["ndcg@10"] + 0.005, v + 0.18, f"{r['ndcg@10']:.4f}", va="center", fontsize=8)
    ax.set_yticks(y, [r["row"] for r in rows])
    ax.set_xlim(0, 1)
    ax.set_xlabel("nDCG@10")
    return svg(fig)


def render_html(results: dict) -> str:
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>nlpkit retrieval benchmark: {e(data_name(results))}</title>", f"<style>{CSS}</style></head><body>",
             f"<h1>Retrieval benchmark: {e(data_name(results))}</h1>",
             f"<p><b>Machine</b>: {e(hardware_line(results))}; seed {results['settings']['seed']}; "
             f"{results['wall_seconds']:,.0f} s in all.</p>", html_table(rows_table(results))]
    candidates = candidates_table(results)
    if candidates:
        parts.append(html_table(candidates))
    svg = plot_ndcg(results)
    if svg is not None:
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        parts.append(f'<figure id="plot-ndcg"><figcaption>nDCG@10 per row</figcaption>'
                     f'<img alt="nDCG@10 per row" src="data:image/svg+xml;base64,{data}"></figure>')
    refs = references_lines(results)
    if refs:
        parts.append("<h2>Published figures</h2><ul>" + "".join(f"<li>{e(r)}</li>" for r in refs) + "</ul>")
    parts.append("<p class=muted>Every figure is in <code>results.json</code> beside this file.</p></body></html>")
    return "\n".join(parts)


def write_retrieval_reports(results: dict, out: str | Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "nlpkit"  # the same results give the same SVG
    return write_rendered(out, render_markdown(results), render_html(results))

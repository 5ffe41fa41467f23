"""Reports of `bench ud` and `bench ner`: rich tables, report.md and a self-contained report.html.

Every figure comes from ``results.json`` (:func:`nlpkit.bench.engines.run_benchmark`).
Each benchmark describes its tables once (:func:`tables`: a title, headers,
rows of display strings); the terminal, Markdown and HTML renderings draw
those same tables, so they cannot disagree. Plots are matplotlib SVG embedded
as ``data:`` images (the HTML opens without a network).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from nlpkit.bench.toolkit import CSS, Table, hardware_line, html_table, md_table, svg

UD_GOLD = ("UPOS", "XPOS", "Lemmas", "UAS", "LAS")
UD_RAW = ("Tokens", "Sentences", "Words", "UPOS", "XPOS", "Lemmas", "UAS", "LAS")
# spaCy's meta.json "performance" keys, as the report names them (scores on OntoNotes 5 / its own dev data)
SPACY_PUBLISHED = {"token_acc": "Tokens (acc)", "sents_f": "Sentences F1", "tag_acc": "XPOS (acc)",
                   "pos_acc": "UPOS (acc)", "lemma_acc": "Lemmas (acc)", "dep_uas": "UAS", "dep_las": "LAS",
                   "ents_p": "NER P", "ents_r": "NER R", "ents_f": "NER F1"}


def _f(x) -> str:
    return "" if x is None else f"{x:.2f}"


def _done(results: dict) -> list[dict]:
    return [r for r in results["engines"] if r.get("status") == "done"]


def _not_done(results: dict) -> list[str]:
    return [f"`{r['engine']}`: {r['status']} ({r.get('error')})" for r in results["engines"] if r.get("status") != "done"]


def _load_note(results: dict) -> str:
    loads = [f"{r['engine']} {r['load_average'][0]:.1f}-{r['load_average'][1]:.1f}" for r in _done(results)
             if r.get("load_average")]
    return ("words/s: gold words over the seconds of the engine's annotation call, model loaded and warmed up"
            + (f"; the machine's 1-minute load average during each run: {', '.join(loads)}" if loads else ""))


def _speed(x) -> str:
    return "" if x is None else f"{x:,}"


# --------------------------------------------------------------------------- the tables of each benchmark


def tables(results: dict) -> list[Table]:
    return ud_tables(results) if results["benchmark"] == "ud" else ner_tables(results)


def ud_tables(results: dict) -> list[Table]:
    gold = Table("Gold words: accuracy % (CoNLL 2018 F1 = accuracy when every word is given)",
                 ["engine", *UD_GOLD, "words/s"])
    raw = Table("Raw text: F1 % after aligning the engine's own tokens and sentences (CoNLL 2018)",
                ["engine", *UD_RAW, "words/s"])
    for r in _done(results):
        gold.rows.append([r["engine"], *(_f(r["gold_words"].get(m)) for m in UD_GOLD),
                          _speed(r["words_per_second"]["gold_words"])])
        raw.rows.append([r["engine"], *(_f(r["raw_text"].get(m)) for m in UD_RAW),
                         _speed(r["words_per_second"]["raw_text"])])
    for ref in results["references"].values():
        if ref.get("gold"):
            gold.rows.append([f"{ref['label']} †", *(_f(ref["gold"].get(m)) for m in UD_GOLD), ""])
        if ref.get("raw"):
            raw.rows.append([f"{ref['label']} †", *(_f(ref["raw"].get(m)) for m in UD_RAW), ""])
    for t in (gold, raw):
        t.notes = ["† published, on the EWT *test* split (see References); the rows above are this run's data.",
                   _load_note(results)]
    gold.notes += _not_done(results)
    return [gold, raw]


def ner_tables(results: dict) -> list[Table]:
    labels = sorted(results["data"].get("labels") or {})
    main = Table("Entities: exact span and type, % (conlleval / seqeval default mode)",
                 ["engine", *(f"{label} F1" for label in labels), "micro P", "micro R", "micro F1", "macro F1",
                  "pred", "gold", "words/s"])
    for r in _done(results):
        s = r["scores"]
        main.rows.append([r["engine"], *(_f(100 * s["types"][label]["f1"]) if label in s["types"] else ""
                                         for label in labels),
                          *(_f(100 * s["micro"][m]) for m in ("precision", "recall", "f1")), _f(100 * s["macro"]["f1"]),
                          f"{s['pred_entities']:,}", f"{s['gold_entities']:,}", _speed(r["words_per_second"])])
    main.notes = [_load_note(results), *_not_done(results)]
    mapping = Table("Label mapping (engine label -> gold label) and the predicted labels left out",
                    ["engine", "mapping", "ignored (not in the gold)"])
    for r in _done(results):
        s = r["scores"]
        mapping.rows.append([r["engine"], ", ".join(f"{k}={v}" for k, v in s["mapping"].items()),
                             ", ".join(f"{k} {v:,}" for k, v in s["ignored"].items()) or "none"])
    return [main, mapping]


def published_spacy(results: dict) -> Table | None:
    """spaCy's own published accuracies of the pipelines that ran, from their meta.json."""
    rows = []
    wanted = [k for k in SPACY_PUBLISHED if k.startswith("ents_") == (results["benchmark"] == "ner")]
    keys = [k for k in wanted if any(k in (r.get("spacy") or {}).get("performance", {}) for r in _done(results))]
    for r in _done(results):
        meta = r.get("spacy")
        if meta:
            perf = meta["performance"]
            rows.append([f"{r['engine']} ({meta['name']} {meta['version']})",
                         *(_f(100 * perf[k]) if isinstance(perf.get(k), (int, float)) else "" for k in keys)])
    if not rows:
        return None
    on = "OntoNotes 5" if results["benchmark"] == "ner" else "OntoNotes 5 with ClearNLP dependencies"
    return Table(f"spaCy's own published accuracies, % (on {on}, NOT this data: from each pipeline's meta.json, "
                 "the figures spacy.io/models lists)", ["pipeline", *(SPACY_PUBLISHED[k] for k in keys)], rows)


def data_line(results: dict) -> str:
    d = results["data"]
    what = f"{d['sentences']:,} sentences, {d['words']:,} words"
    if d.get("entities") is not None:
        what += f", {d['entities']:,} entities ({', '.join(f'{k} {v:,}' for k, v in d['labels'].items())})"
    if d.get("documents"):
        what += f", {d['documents']:,} documents"
    limit = f" (--limit {d['limit']:,}: the first sentences only)" if d.get("limit") else ""
    # the dataset's name only when nlpkit found the file itself (--data may be any treebank)
    known = f"; {results['dataset']}" if d["origin"] != "--data" else ""
    return f"{d['path']} ({d['origin']}{', ' + d['split'] + ' split' if d.get('split') else ''}): {what}{limit}{known}"


# --------------------------------------------------------------------------- terminal


def rich_tables(results: dict) -> list:
    from rich.table import Table as RichTable

    out = []
    for t in tables(results):
        table = RichTable(title=t.title)
        for i, header in enumerate(t.headers):
            table.add_column(header, justify="left" if i == 0 or header in ("mapping", "ignored (not in the gold)")
                             else "right")
        for row in t.rows:
            table.add_row(*row)
        out.append(table)
    return out


# --------------------------------------------------------------------------- Markdown


def render_markdown(results: dict) -> str:
    name = "UD English-EWT" if results["benchmark"] == "ud" else "named entities"
    out = [f"# Linguistic benchmark: {name}", "",
           f"- **Data**: {data_line(results)}.",
           f"- **Machine**: {hardware_line(results)}; each engine in its own process, one thread.",
           f"- **Time**: {results['wall_seconds']:,.0f} s for this invocation (engines kept from an earlier run are "
           "not re-timed).", ""]
    for t in tables(results):
        out += md_table(t)
    published = published_spacy(results)
    if published:
        out += md_table(published)
    out += explanation(results)
    out += ["Every figure, model versions and the data's sha256: `results.json`. Plots: `report.html`.", ""]
    return "\n".join(out)


def explanation(results: dict) -> list[str]:
    out = []
    for heading, paragraph in results.get("explanations") or []:
        out += [f"## {heading}", "", paragraph, ""]
    refs = results.get("references") or {}
    if refs:
        out += ["## References", ""]
        out += [f"- {ref['label']}: {ref['source']}." for ref in refs.values()]
        out.append("")
    return out


# --------------------------------------------------------------------------- plots


def _bars(ax, groups: list[str], series: dict[str, list[float | None]], ylabel: str) -> None:
    n = max(1, len(series))
    width = 0.8 / n
    colors = ["#3b6ea8", "#e08a2c", "#4a9a5b", "#b0413e", "#7a5aa6", "#8c8c8c"]
    for k, (name, values) in enumerate(series.items()):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(groups))]
        points = [(x, v) for x, v in zip(xs, values) if v is not None]
        ax.bar([p[0] for p in points], [p[1] for p in points], width=width, label=name, color=colors[k % len(colors)])
        for x, v in points:
            ax.text(x, v + 0.8, f"{v:.1f}", ha="center", fontsize=6, rotation=90)
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(4, n), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)


def plot_scores(results: dict) -> str | None:
    """A score per engine per metric (UD: one panel per mode; NER: micro P/R/F1 and macro F1)."""
    from matplotlib.figure import Figure

    done = _done(results)
    if not done:
        return None
    if results["benchmark"] == "ud":
        fig = Figure(figsize=(8, 7.5), layout="constrained")
        gold_ax, raw_ax = fig.subplots(2, 1)
        _bars(gold_ax, list(UD_GOLD), {r["engine"]: [r["gold_words"].get(m) for m in UD_GOLD] for r in done}, "%")
        gold_ax.set_title("Gold words", fontsize=9)
        _bars(raw_ax, list(UD_RAW), {r["engine"]: [r["raw_text"].get(m) for m in UD_RAW] for r in done}, "F1 %")
        raw_ax.set_title("Raw text (CoNLL 2018 alignment)", fontsize=9)
    else:
        fig = Figure(figsize=(7, 3.8), layout="constrained")
        ax = fig.subplots()
        metrics = [("micro", "precision"), ("micro", "recall"), ("micro", "f1"), ("macro", "f1")]
        _bars(ax, [f"{a} {m}" for a, m in metrics],
              {r["engine"]: [100 * r["scores"][a][m] for a, m in metrics] for r in done}, "%")
        ax.set_title("Entity scores per engine", fontsize=9)
    return svg(fig)


def plot_per_type(results: dict) -> str | None:
    """NER: F1 per entity type per engine."""
    from matplotlib.figure import Figure

    done = _done(results)
    if results["benchmark"] != "ner" or not done:
        return None
    labels = sorted(results["data"].get("labels") or {})
    fig = Figure(figsize=(7, 3.8), layout="constrained")
    ax = fig.subplots()
    _bars(ax, labels, {r["engine"]: [100 * r["scores"]["types"][lab]["f1"] if lab in r["scores"]["types"] else None
                                     for lab in labels] for r in done}, "F1 %")
    ax.set_title("F1 per entity type", fontsize=9)
    return svg(fig)


def plot_speed(results: dict) -> str | None:
    from matplotlib.figure import Figure

    done = _done(results)
    if not done:
        return None
    fig = Figure(figsize=(7, 0.5 * len(done) + 1.5), layout="constrained")
    ax = fig.subplots()
    if results["benchmark"] == "ud":
        speeds = {"gold words": [r["words_per_second"]["gold_words"] for r in done],
                  "raw text": [r["words_per_second"]["raw_text"] for r in done]}
    else:
        speeds = {"gold tokens": [r["words_per_second"] for r in done]}
    height = 0.8 / len(speeds)
    for k, (name, values) in enumerate(speeds.items()):
        ys = [i + (k - (len(speeds) - 1) / 2) * height for i in range(len(done))]
        ax.barh(ys, values, height=height, label=name)
        for y, v in zip(ys, values):
            ax.text(v, y, f" {v:,}", va="center", fontsize=7)
    ax.set_yticks(range(len(done)), [r["engine"] for r in done], fontsize=8)
    ax.set_xlabel("words per second (one process, one thread)", fontsize=8)
    ax.legend(fontsize=7)
    return svg(fig)


PLOTS = [
    ("scores", "Score per engine per metric", plot_scores),
    ("types", "F1 per entity type", plot_per_type),
    ("speed", "Words per second", plot_speed),
]


# --------------------------------------------------------------------------- HTML


def render_html(results: dict, plots: dict[str, str | None]) -> str:
    e = html.escape
    name = "UD English-EWT" if results["benchmark"] == "ud" else "named entities"
    parts = ["<!doctype html><html><head><meta charset=utf-8>", f"<title>nlpkit bench {e(results['benchmark'])}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>Linguistic benchmark: {e(name)}</h1>",
             f"<p><b>Data</b>: {e(data_line(results))}.<br><b>Machine</b>: "
             f"{e(hardware_line(results))}; each engine in its own process.</p>"]
    parts += [html_table(t) for t in tables(results)]
    published = published_spacy(results)
    if published:
        parts.append(html_table(published))
    for key, caption, _ in PLOTS:
        svg = plots.get(key)
        if svg is not None:
            data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
            parts.append(f'<figure id="plot-{key}"><figcaption>{e(caption)}</figcaption>'
                         f'<img alt="{e(caption)}" src="data:image/svg+xml;base64,{data}"></figure>')
    for line in explanation(results):
        if line.startswith("## "):
            parts.append(f"<h2>{e(line[3:])}</h2>")
        elif line.startswith("- "):
            parts.append(f"<p>{e(line[2:])}</p>")
        elif line:
            parts.append(f"<p>{e(line)}</p>")
    parts.append("<p class=muted>Every figure is in <code>results.json</code> beside this file.</p></body></html>")
    return "\n".join(parts)


def write_reports(results: dict, out: str | Path) -> dict[str, Path]:
    import matplotlib

    from nlpkit.files import atomic_write_bytes

    matplotlib.rcParams["svg.hashsalt"] = "nlpkit"  # the same results give the same SVG
    out = Path(out)
    paths = {"md": out / "report.md", "html": out / "report.html"}
    atomic_write_bytes(paths["md"], render_markdown(results).encode("utf-8"))
    plots = {key: draw(results) for key, _, draw in PLOTS}
    atomic_write_bytes(paths["html"], render_html(results, plots).encode("utf-8"))
    return paths

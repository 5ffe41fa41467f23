"""The benchmark's report: a rich table, report.md, and a self-contained report.html with plots.

Every figure comes from ``results.json`` (see :mod:`nlpkit.bench.runner`), so
the three renderings cannot disagree. Plots are drawn with matplotlib as SVG
and embedded as ``data:`` images: the HTML opens without a network.

Published figures appear only for a corpus that has them (``results["references"]``
holds the corpus's own): each row beside its family's figure, or "none
published"; for a corpus without any, the columns are left out.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from nlpkit.bench.toolkit import CSS, hardware_line, svg

NONE_PUBLISHED = "none published"
TITLES = {"imdb": "IMDb", "ag_news": "AG News", "sst2": "SST-2"}


# --------------------------------------------------------------------------- figures per row


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}"


def _num(x: float | None, fmt: str = "{:,.1f}") -> str:
    return "" if x is None else fmt.format(x)


def _weights(n: int | None) -> str:
    if n is None:
        return ""
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e3 else str(n)


def title(results: dict) -> str:
    corpus = results.get("corpus")
    return f"{TITLES.get(corpus, corpus or results['data'].get('name') or 'corpus')} benchmark"


def has_references(results: dict) -> bool:
    return bool(results.get("references"))


def row_references(results: dict, row: dict) -> list[dict]:
    return [results["references"][key] for key in row.get("references") or [] if key in results["references"]]


def primary_reference(results: dict, row: dict) -> dict | None:
    """The row's headline figure: the first of its family's that later work reproduced."""
    refs = [ref for ref in row_references(results, row) if not ref.get("not_reproduced")]
    return refs[0] if refs else None


def table_rows(results: dict) -> list[dict]:
    """One dict of display strings per method, shared by the terminal, Markdown and HTML tables."""
    rows = []
    for r in results["methods"]:
        ref = primary_reference(results, r)
        done = r.get("status") == "done"
        delta = (100 * r["accuracy"] - ref["accuracy"]) if done and ref else None
        rows.append({
            "method": r["method"],
            "status": "" if done else r["status"],
            "accuracy": _pct(r.get("accuracy")) if done else "",
            "macro_f1": _pct(r.get("macro_f1")) if done else "",
            "reference": f"{ref['accuracy']:.2f}" if ref else NONE_PUBLISHED,
            "reference_label": ref["label"] if ref else "",
            "delta": f"{delta:+.2f}" if delta is not None else "",
            "train_s": _num(r.get("train_seconds")) if done else "",
            "docs_s": _num(r.get("docs_per_second"), "{:,.0f}") if done else "",
            "peak_mb": _num(r.get("peak_rss_mb"), "{:,.0f}") if done else "",
            "device": r.get("device", "") if done else "",
            "weights": _weights(r.get("n_weights")) if done else "",
            "n": f"{r['n_train']:,}/{r['n_test']:,}" if done else "",
            "note": "; ".join(filter(None, [r.get("note"), None if done else r.get("error"),
                                            f"kept from the run finished {r.get('finished')}" if r.get("kept") else None])),
            "kept": bool(r.get("kept")),
        })
    return rows


COLUMNS = [  # key, header
    ("method", "method"),
    ("accuracy", "accuracy %"),
    ("macro_f1", "macro-F1 %"),
    ("reference", "published %"),
    ("delta", "Δ"),
    ("train_s", "train s"),
    ("docs_s", "docs/s"),
    ("peak_mb", "peak MB"),
    ("device", "device"),
    ("weights", "weights"),
    ("n", "train/test"),
]
REFERENCE_COLUMNS = ("reference", "delta")


def columns(results: dict) -> list[tuple[str, str]]:
    """The table's columns: without the published ones for a corpus that has no published figures."""
    return [c for c in COLUMNS if has_references(results) or c[0] not in REFERENCE_COLUMNS]


ORIGINS = {"--data": "--data", "cache": "the cached corpus", "shared": "the shared copy",
           "sample": "the embedded sample", "files": "--train/--test"}


def data_line(results: dict) -> str:
    d = results["data"]
    c = d["counts"]
    origin = ORIGINS.get(d["origin"], d["origin"])
    line = (f"{origin} {d['path']}: {c['train']:,} train + {c['valid']:,} validation "
            f"(a seeded {d['valid_fraction']:.0%} slice of train) and {c['test']:,} test records")
    if d.get("labels"):
        line += f"; {len(d['labels'])} labels ({', '.join(map(str, d['labels']))})"
    if d.get("limit"):
        line += f" (--limit {d['limit']:,}: balanced seeded subsets)"
    return line


def vectors_line(results: dict) -> str | None:
    v = results.get("vectors")
    if not v:
        return None
    p = v["params"]
    from nlpkit.bench.worker import vectors_sources

    what = vectors_sources(v)
    return (f"Word2Vec ({'skip-gram' if p.get('sg') else 'CBOW'}, {p['dim']}d, window {p['window']}, "
            f"{p['negative']} negatives, min_count {p['min_count']}, {p['epochs']} epochs) trained once on {what} "
            f"records (never the test split) in {v['seconds']:,.0f} s; {v['words']:,} words; shared by every row "
            "whose vectors are the run's")


def comparability(results: dict) -> str:
    d = results["data"]
    if d["comparable"]:
        return ("The corpus's full standard split: test figures are comparable with the published ones "
                "(beside each row).")
    if not has_references(results):
        return "No published figures are known for this corpus in nlpkit; none are shown."
    why = d.get("notice") or (f"--limit {d['limit']:,}" if d.get("limit") else "not the full standard split")
    return f"NOT comparable with published figures: {why}."


def overrides_line(results: dict) -> str | None:
    sets = [f"{method}.{name}={value!r}" for method, params in sorted((results.get("overrides") or {}).items())
            for name, value in sorted(params.items())]
    return ", ".join(sets) if sets else None


# --------------------------------------------------------------------------- terminal


def rich_table(results: dict):
    from rich.table import Table

    cols = columns(results)
    state = "" if not has_references(results) else (
        f" ({'comparable' if results['data']['comparable'] else 'NOT comparable'} with published figures)")
    table = Table(title=title(results) + state)
    for key, header in cols:
        table.add_column(header, justify="left" if key in ("method", "device") else "right", no_wrap=key == "method",
                         min_width=11 if key == "accuracy" else None)  # room for "unavailable"
    for row in table_rows(results):
        if row["status"]:
            style = "red" if row["status"] == "failed" else "dim"
            table.add_row(row["method"], f"[{style}]{row['status']}[/]", *[""] * (len(cols) - 2))
            continue
        cells = [row[key] for key, _ in cols]
        if row["kept"]:
            cells[0] += " [dim](kept)[/]"
        table.add_row(*cells)
    return table


# --------------------------------------------------------------------------- Markdown


def per_class_rows(results: dict) -> tuple[list[str], list[list[str]]]:
    """(labels, one row per finished method: its F1 per class %), the per-class table of every rendering."""
    done = _done(results)
    labels = results["data"].get("labels") or (done[0]["test"]["confusion"]["labels"] if done else [])
    rows = [[m["method"]] + [_pct(m["test"]["per_class"].get(label, {}).get("f1")) for label in labels] for m in done]
    return [str(label) for label in labels], rows


def render_markdown(results: dict) -> str:
    rows = table_rows(results)
    cols = columns(results)
    out = [f"# {title(results)}", ""]
    out += [f"- **Data**: {data_line(results)}.", f"- **{comparability(results)}**",
            f"- **Preprocessing** (the same for every method): `{results['preprocessing']['description']}`."]
    if vectors_line(results):
        out.append(f"- **Vectors**: {vectors_line(results)}.")
    if overrides_line(results):
        out.append(f"- **--set**: `{overrides_line(results)}`.")
    out += [f"- **Device**: {results['device']['used']} (asked: {results['device']['requested']}); seed "
            f"{results['seed']}; {hardware_line(results)}.",
            f"- **Time**: {results['method_seconds']:,.0f} s in the methods' processes; this invocation took "
            f"{results['wall_seconds']:,.0f} s (methods kept from an earlier run are not re-timed).", ""]
    out.append("| " + " | ".join(h for _, h in cols) + " |")
    out.append("|" + "|".join("---" if k in ("method", "device") else "---:" for k, _ in cols) + "|")
    for row in rows:
        if row["status"]:
            out.append(f"| {row['method']} | {row['status']} |" + " |" * (len(cols) - 2))
        else:
            out.append("| " + " | ".join(row[k] for k, _ in cols) + " |")
    notes = [f"- `{r['method']}`: {r['note']}" for r in rows if r["note"]]
    if notes:
        out += ["", "Notes:", ""] + notes
    labels, class_rows = per_class_rows(results)
    if class_rows:
        out += ["", "F1 per class on the test split (%):", "", "| method | " + " | ".join(labels) + " |",
                "|---|" + "---:|" * len(labels)]
        out += ["| " + " | ".join(r) + " |" for r in class_rows]
    out += ["", "Settings per method (the model kind's parameters as trained):", ""]
    out += [f"- `{m['method']}` (kind `{m['kind']}`): `{_params(m)}`" for m in _done(results)]
    if has_references(results):
        out += ["", "Published reference figures (test accuracy, the corpus's standard split), by family:", ""]
        for ref in _references(results):
            out.append(f"- {ref['accuracy']:.2f} [{ref['anchor']}]: {ref['label']}. {ref['source']}. "
                       f"Checked: {ref['checked']}." + _unreproduced(ref))
    out += ["", "Columns: accuracy and macro-F1 on the test records; "
            + ("published = the figure of the row's own family (none published: no figure of that family on this "
               "corpus); Δ = accuracy minus it; " if has_references(results) else "")
            + "train s = wall time of the `fit` that was tested; docs/s = test records per second of "
            "`predict_proba`; peak MB = peak resident memory of the method's own process (data included); "
            "weights = numbers stored in the saved model; train/test = records trained on and tested on.", "",
            "Every figure, the seeds, library versions and data fingerprints: `results.json`. "
            "Plots: `report.html`.", ""]
    return "\n".join(out)


def _unreproduced(ref: dict) -> str:
    return f" **Not reproduced**: {ref['not_reproduced']}." if ref.get("not_reproduced") else ""


def _references(results: dict) -> list[dict]:
    return sorted(results["references"].values(), key=lambda ref: ref["accuracy"])


def _params(method: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((method.get("params") or {}).items()) if v is not None)


# --------------------------------------------------------------------------- plots


def _done(results: dict) -> list[dict]:
    return [r for r in results["methods"] if r.get("status") == "done"]


def plot_accuracy(results: dict) -> str | None:
    from matplotlib.figure import Figure

    done = _done(results)
    if not done:
        return None
    fig = Figure(figsize=(7.5, 0.55 * len(done) + 1.4))
    ax = fig.subplots()
    y = list(range(len(done)))[::-1]
    acc = [100 * r["accuracy"] for r in done]
    ax.barh([v + 0.18 for v in y], acc, height=0.36, color="#3b6ea8", label="this run")
    refs = [primary_reference(results, r) for r in done]
    ref_y = [v - 0.18 for v, ref in zip(y, refs) if ref]
    if ref_y:
        ax.barh(ref_y, [ref["accuracy"] for ref in refs if ref], height=0.36, color="#c9c9c9",
                label="published (the row's family)")
    for v, a in zip(y, acc):
        ax.text(a + 0.2, v + 0.18, f"{a:.2f}", va="center", fontsize=8)

    ceiling = results["references"].get(results.get("ceiling") or "")
    if ceiling:
        ax.axvline(ceiling["accuracy"], color="#b0413e", linestyle="--", linewidth=1, label=ceiling["label"])
    ax.set_yticks(y, [r["method"] for r in done])
    low = min(acc + [ref["accuracy"] for ref in refs if ref])
    left = max(0, low - 8)
    ax.set_xlim(left, 100)
    for v, ref in zip(y, refs):  # the reference's name inside its grey bar
        if ref:
            ax.text(left + 0.3, v - 0.18, f"{ref['accuracy']:.2f} {ref['label']}", va="center", fontsize=7,
                    color="#333")
    ax.set_xlabel("test accuracy (%)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.5 / len(done) - 0.12), ncol=3, fontsize=8, frameon=False)
    ax.set_title("Accuracy per method" + (" beside its family's published figure" if ref_y else ""))
    return svg(fig)


def plot_accuracy_vs_time(results: dict) -> str | None:
    from matplotlib.figure import Figure

    done = [r for r in _done(results) if r.get("train_seconds")]
    if not done:
        return None
    fig = Figure(figsize=(7.5, 4.5))
    ax = fig.subplots()
    families = sorted({r["family"] for r in done})
    colors = dict(zip(families, ["#3b6ea8", "#e08a2c", "#4a9a5b", "#b0413e", "#7a5aa6"]))
    for family in families:
        rows = [r for r in done if r["family"] == family]
        ax.scatter([r["train_seconds"] for r in rows], [100 * r["accuracy"] for r in rows], s=40,
                   color=colors[family], label=family)
    for r in done:
        ax.annotate(r["method"], (r["train_seconds"], 100 * r["accuracy"]), textcoords="offset points",
                    xytext=(5, 4), fontsize=8)
    times = [r["train_seconds"] for r in done]
    log = max(times) / min(times) > 10
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("train time (s, log scale)" if log else "train time (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Accuracy against train time")
    return svg(fig)


def plot_confusions(results: dict) -> str | None:
    from matplotlib.figure import Figure

    done = _done(results)
    if not done:
        return None
    cols = min(4, len(done))
    rows = (len(done) + cols - 1) // cols
    fig = Figure(figsize=(2.8 * cols, 2.6 * rows + 0.3), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(done):]:
        ax.set_visible(False)
    for ax, r in zip(axes.flat, done):
        matrix = r["test"]["confusion"]["matrix"]
        labels = r["test"]["confusion"]["labels"]
        total = max(1, sum(map(sum, matrix)))
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(max(row) for row in matrix) or 1)
        for i, row in enumerate(matrix):
            for j, count in enumerate(row):
                ax.text(j, i, f"{count:,}\n{100 * count / total:.1f}%", ha="center", va="center", fontsize=8,
                        color="white" if i == j else "black")
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8, labelpad=0)
        ax.set_title(r["method"], fontsize=9)
    fig.suptitle("Confusion matrices (test)", fontsize=10)
    return svg(fig)


def _curve_keys(history: list[dict]) -> list[str]:
    """The per-epoch series worth drawing: losses and accuracies."""
    keys: list[str] = []
    for row in history:
        for k, v in row.items():
            if ("loss" in k or "acc" in k) and isinstance(v, (int, float)) and k not in keys:
                keys.append(k)
    return keys


def plot_learning_curves(results: dict) -> str | None:
    from matplotlib.figure import Figure

    curves = [r for r in _done(results) if r.get("history")]
    if not curves:
        return None
    fig = Figure(figsize=(7.5, 3.2 * len(curves)))
    axes = fig.subplots(len(curves), 2, squeeze=False)
    for (loss_ax, acc_ax), r in zip(axes, curves):
        history = r["history"]
        x = [row.get("epoch", i + 1) for i, row in enumerate(history)]
        for key in _curve_keys(history):
            ax = loss_ax if "loss" in key else acc_ax
            points = [(xi, row[key]) for xi, row in zip(x, history) if isinstance(row.get(key), (int, float))]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=key)
        for ax, what in ((loss_ax, "loss"), (acc_ax, "accuracy")):
            ax.set_title(f"{r['method']}: {what}", fontsize=9)
            ax.set_xlabel("epoch", fontsize=8)
            ax.grid(True, alpha=0.3)
            if ax.lines:
                ax.legend(fontsize=7)
    fig.suptitle("Learning curves (neural methods)", fontsize=10)
    return svg(fig)


PLOTS = [
    ("accuracy", "Accuracy beside the published figures", plot_accuracy),
    ("time", "Accuracy against train time", plot_accuracy_vs_time),
    ("confusion", "Confusion matrices", plot_confusions),
    ("learning", "Learning curves", plot_learning_curves),
]


def render_plots(results: dict) -> dict[str, str | None]:
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "nlpkit"  # stable ids: the same results give the same SVG
    return {key: draw(results) for key, _, draw in PLOTS}


# --------------------------------------------------------------------------- HTML

def render_html(results: dict, plots: dict[str, str | None]) -> str:
    e = html.escape
    rows = table_rows(results)
    cols = columns(results)
    items = [("Data", e(data_line(results))),
             ("Preprocessing", f"(the same for every method) <code>{e(results['preprocessing']['description'])}</code>")]
    if vectors_line(results):
        items.append(("Vectors", e(vectors_line(results))))
    if overrides_line(results):
        items.append(("--set", f"<code>{e(overrides_line(results))}</code>"))
    items += [("Device", f"{e(results['device']['used'])}; seed {results['seed']}; {e(hardware_line(results))}"),
              ("Time", f"{results['method_seconds']:,.0f} s in the methods' processes; this run "
                       f"{results['wall_seconds']:,.0f} s")]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>nlpkit {e(title(results))}</title>", f"<style>{CSS}</style></head><body>",
             f"<h1>{e(title(results))}</h1>",
             f'<p class="muted">nlpkit {e(results["versions"].get("nlpkit", ""))}, {e(results["created"])}</p>',
             f'<p class="{"ok" if results["data"]["comparable"] else "warn"}">{e(comparability(results))}</p>',
             "<ul>", *[f"<li><b>{name}</b>: {value}.</li>" for name, value in items],
             "</ul>", '<table id="results"><thead><tr>']
    parts += [f"<th>{e(h)}</th>" for _, h in cols]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        if row["status"]:
            parts.append(f"<tr><td>{e(row['method'])}</td><td colspan=\"{len(cols) - 1}\" class=\"muted\">"
                         f"{e(row['status'])}: {e(row['note'])}</td></tr>")
            continue
        cells = []
        for key, _ in cols:
            value = e(row[key])
            if key == "reference" and row["reference_label"]:
                value = f'<span title="{e(row["reference_label"])}">{value}</span>'
            cells.append(f'<td{"" if key in ("method", "device") else " class=num"}>{value}</td>')
        parts.append(f"<tr>{''.join(cells)}</tr>")
    parts.append("</tbody></table>")
    notes = [r for r in rows if r["note"] and not r["status"]]
    if notes:
        parts.append("<p><b>Notes</b></p><ul>" + "".join(
            f"<li><code>{e(r['method'])}</code>: {e(r['note'])}</li>" for r in notes) + "</ul>")
    labels, class_rows = per_class_rows(results)
    if class_rows:
        parts.append('<p><b>F1 per class on the test split (%)</b></p><table id="per-class"><thead><tr><th>method</th>'
                     + "".join(f"<th>{e(label)}</th>" for label in labels) + "</tr></thead><tbody>")
        parts += ["<tr>" + f"<td>{e(r[0])}</td>" + "".join(f"<td class=num>{e(v)}</td>" for v in r[1:]) + "</tr>"
                  for r in class_rows]
        parts.append("</tbody></table>")
    for key, caption, _ in PLOTS:
        svg = plots.get(key)
        if svg is None:
            parts.append(f'<figure><figcaption>{e(caption)}</figcaption><p class="muted">No data for this plot in '
                         "this run.</p></figure>")
            continue
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        parts.append(f'<figure id="plot-{key}"><figcaption>{e(caption)}</figcaption>'
                     f'<img alt="{e(caption)}" src="data:image/svg+xml;base64,{data}"></figure>')
    parts.append("<h2>Settings per method</h2><ul>")
    parts += [f"<li><code>{e(m['method'])}</code> (kind <code>{e(m['kind'])}</code>): <code>{e(_params(m))}</code>"
              "</li>" for m in _done(results)]
    parts.append("</ul>")
    if has_references(results):
        parts.append("<h2>Published reference figures</h2><ul>")
        parts += [f"<li>{ref['accuracy']:.2f} [{e(ref['anchor'])}]: {e(ref['label'])}. <span class=muted>"
                  f"{e(ref['source'])}. Checked: {e(ref['checked'])}.</span>{e(_unreproduced(ref).replace('**', ''))}"
                  "</li>" for ref in _references(results)]
        parts.append("</ul>")
    parts.append("<p class=muted>Every figure, seed, library version and data fingerprint is in "
                 "<code>results.json</code> beside this file.</p></body></html>")
    return "\n".join(parts)


def write_reports(results: dict, out: str | Path) -> dict[str, Path]:
    from nlpkit.files import atomic_write_bytes

    out = Path(out)
    paths = {"md": out / "report.md", "html": out / "report.html"}
    atomic_write_bytes(paths["md"], render_markdown(results).encode("utf-8"))
    atomic_write_bytes(paths["html"], render_html(results, render_plots(results)).encode("utf-8"))
    return paths


def write_rendered(out: str | Path, markdown: str, html_page: str) -> dict[str, Path]:
    """Any benchmark's report.md and report.html into `out`, each written atomically."""
    from nlpkit.files import atomic_write_bytes

    out = Path(out)
    paths = {"md": out / "report.md", "html": out / "report.html"}
    atomic_write_bytes(paths["md"], markdown.encode("utf-8"))
    atomic_write_bytes(paths["html"], html_page.encode("utf-8"))
    return paths

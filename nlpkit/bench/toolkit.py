"""The pieces every benchmark report is made of: the page's CSS, tables in markdown and HTML, SVG plots, the hardware line.

`bench imdb|corpus`, `bench ud|ner`, `bench speed` and `bench retrieval` write report.md and
report.html from their results.json with these, so their reports look and read alike.
"""

from __future__ import annotations

import html
import io
from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def md_table(t: Table) -> list[str]:
    lines = [f"**{t.title}**", "", "| " + " | ".join(t.headers) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(t.headers))) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in t.rows]
    return lines + [""] + [f"- {n}" for n in t.notes] + ([""] if t.notes else [])


def html_table(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(f'<td{"" if i == 0 else " class=num"}>{e(c)}</td>' for i, c in enumerate(row))
                   + "</tr>" for row in t.rows)
    notes = "".join(f"<li>{e(n)}</li>" for n in t.notes)
    return (f"<h3>{e(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            + (f"<ul class=muted>{notes}</ul>" if notes else ""))


def hardware_line(results: dict) -> str:
    h = results["hardware"]
    parts = [h.get("cpu") or h.get("machine"), f"{h.get('cpus_usable') or h.get('cpus')} CPU cores"]
    if h.get("memory_gb"):
        parts.append(f"{h['memory_gb']} GB RAM")
    if h.get("gpu"):
        parts.append(h["gpu"])
    return ", ".join(str(p) for p in parts if p)


def svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{margin-bottom:.2em} table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{padding:.3em .6em;border-bottom:1px solid #ddd} th{background:#f3f3f3;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums} .warn{background:#fff4e0;border-left:4px solid #e08a2c;
padding:.5em 1em} .ok{background:#eef6ee;border-left:4px solid #4a9a5b;padding:.5em 1em} .muted{color:#777}
figure{margin:1.5em 0} figure img{max-width:100%;height:auto;display:block} figcaption{font-weight:600;margin:.4em 0}
code{background:#f3f3f3;padding:.1em .3em;border-radius:3px}
"""

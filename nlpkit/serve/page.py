"""GET /: one self-contained page to try the served models (no external scripts or styles)."""

from __future__ import annotations

import html

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nlpkit serve</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
textarea{width:100%;min-height:9rem;font:inherit;padding:.5rem;box-sizing:border-box}
button{font:inherit;padding:.35rem 1.2rem;margin-top:.5rem}
.bar{background:#4a7fd4;height:.9rem;display:inline-block;vertical-align:middle}
table{border-collapse:collapse;margin-top:.6rem}td,th{padding:.15rem .6rem;text-align:left}
#error{color:#b00020}#pred{font-size:1.4rem;font-weight:600}
</style></head><body>
<h1>nlpkit serve</h1>
__SEARCH__<section id="predict-box"__PREDICT_HIDDEN__>
<form id="form">
<label>Model <select id="model">__OPTIONS__</select></label>
<p><textarea id="text" placeholder="Type or paste a text">__EXAMPLE__</textarea></p>
<button type="submit" id="submit">Predict</button>
</form>
<div id="error" role="alert"></div>
<div id="result" hidden>
<p>Prediction: <span id="pred"></span></p>
<table id="probs"><thead><tr><th>class</th><th>probability</th><th></th></tr></thead><tbody></tbody></table>
<div id="words-box" hidden><h3>Words that weighed most towards it</h3>
<table id="words"><thead><tr><th>word</th><th>weight</th></tr></thead><tbody></tbody></table></div>
</div>
</section>
<script>
const $ = (id) => document.getElementById(id);
function row(cells) {
  const tr = document.createElement("tr");
  for (const cell of cells) { const td = document.createElement("td"); td.append(cell); tr.append(td); }
  return tr;
}
$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("error").textContent = "";
  const name = $("model").value;
  let answer;
  try {
    const response = await fetch(`/v1/models/${encodeURIComponent(name)}/explain`, {
      method: "POST", headers: {"content-type": "application/json"},
      body: JSON.stringify({text: $("text").value})});
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
  } catch (e) { $("error").textContent = "Error: " + e.message; $("result").hidden = true; return; }
  $("pred").textContent = answer.pred;
  const probs = $("probs").tBodies[0]; probs.replaceChildren();
  for (const [label, p] of Object.entries(answer.probs).sort((a, b) => b[1] - a[1])) {
    const bar = document.createElement("span"); bar.className = "bar"; bar.style.width = (p * 12) + "rem";
    probs.append(row([label, p.toFixed(4), bar]));
  }
  const words = $("words").tBodies[0]; words.replaceChildren();
  $("words-box").hidden = !answer.words;
  for (const w of answer.words || []) words.append(row([w.word, w.weight.toFixed(4)]));
  $("result").hidden = false;
});
// /?text=...&model=... fills the form and submits it (a link that shows a prediction)
const query = new URLSearchParams(location.search);
if (query.get("model")) $("model").value = query.get("model");
if (query.get("text")) { $("text").value = query.get("text"); $("form").requestSubmit(); }
__SEARCH_SCRIPT__</script></body></html>
"""

# the search box, when an index is served (POST /v1/indexes/NAME/search; /?q=...&index=...&mode=... fills and sends it)
_SEARCH = """<section id="search-box">
<h2>Search</h2>
<form id="search-form">
<label>Index <select id="index">__INDEXES__</select></label>
<label>Mode <select id="mode"><option value="">the index's default</option><option>hybrid</option>
<option>bm25</option><option>dense</option></select></label>
<label>Hits <input id="k" type="number" value="10" min="1" max="1000" style="width:4rem"></label>
<p><input id="query" type="search" placeholder="Search the index" style="width:100%;font:inherit;padding:.4rem"></p>
<button type="submit" id="search-submit">Search</button>
</form>
<div id="search-error" role="alert"></div>
<p id="search-summary"></p>
<ol id="hits"></ol>
</section>
"""
_SEARCH_SCRIPT = """
$("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("search-error").textContent = "";
  const body = {query: $("query").value, k: Number($("k").value) || 10};
  if ($("mode").value) body.mode = $("mode").value;
  let answer;
  try {
    const response = await fetch(`/v1/indexes/${encodeURIComponent($("index").value)}/search`, {
      method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
    answer = await response.json();
    if (!response.ok) throw new Error(answer.error || response.statusText);
  } catch (e) { $("search-error").textContent = "Error: " + e.message; $("hits").replaceChildren(); return; }
  $("search-summary").textContent = `${answer.hits.length} hits (${answer.mode}) from ${answer.index}`;
  const hits = $("hits"); hits.replaceChildren();
  for (const hit of answer.hits) {
    const li = document.createElement("li"); li.className = "hit";
    const id = document.createElement("b"); id.className = "hit-id"; id.textContent = hit.id;
    const score = document.createElement("span"); score.className = "hit-score"; score.textContent = " " + hit.score.toFixed(4) + " ";
    const text = document.createElement("span"); text.className = "hit-text";
    text.textContent = [hit.title, hit.text].filter((t) => typeof t === "string" && t).join(" \u2014 ");
    li.append(id, score, text); hits.append(li);
  }
});
if (query.get("index")) $("index").value = query.get("index");
if (query.get("mode")) $("mode").value = query.get("mode");
if (query.get("q")) { $("query").value = query.get("q"); $("search-form").requestSubmit(); }
"""


def render_page(served, indexes=()) -> str:
    """The page: the predict form when a model is served, the search box when an index is."""
    options = "".join(
        f'<option value="{html.escape(m.name)}">{html.escape(m.name)} ({html.escape(m.manifest["kind"])})</option>'
        for m in served
    )
    search = _SEARCH.replace("__INDEXES__", "".join(
        f'<option value="{html.escape(i.name)}">{html.escape(i.name)} ({", ".join(i.modes)})</option>'
        for i in indexes)) if indexes else ""
    return (_PAGE.replace("__OPTIONS__", options).replace("__EXAMPLE__", "A wonderful film, with great acting and a story that stays with you.")
            .replace("__PREDICT_HIDDEN__", "" if served else " hidden").replace("__SEARCH__", search)
            .replace("__SEARCH_SCRIPT__", _SEARCH_SCRIPT if indexes else ""))

"""`nlpkit bench imdb`: a real run of two methods on a small seeded subset of the embedded sample.

One run (module fixture) feeds most tests: its four outputs must agree with each
other and with the confusion matrices; a second run must keep the finished
methods; --force must re-run one to the same figures; the HTML report must
render with its plots in headless Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from nlpkit import corpora
from nlpkit.bench import data as bench_data
from nlpkit.cli import cli
from nlpkit.models import MODEL_KINDS

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "corpora" / "imdb-sample"
LIMIT = 160
METHODS = "bow-nb,tfidf-lr,gru"  # gru's kind is taken out of the registry: it must show as unavailable


def bench(out: Path, *extra: str, methods: str = METHODS, limit: int = LIMIT):
    with pytest.MonkeyPatch.context() as mp:
        mp.delitem(MODEL_KINDS, "gru", raising=False)
        return CliRunner().invoke(cli, ["bench", "imdb", "--data", str(SAMPLE), "--methods", methods,
                                        "--limit", str(limit), "--seed", "3", "--out", str(out), *extra],
                                  catch_exceptions=False)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "imdb"
    result = bench(out)
    assert result.exit_code == 0, result.stderr
    return out, result


def methods_by_name(out: Path) -> dict[str, dict]:
    return {m["method"]: m for m in json.loads((out / "results.json").read_text())["methods"]}


def test_all_four_outputs_with_consistent_figures(run):
    out, result = run
    results = json.loads((out / "results.json").read_text())
    methods = methods_by_name(out)
    assert list(methods) == ["bow-nb", "tfidf-lr", "gru"]
    assert methods["gru"]["status"] == "unavailable"
    assert methods["bow-nb"]["references"] == ["wang2012-mnb-bigram", "wang2012-mnb-unigram"]
    assert methods["tfidf-lr"]["references"] == []
    md = (out / "report.md").read_text()
    page = (out / "report.html").read_text()
    for name in ("bow-nb", "tfidf-lr"):
        m = methods[name]
        assert m["status"] == "done" and m["kind"] == name
        matrix = m["test"]["confusion"]["matrix"]
        # every test review once; accuracy is the diagonal; balanced subset of LIMIT
        assert sum(map(sum, matrix)) == m["n_test"] == LIMIT
        assert [sum(row) for row in matrix] == [LIMIT // 2, LIMIT // 2]
        assert m["accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / LIMIT)
        assert 0.6 < m["accuracy"] <= 1.0  # real learning on 144 reviews, well above chance
        # settings scored on the validation slice, then refit on all of train (validation included)
        assert m["n_train"] == LIMIT and m["n_valid"] == LIMIT // 10 and m["refit"] is True
        assert 0 < m["valid_accuracy"] <= 1
        assert m["train_seconds"] > 0 and m["docs_per_second"] > 0 and m["peak_rss_mb"] > 0
        assert m["n_weights"] > 0
        figure = f"{100 * m['accuracy']:.2f}"
        # the same figure in the terminal table, the Markdown and the HTML
        published = {"bow-nb": "86.59", "tfidf-lr": "none published"}[name]  # MNB-bigram; no LR figure on IMDb
        assert re.search(rf"\| {name} \| {figure} \| {100 * m['macro_f1']:.2f} \| {published} \|", md)
        assert re.search(rf"<td>{name}</td><td class=num>{figure}</td>", page)
        assert re.search(rf"{name}\s*│\s*{figure}\s*│", result.stdout)
        assert (out / "models" / name / "nlpkit.json").is_file()  # a model `nlpkit predict` can use
        # calibrated on the validation split (the refit serves it): ECE on test before and after, in every rendering
        assert m["calibration"] == "sigmoid" and len(m["reliability"]) == 15
        assert sum(b["n"] for b in m["reliability"]) == m["n_test"]
        assert (out / "models" / name / "calibration.json").is_file()
        ece = f"{m['ece']:.3f}"
        assert re.search(rf"\| {name} \| {figure} \|[^\n]*\| {ece} \| {m['uncalibrated']['ece']:.3f} \|", md)
    assert "| gru | unavailable |" in md
    assert "NOT comparable with published figures" in md
    assert results["data"]["counts"] == {"train": LIMIT - LIMIT // 10, "valid": LIMIT // 10, "test": LIMIT}
    assert results["data"]["comparable"] is False and results["seed"] == 3
    assert results["preprocessing"]["steps"] == bench_data.PREPROCESSING
    assert results["versions"]["scikit-learn"] and results["hardware"]["cpus"]
    assert results["data"]["fingerprints"]["train"].endswith(":1000")
    # self-contained: plots are data: images, nothing is fetched
    # accuracy, time, confusions, reliability diagrams (no neural curve)
    assert page.count('src="data:image/svg+xml;base64,') == 4
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_a_second_run_keeps_finished_methods(run):
    out, first = run
    before = {p.name: p.read_bytes() for p in (out / "methods").iterdir()}
    result = bench(out)
    assert result.exit_code == 0, result.stderr
    after = {p.name: p.read_bytes() for p in (out / "methods").iterdir()}
    assert after == before  # nothing re-ran
    assert "bow-nb (kept)" in result.stdout and "tfidf-lr (kept)" in result.stdout
    assert "kept from the run finished" in (out / "report.md").read_text()


def test_force_reruns_to_the_same_figures(run, tmp_path):
    out, _ = run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    old = json.loads((copy / "methods" / "bow-nb.json").read_text())
    result = bench(copy, "--force", methods="bow-nb")
    assert result.exit_code == 0, result.stderr
    new = json.loads((copy / "methods" / "bow-nb.json").read_text())
    assert new["finished"] >= old["finished"] and "(kept)" not in result.stdout
    assert (new["accuracy"], new["test"]["confusion"]) == (old["accuracy"], old["test"]["confusion"])


def test_changed_settings_are_not_kept(run, tmp_path, monkeypatch):
    out, _ = run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    # a different method table entry (another parameter) must re-run, not reuse old figures
    from nlpkit.bench import methods as table

    changed = table.Method("bow-nb", "bow-nb", "bag of words", "NB, unigrams", params={"ngrams": [1, 1]},
                           anchor="mnb")
    monkeypatch.setitem(table.METHODS, "bow-nb", changed)
    result = bench(copy, methods="bow-nb")
    assert result.exit_code == 0, result.stderr
    assert "(kept)" not in result.stdout
    assert methods_by_name(copy)["bow-nb"]["params"]["ngrams"] == [1, 1]


def test_a_neural_method_brings_its_learning_curve(tmp_path):
    out = tmp_path / "nn"
    # GloVe instead of the run's vectors (Word2Vec on the sample's 10,000 unlabelled reviews takes minutes)
    result = bench(out, "--set", "bilstm.vectors=glove-6b-50d", "--set", "bilstm.epochs=3", methods="bilstm", limit=60)
    assert result.exit_code == 0, result.stderr
    m = methods_by_name(out)["bilstm"]
    assert m["status"] == "done" and m["device"] == "cpu" and m["references"] == ["dai2015-lstm", "dai2015-sa-lstm"]
    assert [row["epoch"] for row in m["history"]] == [1, 2, 3]
    assert all(row["train_loss"] > 0 for row in m["history"])
    # the note says what it trained on: scored on validation, then refit on all 60, tested on 60
    assert ("trained on 60 of the 60 training records; settings scored on the validation slice first, then refit "
            "on train + validation; tested on 60 of the 60 test records") in (out / "report.md").read_text()
    assert m["n_valid"] == 6 and m["valid_accuracy"] is not None
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/svg+xml;base64,') == 5 and 'id="plot-learning"' in page
    # the step's log says how its training goes, an epoch a line (and a line a minute within an epoch)
    log = (out / "logs" / "bilstm.log").read_text().splitlines()
    assert [line.split(",")[0] for line in log if line.startswith("bilstm: epoch ")] == [
        f"bilstm: epoch {e}" for e in (1, 2, 3, 1, 2, 3)]  # validation fit, then the refit


def test_the_embedded_sample_is_the_last_resort_with_a_notice(tmp_path, monkeypatch):
    monkeypatch.setattr(corpora, "cache_corpus_dir", lambda name="imdb": tmp_path / "nothing")
    monkeypatch.setattr(corpora, "shared_corpus_dir", lambda name="imdb": tmp_path / "nothing")
    monkeypatch.delitem(MODEL_KINDS, "gru", raising=False)
    result = CliRunner().invoke(cli, ["bench", "imdb", "--methods", "gru", "--limit", "20", "--out", str(tmp_path / "o")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert "figures are NOT comparable with published ones" in " ".join(result.stderr.split())
    data = json.loads((tmp_path / "o" / "results.json").read_text())["data"]
    assert (data["origin"], data["path"], data["comparable"]) == ("sample", str(SAMPLE), False)


def test_usage_errors(tmp_path):
    result = CliRunner().invoke(cli, ["bench", "imdb", "--methods", "tfidf-lr,bogus", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown method(s) bogus" in result.stderr
    result = CliRunner().invoke(cli, ["bench", "imdb", "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "not a corpus directory" in result.stderr and "Traceback" not in result.stderr


def test_balanced_subsets_and_validation_slice():
    records = [{"id": i, "label": "pos" if i < 70 else "neg"} for i in range(100)]
    subset = bench_data.balanced_subset(records, 40, seed=1)
    assert sum(r["label"] == "pos" for r in subset) == 20 and len(subset) == 40
    assert subset == bench_data.balanced_subset(records, 40, seed=1) != bench_data.balanced_subset(records, 40, seed=2)
    assert [r["id"] for r in subset] == sorted(r["id"] for r in subset)
    lopsided = bench_data.balanced_subset(records, 90, seed=1)  # only 30 neg: they all come
    assert sum(r["label"] == "neg" for r in lopsided) == 30 and len(lopsided) == 90
    train, valid = bench_data.split_validation(records, 0.1, seed=1)
    assert (sum(r["label"] == "pos" for r in valid), sum(r["label"] == "neg" for r in valid)) == (7, 3)
    assert sorted(r["id"] for r in train + valid) == list(range(100))


# --------------------------------------------------------------------------- the HTML in a browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# appended to a copy of the report: after load, write each plot's size into the DOM
MEASURE = """<script>
window.addEventListener("load", () => {
  const rows = [...document.querySelectorAll("figure img")].map(img => ({
    id: img.closest("figure").id, complete: img.complete, natural: [img.naturalWidth, img.naturalHeight],
    shown: [img.getBoundingClientRect().width, img.getBoundingClientRect().height]}));
  const pre = document.createElement("pre"); pre.id = "measured"; pre.textContent = JSON.stringify(rows);
  document.body.appendChild(pre);
});
</script>"""


def chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_html_report_renders_with_its_plots_in_chromium(run, tmp_path):
    from PIL import Image

    out, _ = run
    page = tmp_path / "report.html"
    page.write_text((out / "report.html").read_text().replace("</body>", MEASURE + "</body>"))
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    measured = json.loads(re.search(r'<pre id="measured">(.*?)</pre>', dom.stdout).group(1))
    assert [m["id"] for m in measured] == ["plot-accuracy", "plot-time", "plot-confusion", "plot-reliability"]
    for m in measured:
        assert m["complete"] and min(m["natural"]) > 100 and min(m["shown"]) > 100, m
    # and pixels: the accuracy bars are drawn in their blue (#3b6ea8)
    shot = tmp_path / "shot.png"
    result = chromium("--window-size=1200,2400", f"--screenshot={shot}", (out / "report.html").as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    blue = (np.abs(pixels - [0x3B, 0x6E, 0xA8]).max(axis=2) < 12).sum()
    assert blue > 2000


def test_verbose_into_a_log_is_a_line_a_phase(tmp_path):
    """-v off a terminal (nohup, CI): the bars do not draw, so each phase is a line with the time."""
    result = CliRunner().invoke(cli, ["-v", "bench", "imdb", "--data", str(SAMPLE), "--methods", "bow-nb", "--limit", "40",
                                      "--out", str(tmp_path / "o")], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    phases = [line.split(" ", 1)[1] for line in result.stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert phases == [f"bow-nb: {p}" for p in ("load", "train", "fitting", "calibrating", "validating", "refit", "fitting",
                                               "predict", "save", "done")]


def test_two_rows_paired_on_the_same_test_reviews(run):
    """benchmarks/compare_rows.py: the saved models predict the run's figures again, and McNemar's test on them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_rows", REPO / "benchmarks" / "compare_rows.py")
    compare_rows = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare_rows)
    out, _ = run
    methods = methods_by_name(out)
    paired = compare_rows.main(out, "bow-nb", "tfidf-lr")
    assert paired["test_reviews"] == LIMIT
    assert paired["accuracy"] == {name: methods[name]["accuracy"] for name in ("bow-nb", "tfidf-lr")}
    # each row's right answers are the shared ones plus its own: the difference is the discordant pairs'
    assert paired["right"]["bow-nb"] - paired["right"]["tfidf-lr"] == paired["only_bow-nb"] - paired["only_tfidf-lr"]
    assert 0 < paired["mcnemar_exact_p"] <= 1
    same = compare_rows.main(out, "bow-nb", "bow-nb")
    assert (same["only_bow-nb"], same["mcnemar_exact_p"]) == (0, 1.0)

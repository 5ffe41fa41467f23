"""nlpkit bench speed: words/s per stage and engine, with a 95% interval, in the report family."""

from __future__ import annotations

import json

import pytest

from nlpkit.bench.speed import SpeedCase, mean_ci95, measure_case
from tests.conftest import write_jsonl


def test_the_interval_is_students_t_over_the_runs():
    mean, low, high = mean_ci95([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert (round(low, 4), round(high, 4)) == (round(2 - 4.302653 / 3**0.5, 4), round(2 + 4.302653 / 3**0.5, 4))
    assert mean_ci95([5.0]) == (5.0, 5.0, 5.0)


def test_a_case_counts_every_word_of_every_pass():
    records = [{"text": "one two three"}, {"text": "four five"}]
    row = measure_case(SpeedCase("tokenize", "regex", "engine"), records, runs=3, min_run_seconds=0.05)
    assert row["label"] == "tokenize --engine regex" and row["status"] == "done"
    assert len(row["run_words_per_s"]) == 3 and row["passes_per_run"] >= 1
    assert row["ci95"][0] <= row["words_per_s"] <= row["ci95"][1]
    assert row["docs_per_s"] == pytest.approx(row["words_per_s"] * 2 / 5, rel=1e-3)


def test_bench_speed_writes_results_and_reports(invoke, tmp_path):
    data = write_jsonl(tmp_path / "reviews.jsonl", [{"id": i, "text": f"A <b>fine</b> film number {i}, isn't it?"} for i in range(30)])
    out = tmp_path / "speed"
    result = invoke("bench", "speed", "--stages", "clean,tokenize:regex,stem", "--data", data, "--limit", "20",
                    "--runs", "2", "--out", out)
    assert result.exit_code == 0, result.stderr
    results = json.loads((out / "results.json").read_text())
    assert (results["benchmark"], results["docs"], results["words"], results["runs"]) == ("speed", 20, 20 * 7, 2)
    labels = [r["label"] for r in results["rows"]]
    assert labels == ["clean", "tokenize --engine regex", "stem --algorithm porter", "stem --algorithm snowball",
                      "stem --algorithm lancaster"]
    assert all(r["status"] == "done" and r["words_per_s"] > 0 for r in results["rows"])
    report = (out / "report.md").read_text()
    assert "| tokenize --engine regex | " in report and f"{data} (first 20 records)" in report
    page = (out / "report.html").read_text()
    assert "<td>stem --algorithm lancaster</td>" in page and 'src="data:image/svg+xml;base64,' in page
    assert "stage and engine" in result.stdout


@pytest.mark.parametrize("stages, message", [
    ("clean,nope", "no record stage 'nope' (known: "),
    ("tokenize:kiwi", "tokenize has no engine 'kiwi' (choose from nltk, spacy, regex, wordpiece)"),
    ("clean:fast", "clean has no engines to choose from; write it as clean"),
    (",", "name at least one stage"),
])
def test_bad_stage_lists_are_usage_errors(invoke, stages, message):
    result = invoke("bench", "speed", "--stages", stages)
    assert result.exit_code == 2 and message in result.stderr

"""The Unix-filter promise: real processes joined by real pipes give what the library gives."""

import subprocess
import sys

from nlpkit.io import read_records
from nlpkit.text import CleanStage, LemmatizeStage, StopwordsStage, TokenizeStage
from tests.conftest import REPO, parse_jsonl

NLPKIT = f"{sys.executable} -m nlpkit"


def test_clean_tokenize_stopwords_lemmatize_pipeline_equals_the_library(tmp_path, sample_dir):
    source = tmp_path / "reviews.txt"
    texts = [r["text"] for r in read_records(str(sample_dir / "test.jsonl.gz"))][:40]
    source.write_text("\n".join(texts) + "\n", encoding="utf-8")

    result = subprocess.run(
        f"{NLPKIT} clean --lines {source} | {NLPKIT} tokenize | {NLPKIT} stopwords | {NLPKIT} lemmatize",
        shell=True, capture_output=True, cwd=REPO, executable="/bin/bash",
    )
    assert result.returncode == 0, result.stderr.decode()
    piped = parse_jsonl(result.stdout.decode())

    records = [{"id": f"{source}:{i}", "text": t} for i, t in enumerate(texts, 1)]
    for stage in (CleanStage(), TokenizeStage(), StopwordsStage(), LemmatizeStage()):
        records = list(stage(records))
    assert piped == records
    assert len(piped) == 40
    # the negation survives the whole ladder
    assert any("not" in r["tokens"] for r in piped)


def test_text_format_feeds_classic_unix_tools(tmp_path):
    source = tmp_path / "words.txt"
    source.write_text("The cats ran.\nA cat runs!\nDogs run, dog barks\n")
    result = subprocess.run(
        f"{NLPKIT} clean --lines {source} | {NLPKIT} stem --format text | tr ' ' '\\n' | sort | uniq -c | sort -k1,1nr -k2,2r | head -n 2",
        shell=True, capture_output=True, cwd=REPO, executable="/bin/bash", text=True,
    )
    assert result.returncode == 0, result.stderr
    # "ran" is irregular: a stemmer leaves it, only "runs" and "run" meet
    assert [line.split() for line in result.stdout.splitlines()] == [["2", "run"], ["2", "dog"]]

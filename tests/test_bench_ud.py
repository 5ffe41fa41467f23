"""`bench ud` and `bench ner` end to end on small files made here; the CoNLL 2018 alignment by hand;
the gold files fetched from a server on 127.0.0.1 when they are nowhere on disk."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from nlpkit.errors import InputError
from nlpkit.linguistic.conll18 import Token, Word, build_treebank, evaluate_files, evaluate_treebanks, read_treebank

DATA = Path(__file__).resolve().parent / "data"

# --------------------------------------------------------------------------- the CoNLL 2018 alignment

GOLD_MWT = """# text = Don't stop.
1-2	Don't	_	_	_	_	_	_	_	_
1	Do	do	AUX	VBP	_	3	aux	_	_
2	n't	not	PART	RB	_	3	advmod	_	_
3	stop	stop	VERB	VB	_	0	root	_	SpaceAfter=No
4	.	.	PUNCT	.	_	3	punct	_	_

# text = New York is big.
1	New	New	PROPN	NNP	_	2	compound	_	_
2	York	York	PROPN	NNP	_	4	nsubj	_	_
3	is	be	AUX	VBZ	_	4	cop	_	_
4	big	big	ADJ	JJ	_	0	root	_	SpaceAfter=No
5	.	.	PUNCT	.	_	4	punct	_	_

"""


def test_raw_text_alignment_by_hand(tmp_path):
    """Gold: a multiword token (Don't = Do + n't) and two sentences. The system splits Don|'t, keeps
    'big.' whole and sees one sentence. Every count below is worked out by hand from the CoNLL 2018 rules."""
    gold_path = tmp_path / "gold.conllu"
    gold_path.write_text(GOLD_MWT, encoding="utf-8")
    gold = read_treebank(str(gold_path))

    def word(form, lemma, upos, xpos, head, deprel):
        return Token(form, [Word(form, lemma, upos, xpos, head, deprel)])

    system = build_treebank([[
        word("Don", "do", "AUX", "VBP", 3, "aux"), word("'t", "not", "PART", "RB", 3, "advmod"),
        word("stop", "stop", "VERB", "VB", 0, "root"),
        word(".", ".", "PUNCT", ".", 3, "dep"),  # right head, wrong label
        word("New", "New", "PROPN", "NNP", 6, "compound"),
        word("York", "York", "PROPN", "NNP", 8, "nsubj"),  # its head 'big.' does not align
        word("is", "is", "VERB", "VBZ", 8, "cop"),  # wrong UPOS and lemma, unaligned head
        word("big.", "big.", "ADJ", "JJ", 3, "conj"),
    ]])
    scores = evaluate_treebanks(gold, system)
    # 8 gold tokens (Don't is one), 8 system tokens; equal spans: stop . New York is
    assert {k: scores["Tokens"][k] for k in ("gold", "system", "correct")} == {"gold": 8, "system": 8, "correct": 5}
    assert scores["Tokens"]["f1"] == pytest.approx(5 / 8)
    assert {k: scores["Sentences"][k] for k in ("gold", "system", "correct")} == {"gold": 2, "system": 1, "correct": 0}
    # 9 gold words, 8 system words; in the multiword stretch LCS finds no equal forms (do/n't vs don/'t)
    assert scores["Words"]["correct"] == 5 and scores["Words"]["f1"] == pytest.approx(10 / 17)
    expected = {"UPOS": 4, "XPOS": 5, "Lemmas": 4, "UAS": 3, "LAS": 2}
    for metric, correct in expected.items():
        assert scores[metric]["correct"] == correct, metric
        assert scores[metric]["f1"] == pytest.approx(2 * correct / 17), metric
        assert scores[metric]["aligned_accuracy"] == pytest.approx(correct / 5), metric


# (gold tokens, system tokens, aligned words): "abc a b c" is the multiword token abc of words a, b, c.
# The cases the shared task's evaluation script tests its own alignment with (conll18_ud_eval.py, TestAlignment).
SCRIPT_CASES = [
    (["a"], ["a"], 1), (["a", "b", "c"], ["a", "b", "c"], 3),
    (["abc a b c"], ["a", "b", "c"], 3), (["a", "bc b c", "d"], ["a", "b", "c", "d"], 4),
    (["abcd a b c d"], ["ab a b", "cd c d"], 4), (["abc a b c", "de d e"], ["a", "bcd b c d", "e"], 5),
    (["abcd"], ["a", "b", "c", "d"], 0), (["abc", "d"], ["a", "b", "c", "d"], 1),
    (["a", "bc", "d"], ["a", "b", "c", "d"], 2), (["a", "bc b c", "d"], ["a", "b", "cd"], 2),
    (["abc a BX c", "def d EX f"], ["ab a b", "cd c d", "ef e f"], 4), (["ab a b", "cd bc d"], ["a", "bc", "d"], 2),
    (["a", "bc b c", "d"], ["ab AX BX", "cd CX a"], 1),
]


def _tokens(spec: list[str]) -> list[Token]:
    tokens = []
    for item in spec:
        form, *words = item.split(" ")
        tokens.append(Token(form, [Word(w) for w in words] or [Word(form)]))
    return tokens


@pytest.mark.parametrize("gold, system, aligned", SCRIPT_CASES)
def test_word_alignment_cases_of_the_shared_task_script(gold, system, aligned):
    scores = evaluate_treebanks(build_treebank([_tokens(gold)]), build_treebank([_tokens(system)]))["Words"]
    n_gold = sum(max(1, len(t.split(" ")) - 1) for t in gold)
    n_system = sum(max(1, len(t.split(" ")) - 1) for t in system)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (
        aligned / n_system, aligned / n_gold, 2 * aligned / (n_gold + n_system))


def test_multiword_words_align_by_their_forms(tmp_path):
    gold_path = tmp_path / "gold.conllu"
    gold_path.write_text(GOLD_MWT.split("\n\n")[0] + "\n\n", encoding="utf-8")  # "Don't stop."
    gold = read_treebank(str(gold_path))
    system = build_treebank([[Token("Do", [Word("Do", upos="AUX")]), Token("n't", [Word("n't", upos="PART")]),
                              Token("stop.", [Word("stop", upos="VERB"), Word(".", upos="PUNCT")])]])
    scores = evaluate_treebanks(gold, system)
    assert scores["Words"]["correct"] == 4  # Do n't (LCS), stop . (the system's own multiword token)
    assert scores["UPOS"]["correct"] == 4


def test_on_gold_tokenization_it_agrees_with_evaluate_conllu():
    from nlpkit.linguistic.evaluate import evaluate_conllu

    ours = evaluate_files(str(DATA / "eval-gold.conllu"), str(DATA / "eval-pred.conllu"))
    theirs = evaluate_conllu(str(DATA / "eval-gold.conllu"), str(DATA / "eval-pred.conllu"))
    for metric in ("UPOS", "XPOS", "Lemmas", "UAS", "LAS"):
        assert ours[metric]["correct"] == theirs[metric]["correct"], metric
        assert ours[metric]["f1"] == pytest.approx(theirs[metric]["accuracy"])
    assert ours["Tokens"]["f1"] == ours["Words"]["f1"] == ours["Sentences"]["f1"] == 1.0


def test_a_system_that_spells_another_text_is_one_error(tmp_path):
    gold_path = tmp_path / "gold.conllu"
    gold_path.write_text(GOLD_MWT, encoding="utf-8")
    system = build_treebank([[Token("Dont", [Word("Dont")])]])
    with pytest.raises(InputError, match="differs from the gold text at character 3"):
        evaluate_treebanks(read_treebank(str(gold_path)), system)


# --------------------------------------------------------------------------- bench ud end to end

SENTENCES = [  # (newdoc, text, [(form, lemma, upos, xpos, head, deprel)])
    (True, "The cat sat on the mat.",
     [("The", "the", "DET", "DT", 2, "det"), ("cat", "cat", "NOUN", "NN", 3, "nsubj"),
      ("sat", "sit", "VERB", "VBD", 0, "root"), ("on", "on", "ADP", "IN", 6, "case"),
      ("the", "the", "DET", "DT", 6, "det"), ("mat", "mat", "NOUN", "NN", 3, "obl"),
      (".", ".", "PUNCT", ".", 3, "punct")]),
    (False, "Dogs bark loudly.",
     [("Dogs", "dog", "NOUN", "NNS", 2, "nsubj"), ("bark", "bark", "VERB", "VBP", 0, "root"),
      ("loudly", "loudly", "ADV", "RB", 2, "advmod"), (".", ".", "PUNCT", ".", 2, "punct")]),
    (True, "Mary likes green apples.",
     [("Mary", "Mary", "PROPN", "NNP", 2, "nsubj"), ("likes", "like", "VERB", "VBZ", 0, "root"),
      ("green", "green", "ADJ", "JJ", 4, "amod"), ("apples", "apple", "NOUN", "NNS", 2, "obj"),
      (".", ".", "PUNCT", ".", 2, "punct")]),
    (False, "She eats them daily.",
     [("She", "she", "PRON", "PRP", 2, "nsubj"), ("eats", "eat", "VERB", "VBZ", 0, "root"),
      ("them", "they", "PRON", "PRP", 2, "obj"), ("daily", "daily", "ADV", "RB", 2, "advmod"),
      (".", ".", "PUNCT", ".", 2, "punct")]),
]


def write_conllu(path: Path) -> Path:
    lines = []
    for k, (newdoc, text, words) in enumerate(SENTENCES, 1):
        if newdoc:
            lines.append(f"# newdoc id = doc{k}")
        lines += [f"# sent_id = s{k}", f"# text = {text}"]
        for i, (form, lemma, upos, xpos, head, deprel) in enumerate(words, 1):
            misc = "SpaceAfter=No" if i == len(words) - 1 else "_"
            lines.append(f"{i}\t{form}\t{lemma}\t{upos}\t{xpos}\t_\t{head}\t{deprel}\t_\t{misc}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bench_ud_end_to_end_then_kept(invoke, tmp_path):
    data = write_conllu(tmp_path / "small.conllu")
    out = tmp_path / "out"
    result = invoke("bench", "ud", "--data", data, "--engines", "spacy-sm,nltk", "--out", out)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["data"]["sentences"] == 4 and results["data"]["words"] == 21
    assert results["data"]["documents"] == 2
    assert results["data"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    rows = {r["engine"]: r for r in results["engines"]}
    assert {name: r["status"] for name, r in rows.items()} == {"spacy-sm": "done", "nltk": "done"}
    nltk, spacy = rows["nltk"], rows["spacy-sm"]
    # NLTK's tokens and punkt's sentences are exactly the gold ones here, so the raw-text run sees the
    # same words in the same sentences and gets the same tags as the gold-word run
    assert {m: nltk["raw_text"][m] for m in ("Tokens", "Sentences", "Words")} == {
        "Tokens": 100.0, "Sentences": 100.0, "Words": 100.0}
    assert {m: nltk["raw_text"][m] for m in ("UPOS", "XPOS", "Lemmas")} == nltk["gold_words"]
    assert "UAS" not in nltk["gold_words"] and nltk["parser"] is False
    assert set(spacy["gold_words"]) == {"UPOS", "XPOS", "Lemmas", "UAS", "LAS"}
    assert spacy["raw_text"]["Tokens"] == 100.0
    assert spacy["gold_words"]["XPOS"] >= 90 and spacy["spacy"]["performance"]["dep_uas"] > 0.8
    assert all(r["words_per_second"]["gold_words"] > 0 for r in rows.values())
    report = (out / "report.md").read_text()
    assert "Why spaCy's UAS against UD is low" in report and "ClearNLP" in report
    assert "UDPipe 2" in report and "Stanza" in report and "OntoNotes 5" in report
    assert "| spacy-sm | " in report and "| nltk | " in report
    page = (out / "report.html").read_text()
    assert 'id="plot-scores"' in page and 'id="plot-speed"' in page and "http" not in page.split("<body>")[0]
    assert "Gold words" in result.stdout and "Raw text" in result.stdout
    # what the engine predicted, written out, scores the same with evaluate-conllu (another implementation)
    rescored = invoke("evaluate-conllu", "--gold", data, "--pred", out / "predictions" / "spacy-sm.gold-words.conllu",
                      "--json")
    assert rescored.exit_code == 0, rescored.output
    assert {m: round(100 * s["accuracy"], 2) for m, s in json.loads(rescored.stdout).items()
            if m in spacy["gold_words"]} == spacy["gold_words"]
    assert (out / "predictions" / "nltk.raw-text.conllu").is_file()

    again = invoke("bench", "ud", "--data", data, "--engines", "nltk", "--out", out)
    assert again.exit_code == 0
    kept = json.loads((out / "results.json").read_text())["engines"]
    assert [(r["engine"], r["kept"]) for r in kept] == [("nltk", True)]
    assert kept[0]["gold_words"] == nltk["gold_words"]


def test_bench_unknown_engine_is_a_usage_error(invoke, tmp_path):
    result = invoke("bench", "ud", "--data", write_conllu(tmp_path / "x.conllu"), "--engines", "udpipe")
    assert result.exit_code == 2
    assert "unknown engine(s) udpipe; known: spacy-sm, spacy-md, nltk" in result.stderr


def test_bench_ud_on_a_file_without_text_comments(invoke, tmp_path):
    data = tmp_path / "notext.conllu"
    data.write_text("1\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n\n", encoding="utf-8")
    result = invoke("bench", "ud", "--data", data, "--engines", "nltk", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: {data}:1: the sentence has no '# text' comment "
                                     "(the raw-text runs need it)")


# --------------------------------------------------------------------------- bench ner end to end

NER = [("Barack Obama visited Paris yesterday .", "B-PER I-PER O B-LOC O O"),
       ("Angela Merkel met Emmanuel Macron in Berlin .", "B-PER I-PER O B-PER I-PER O B-LOC O"),
       ("Microsoft hired 300 engineers in Seattle in 2019 .", "B-ORG O O O O B-LOC O O O")]


def test_bench_ner_end_to_end(invoke, tmp_path):
    data = tmp_path / "small.iob2"
    data.write_text("".join("".join(f"{t}\t{g}\n" for t, g in zip(text.split(), tags.split())) + "\n"
                            for text, tags in NER), encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("bench", "ner", "--data", data, "--engines", "spacy-sm,nltk", "--out", out)
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results.json").read_text())
    assert results["data"]["entities"] == 7 and results["data"]["labels"] == {"LOC": 3, "ORG": 1, "PER": 3}
    rows = {r["engine"]: r for r in results["engines"]}
    spacy = rows["spacy-sm"]
    assert spacy["status"] == "done"
    scores = spacy["scores"]
    assert scores["gold_entities"] == 7 and scores["types"]["PER"]["gold"] == 3
    # spaCy's GPE (Paris, Berlin, Seattle) are mapped to LOC; its CARDINAL and DATE are left out
    assert scores["mapping"]["GPE"] == "LOC" and {"CARDINAL", "DATE"} <= set(scores["ignored"])
    assert scores["types"]["LOC"]["f1"] == 1.0 and scores["micro"]["f1"] >= 0.75
    if rows["nltk"]["status"] == "unavailable":  # ne_chunk's data is not installed here
        assert "maxent_ne_chunker_tab" in rows["nltk"]["error"] and "nltk.download(" in rows["nltk"]["error"]
    rescored = invoke("evaluate-ner", "--gold", data, "--pred", out / "predictions" / "spacy-sm.jsonl", "--json",
                      "--map", ",".join(f"{k}={v}" for k, v in scores["mapping"].items()))
    assert rescored.exit_code == 0, rescored.output
    assert json.loads(rescored.stdout)["micro"] == scores["micro"]
    report = (out / "report.md").read_text()
    assert "GPE=LOC" in report and "PERSON=PER" in report and "CARDINAL" in report
    page = (out / "report.html").read_text()
    assert 'id="plot-types"' in page and 'id="plot-scores"' in page


# --------------------------------------------------------------------------- finding and fetching the data


def test_gold_file_resolution_and_download(tmp_path, monkeypatch):
    from test_corpora import Server

    from nlpkit.bench import engines, ud

    monkeypatch.setenv("NLPKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("nlpkit.resources.SHARED_DIR", tmp_path / "no-shared")
    body = write_conllu(tmp_path / "served.conllu").read_bytes()
    server = Server()
    try:
        server.files["/r2.16/en_ewt-ud-test.conllu"] = body
        server.files["/r2.16/en_ewt-ud-dev.conllu"] = body
        dataset = dataclasses.replace(ud.DATASET, url=server.url("/r2.16/{file}"),
                                      md5={"dev": "0" * 32, "test": hashlib.md5(body).hexdigest()})
        first = engines.resolve_data(dataset, None, "test")
        assert first.origin == "download" and first.path.read_bytes() == body
        assert first.path == tmp_path / "home" / "corpora" / "ud_ewt" / "en_ewt-ud-test.conllu"
        again = engines.resolve_data(dataset, None, "test")
        assert again.origin == "cache" and len(server.requests) == 1
        # a download that does not match the release's checksum is refused and deleted
        with pytest.raises(Exception, match="checksum mismatch"):
            engines.resolve_data(dataset, None, "dev")
        assert not (tmp_path / "home" / "corpora" / "ud_ewt" / "en_ewt-ud-dev.conllu").exists()
    finally:
        server.close()
    shared = tmp_path / "shared" / "corpora" / "ud_ewt"
    shared.mkdir(parents=True)
    (shared / "en_ewt-ud-dev.conllu").write_bytes(body)
    monkeypatch.setattr("nlpkit.resources.SHARED_DIR", tmp_path / "shared")
    assert engines.resolve_data(ud.DATASET, None, "dev").origin == "shared"
    assert engines.resolve_data(ud.DATASET, str(shared / "en_ewt-ud-dev.conllu"), "dev").origin == "--data"


def test_nltk_ne_chunk_labels_are_mapped(tmp_path, monkeypatch):
    """NLTK's chunker data is not installed here: a stand-in chunker returns ACE-labelled trees, and the
    engine's conversion (tree -> IOB -> entities) and the ACE mapping are what is checked."""
    import nltk.chunk
    from nltk.tree import Tree

    from nlpkit.bench import ner

    class Chunker:
        def parse(self, tagged):
            words = [w for w, _ in tagged]
            if words[:2] == ["Barack", "Obama"]:
                return Tree("S", [Tree("PERSON", tagged[:2]), tagged[2], Tree("GPE", [tagged[3]]), *tagged[4:]])
            return Tree("S", [Tree("ORGANIZATION", [tagged[0]]), *tagged[1:5], Tree("GSP", [tagged[5]]), *tagged[6:]])

    monkeypatch.setattr(nltk.chunk, "ne_chunker", lambda: Chunker())
    data = tmp_path / "small.iob2"
    data.write_text("".join("".join(f"{t}\t{g}\n" for t, g in zip(text.split(), tags.split())) + "\n"
                            for text, tags in (NER[0], NER[2])), encoding="utf-8")
    result = ner.run_engine({"data": str(data), "library": "nltk", "engine": "nltk", "model": None,
                             "predictions": str(tmp_path / "predictions")}, lambda phase: None)
    scores = result["scores"]
    assert (scores["gold_entities"], scores["pred_entities"], scores["correct"]) == (4, 4, 4)
    assert scores["mapping"]["ORGANIZATION"] == "ORG" and scores["mapping"]["GSP"] == "LOC"


def test_an_engine_that_is_not_installed_is_a_row_not_a_failure(invoke, tmp_path, monkeypatch):
    from nlpkit.errors import ResourceMissing

    def missing():
        raise ResourceMissing("no spaCy en_core_web_md pipeline found; install it with: python -m spacy download "
                              "en_core_web_md")

    monkeypatch.setattr("nlpkit.resources.spacy_english_md", missing)
    out = tmp_path / "out"
    result = invoke("bench", "ud", "--data", write_conllu(tmp_path / "small.conllu"), "--engines", "spacy-md",
                    "--out", out)
    assert result.exit_code == 0, result.output
    row = json.loads((out / "results.json").read_text())["engines"][0]
    assert (row["engine"], row["status"]) == ("spacy-md", "unavailable")
    assert "python -m spacy download en_core_web_md" in row["error"]
    assert "`spacy-md`: unavailable (no spaCy en_core_web_md pipeline found" in (out / "report.md").read_text()

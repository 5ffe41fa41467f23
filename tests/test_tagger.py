"""The batched perceptron tagger gives NLTK's PerceptronTagger tags on every token.

NLTK's own tagger is the reference, run in the same test on the same tokens: the
UD English-EWT dev sentences, 500 IMDb reviews, hand-made edge cases, and small
models built so that a tie, or the order of a float sum, decides the tag.
"""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from nlpkit.text.perceptron import BatchedTagger, normalize, shared_tagger
from nlpkit.linguistic.tag import TagStage
from nlpkit.resources import SHARED_DIR, configure_nltk, english_wordnet
from nlpkit.text.lemmatize import LemmatizeStage, penn_to_wordnet

UD_DEV = SHARED_DIR / "corpora" / "ud_ewt" / "en_ewt-ud-dev.conllu"


@pytest.fixture(scope="module")
def nltk_tagger():
    configure_nltk()
    from nltk.tag import PerceptronTagger

    return PerceptronTagger()


def nltk_tags(tagger, sentences):
    return [[tag for _, tag in tagger.tag(tokens)] for tokens in sentences]


def imdb_tokens(sample_dir, n=500):
    """The sample's first n train reviews through nlpkit's clean and regex tokenizer."""
    from nlpkit.io import read_records
    from nlpkit.text.clean import CleanStage
    from nlpkit.text.tokenize import TokenizeStage

    records = list(read_records(str(sample_dir / "train.jsonl.gz")))[:n]
    return [r["tokens"] for r in TokenizeStage(engine="regex")(CleanStage()(records))]


@pytest.mark.skipif(not UD_DEV.exists(), reason="needs ../shared/corpora/ud_ewt beside the checkout")
def test_same_tags_as_nltk_on_every_ud_ewt_dev_sentence(nltk_tagger):
    from nlpkit.linguistic.conllu import read_conllu_records

    sentences = [r["tokens"] for r in read_conllu_records(str(UD_DEV))]
    assert len(sentences) == 2001 and sum(map(len, sentences)) == 25147
    ours = [r["pos"] for r in TagStage("nltk")({"tokens": s} for s in sentences)]
    assert ours == nltk_tags(nltk_tagger, sentences)


def test_same_tags_as_nltk_on_500_imdb_reviews(nltk_tagger, sample_dir):
    sentences = imdb_tokens(sample_dir)
    assert len(sentences) == 500 and sum(map(len, sentences)) > 100_000
    expected = nltk_tags(nltk_tagger, sentences)
    assert shared_tagger().tag_sentences(sentences) == expected
    # one record at a time, and batches of another size, give the same tags
    assert [shared_tagger().tag_sentences([s])[0] for s in sentences[:40]] == expected[:40]
    assert sum((shared_tagger().tag_sentences(sentences[i:i + 7]) for i in range(0, 70, 7)), []) == expected[:70]


EDGE_CASES = [
    [],
    ["Zqxwvbnm"],
    ["."],
    ["-"],
    [""],
    ["", "", "the"],
    ["1999", "12-3", "-x", "3.5", "7", "\u0663\u0663\u0663\u0663", "ß", "İstanbul"],
    ["New York", "is", "big"],  # a token with a space: its feature strings hold one too
    ["-START-", "-END-", "-START2-", "!YEAR", "!HYPHEN", "!DIGITS", "i", "tag"],
    ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"],
    ["blorfed", "the", "snarking", "wuggles", "quixotically", "unbelievability"] * 3,
]


def test_unknown_words_empty_and_one_token_records_match_nltk(nltk_tagger):
    expected = nltk_tags(nltk_tagger, EDGE_CASES)
    assert shared_tagger().tag_sentences(EDGE_CASES) == expected
    for case, tags in zip(EDGE_CASES, expected):
        assert shared_tagger().tag_sentences([case]) == [tags]
    records = list(TagStage("nltk")({"tokens": t} for t in EDGE_CASES))
    assert [r["pos"] for r in records] == expected
    assert records[0] == {"tokens": [], "pos": [], "upos": []}
    assert records[1]["pos"] == [nltk_tagger.tag(["Zqxwvbnm"])[0][1]]


def test_normalize_is_nltks(nltk_tagger):
    for word in ["1999", "12-3", "-x", "3.5", "", "ABC", "\u0663\u0663\u0663\u0663", "2024-01", "x-"]:
        assert normalize(word) == nltk_tagger.normalize(word)


def nltk_model(weights, tagdict, classes):
    from nltk.tag import PerceptronTagger

    tagger = PerceptronTagger(load=False)
    tagger.decode_json_params((weights, tagdict, classes))
    return tagger


def test_an_exact_tie_goes_to_the_larger_class_name_as_in_nltk():
    configure_nltk()
    weights = {"bias": {"AA": 1.0, "ZZ": 1.0, "MM": 1.0}, "i word b": {"MM": 0.5, "ZZ": 0.5}}
    classes = ["MM", "AA", "ZZ"]
    ours = BatchedTagger(weights, {}, classes)
    for tokens in (["a"], ["b"], ["a", "b", "a"]):
        assert ours.tag(tokens) == nltk_model(weights, {}, classes).tag(tokens)
    assert ours.tag_sentences([["a", "b"]]) == [["ZZ", "ZZ"]]


def test_the_order_of_the_float_sum_decides_like_nltk():
    """NLTK adds bias, then the previous tag's weight, then the word's: (0.001 + 0.008) + 0.001 is
    0.010000000000000002, more than ZZ's 0.01, so AA wins. Summed word features first,
    (0.001 + 0.001) + 0.008 is 0.01, a tie that ZZ would win: the close call is scored again."""
    configure_nltk()
    weights = {"bias": {"AA": 0.001, "ZZ": 0.01}, "i-1 tag -START-": {"AA": 0.008}, "i word x": {"AA": 0.001}}
    classes = ["AA", "ZZ"]
    assert (0.001 + 0.008) + 0.001 > 0.01 == (0.001 + 0.001) + 0.008
    reference = nltk_model(weights, {}, classes)
    assert reference.tag(["x"]) == [("x", "AA")]
    assert BatchedTagger(weights, {}, classes).tag(["x"]) == [("x", "AA")]
    tokens = ["x", "y", "x", "x"]
    assert BatchedTagger(weights, {}, classes).tag(tokens) == reference.tag(tokens)


def test_the_tag_dictionary_short_cut_and_tag_features_match_nltk():
    configure_nltk()
    weights = {"bias": {"NN": 0.5}, "i-1 tag DT": {"JJ": 1.0}, "i-2 tag DT": {"VB": 2.0},
               "i tag+i-2 tag JJ DT": {"NN": 3.0}, "i-1 tag+i word JJ cat": {"VB": 4.0},
               "i-1 word the": {"RB": 0.75}, "i+1 suffix cat": {"JJ": 0.25}}
    tagdict = {"the": "DT", "Empty": ""}  # an empty tag is no short-cut, as in NLTK
    classes = ["NN", "JJ", "VB", "RB", "DT"]
    reference = nltk_model(weights, tagdict, classes)
    ours = BatchedTagger(weights, tagdict, classes)
    for tokens in (["the", "big", "cat"], ["the", "the", "cat", "cat"], ["Empty", "the"], ["cat"]):
        assert ours.tag(tokens) == reference.tag(tokens)


def test_lemmatize_output_is_what_the_nltk_tagger_and_wordnet_gave(nltk_tagger, sample_dir):
    sentences = imdb_tokens(sample_dir, n=200)
    morphy = english_wordnet().morphy
    expected = [[morphy(token, penn_to_wordnet(tag)) or token for token, tag in nltk_tagger.tag(tokens)]
                for tokens in sentences]
    assert [r["tokens"] for r in LemmatizeStage()({"tokens": t} for t in sentences)] == expected
    # records that bring their own `pos` keep it; a batch may mix the two
    mixed = [{"tokens": t, "pos": [tag for _, tag in nltk_tagger.tag(t)]} if i % 2 else {"tokens": t}
             for i, t in enumerate(sentences[:20])]
    assert [r["tokens"] for r in LemmatizeStage()(mixed)] == expected[:20]
    assert [r["tokens"] for r in LemmatizeStage()([{"tokens": []}, {"tokens": ["mice"]}])] == [[], ["mouse"]]


def test_the_tagger_reads_json_and_loads_no_pickle(monkeypatch):
    import pickle

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    opened: list[str] = []
    watching = [True]

    def audit(event, args):
        if watching[0] and event == "open" and isinstance(args[0], str):
            opened.append(args[0])

    sys.addaudithook(audit)  # stays installed for the session: `watching` turns it off
    try:
        tagger = BatchedTagger.from_nltk_data()
    finally:
        watching[0] = False
    assert tagger.tag(["I", "saw", "her"]) == [("I", "PRP"), ("saw", "VBD"), ("her", "PRP")]
    model_files = [p for p in opened if "averaged_perceptron_tagger" in p]
    assert model_files and all(p.endswith((".json", ".zip")) for p in model_files), model_files
    assert not any(p.endswith((".pickle", ".pkl")) for p in opened)


def test_the_model_is_read_from_the_nltk_zip_when_there_is_no_folder(tmp_path, monkeypatch):
    from nlpkit.resources import read_nltk_data

    shared = SHARED_DIR / "nltk_data" / "taggers"
    if not (shared / "averaged_perceptron_tagger_eng.zip").exists():
        pytest.skip("needs ../shared/nltk_data beside the checkout")
    (tmp_path / "taggers").mkdir()
    shutil.copy(shared / "averaged_perceptron_tagger_eng.zip", tmp_path / "taggers")
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    member = "averaged_perceptron_tagger_eng.classes.json"
    from_zip = read_nltk_data("averaged_perceptron_tagger_eng", member)
    assert json.loads(from_zip) == json.loads((shared / "averaged_perceptron_tagger_eng" / member).read_bytes())


def test_the_vocabulary_cache_starts_again_past_its_bound(monkeypatch, nltk_tagger):
    import nlpkit.text.perceptron as perceptron

    monkeypatch.setattr(perceptron, "MAX_VOCABULARY", 50)
    tagger = BatchedTagger.from_nltk_data()
    batches = [[f"word{i}x{j}" for j in range(20)] + ["the", "cat", "sat"] for i in range(6)]
    for tokens in batches:
        assert tagger.tag_sentences([tokens]) == nltk_tags(nltk_tagger, [tokens])
        assert len(tagger._types) <= 50 + len(tokens)


def test_morphy_is_nltks_on_every_exception_form_and_a_sample_of_lemmas(sample_dir):
    from nlpkit.text.morphy import Morphy

    ours, theirs = Morphy.from_nltk_data(), english_wordnet().morphy
    lemmas = sorted(set().union(*ours.lemmas.values()))
    assert len(lemmas) > 140_000  # WordNet 3.0: 147,306 lemmas
    exceptions = sorted({w for forms in ours.exceptions.values() for k, v in forms.items() for w in [k, *v]})
    inflected = [w + end for w in lemmas[::97] for end in ("s", "es", "ies", "ed", "ing", "er", "est", "men", "ves")]
    tokens = sorted({t for tokens in imdb_tokens(sample_dir, n=100) for t in tokens})
    words = exceptions + lemmas[::13] + inflected + tokens + [t.title() for t in tokens[:300]] + ["", "'s", "-"]
    for pos in ("n", "v", "a", "r"):
        assert [ours(w, pos) for w in words] == [theirs(w, pos) for w in words], pos

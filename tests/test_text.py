"""The text rungs through the CLI: exact outputs on known inputs for every command and option."""

import gzip
import json

import nltk
import pytest

from tests.conftest import parse_jsonl, write_jsonl

REVIEW = "I <i>LOVED</i> it &amp; you'll too!<br />Visit https://x.com/a?b=1 or mail me@x.org. 10/10 Café ﬁne"


def text_out(invoke, *args, input=None):
    result = invoke(*args, "--format", "text", input=input)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


# ----------------------------------------------------------------------------- clean


def test_clean_defaults_follow_the_classic_pipeline(invoke):
    assert text_out(invoke, "clean", input=REVIEW + "\n") == ["i loved it youll too visit or mail 10 10 café fine"]


def test_clean_every_step_can_be_turned_off(invoke):
    out = text_out(
        invoke, "clean", "--no-lower", "--no-html", "--no-urls", "--no-emails", "--no-punct", "--unicode", "none",
        "--no-whitespace", input=REVIEW + "\n",
    )
    assert out == [REVIEW]


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--digits"], "i loved it youll too visit or mail café fine"),
        (["--no-html"], "i i loved i it amp youll too br visit or mail 10 10 café fine"),
        (["--no-urls"], "i loved it youll too visit https x com a b 1 or mail 10 10 café fine"),
        (["--no-emails"], "i loved it youll too visit or mail me x org 10 10 café fine"),
        (["--no-punct"], "i loved it & you'll too! visit or mail . 10/10 café fine"),
        (["--no-lower"], "I LOVED it youll too Visit or mail 10 10 Café fine"),
        (["--unicode", "NFC"], "i loved it youll too visit or mail 10 10 café ﬁne"),
    ],
)
def test_clean_each_flag(invoke, flags, expected):
    assert text_out(invoke, "clean", *flags, input=REVIEW + "\n") == [expected]


def test_clean_keeps_other_fields_and_rewrites_the_chosen_field(invoke):
    record = {"id": "r1", "body": "Hello, <b>World</b>!", "label": "pos", "text": "untouched"}
    result = invoke("clean", "--field", "body", input=json.dumps(record) + "\n")
    assert parse_jsonl(result.stdout) == [{**record, "body": "hello world"}]


# ----------------------------------------------------------------------------- tokenize

SENTENCES = "Mr. Smith didn't go. He stayed home!"


def test_tokenize_nltk_is_exactly_word_tokenize(invoke, sample_dir):
    result = invoke("tokenize", sample_dir / "test.jsonl.gz", "--engine", "nltk")
    records = parse_jsonl(result.stdout)
    assert len(records) == 1000
    for record in records[:200]:
        assert record["tokens"] == nltk.word_tokenize(record["text"])


@pytest.mark.parametrize(
    "engine, expected",
    [
        ("nltk", "Mr. Smith did n't go . He stayed home !"),
        ("regex", "Mr . Smith didn't go . He stayed home !"),
        ("spacy", "Mr. Smith did n't go . He stayed home !"),
        ("wordpiece", "mr . smith didn ' t go . he stayed home !"),
    ],
)
def test_tokenize_engines(invoke, engine, expected):
    assert text_out(invoke, "tokenize", "--engine", engine, input=SENTENCES + "\n") == [expected]


@pytest.mark.parametrize(
    "engine, expected",
    [
        ("nltk", [["Mr.", "Smith", "did", "n't", "go", "."], ["He", "stayed", "home", "!"]]),
        ("regex", [["Mr", "."], ["Smith", "didn't", "go", "."], ["He", "stayed", "home", "!"]]),
        ("spacy", [["Mr.", "Smith", "did", "n't", "go", "."], ["He", "stayed", "home", "!"]]),
    ],
)
def test_tokenize_sentences(invoke, engine, expected):
    (record,) = parse_jsonl(invoke("tokenize", "--engine", engine, "--sentences", input=SENTENCES + "\n").stdout)
    assert record["sents"] == expected
    assert record["tokens"] == [t for s in expected for t in s]


# ----------------------------------------------------------------------------- stopwords

NEGATED = "This is not a film I didn't like and it wasn't bad nor good\n"


def test_stopwords_keep_negations_by_default(invoke):
    assert text_out(invoke, "stopwords", input=NEGATED) == ["not film didn't like wasn't bad nor good"]


def test_stopwords_keep_empty_removes_negations_too(invoke):
    assert text_out(invoke, "stopwords", "--keep", "", input=NEGATED) == ["film like bad good"]


def test_stopwords_custom_keep_add_and_list(invoke, tmp_path):
    word_list = tmp_path / "extra.txt"
    word_list.write_text("# my list\nfilm\n\nlike  # verbs too\n")
    assert text_out(invoke, "stopwords", "--keep", "this,not", "--add", "BAD", "--list", word_list, input=NEGATED) == [
        "This not good"  # --keep replaces the negations: "didn't" and "wasn't" go too
    ]


def test_stopwords_lang_none_uses_only_the_given_words(invoke):
    assert text_out(invoke, "stopwords", "--lang", "none", "--add", "is,a", input=NEGATED) == [
        "This not film I didn't like and it wasn't bad nor good"
    ]


def test_stopwords_other_language_and_unknown_language(invoke):
    assert text_out(invoke, "stopwords", "--lang", "french", input="le film est très bon\n") == ["film très bon"]
    result = invoke("stopwords", "--lang", "klingon", input="x\n")
    assert result.exit_code == 1
    assert "no NLTK stop-word list for 'klingon'" in result.stderr


# ----------------------------------------------------------------------------- stem

WORDS = "running dying skies possibly analogy generously\n"


def test_stem_falls_back_to_whitespace_split_text(invoke):
    assert text_out(invoke, "stem", input="running cats\n") == ["run cat"]


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "run die sky possibl analog gener"),
        (["--porter-mode", "original"], "run dy ski possibli analogi gener"),
        (["--porter-mode", "martin"], "run dy ski possibl analog gener"),
        (["--algorithm", "snowball"], "run die sky possibl analog generous"),
        (["--algorithm", "lancaster"], "run dying ski poss analog gen"),
    ],
)
def test_stem_algorithms_and_porter_modes(invoke, args, expected):
    assert text_out(invoke, "stem", *args, input=WORDS) == [expected]


def test_stem_snowball_language(invoke):
    assert text_out(invoke, "stem", "--algorithm", "snowball", "--lang", "spanish", input="corriendo casas\n") == ["corr cas"]


def test_stem_uses_tokens_when_present(invoke):
    record = {"text": "ignored text", "tokens": ["Cats", "running"]}
    (out,) = parse_jsonl(invoke("stem", input=json.dumps(record) + "\n").stdout)
    assert out == {"text": "ignored text", "tokens": ["cat", "run"]}


# ----------------------------------------------------------------------------- lemmatize


def test_lemmatize_wordnet_tags_tokens_itself(invoke):
    # NLTK's tagger: was/VBD running/VBG faster/RBR mice/NN ate/VBD cheeses/NNS
    assert text_out(invoke, "lemmatize", input="she was running faster and the mice ate the cheeses\n") == [
        "she be run faster and the mouse eat the cheese"
    ]


def test_lemmatize_uses_the_pos_field(invoke):
    record = {"tokens": ["meeting", "meeting"], "pos": ["NN", "VBG"]}
    (out,) = parse_jsonl(invoke("lemmatize", input=json.dumps(record) + "\n").stdout)
    assert out["tokens"] == ["meeting", "meet"]


def test_lemmatize_takes_wordnets_first_analysis_not_the_shortest(invoke):
    # NLTK's WordNetLemmatizer would give "hat" and "u" (the shortest candidates)
    record = {"tokens": ["hated", "us", "leaves"], "pos": ["VBD", "PRP", "NNS"]}
    (out,) = parse_jsonl(invoke("lemmatize", input=json.dumps(record) + "\n").stdout)
    assert out["tokens"] == ["hate", "us", "leaf"]


def test_lemmatize_forced_pos(invoke):
    assert text_out(invoke, "lemmatize", "--pos", "v", input="the cats ran better\n") == ["the cat run better"]


def test_lemmatize_spacy_engine(invoke):
    assert text_out(invoke, "lemmatize", "--engine", "spacy", input="the cats ran better than geese\n") == [
        "the cat run well than geese"
    ]


def test_lemmatize_pos_field_of_wrong_length_is_a_record_error(invoke, tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", [{"tokens": ["a"]}, {"tokens": ["a", "b"], "pos": ["DT"]}])
    result = invoke("lemmatize", path)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: {path}:2: field 'pos' has 1 tags for 2 tokens"


# ----------------------------------------------------------------------------- jobs, output files


@pytest.mark.parametrize("command", [["tokenize"], ["lemmatize"], ["clean", "--digits"]])
def test_jobs_2_gives_the_same_output_as_jobs_1(invoke, sample_dir, tmp_path, command):
    with gzip.open(sample_dir / "train.jsonl.gz", "rt") as f:
        source = write_jsonl(tmp_path / "head.jsonl", [json.loads(next(f)) for _ in range(160)])
    one = invoke(*command, source, "--jobs", "1", "--batch-size", "16")
    two = invoke(*command, source, "--jobs", "2", "--batch-size", "16")
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout
    assert len(parse_jsonl(one.stdout)) == 160


def test_output_file_gzip(invoke, tmp_path):
    out = tmp_path / "out" / "clean.jsonl.gz"
    result = invoke("clean", "-o", out, input="Hello World\n")
    assert result.exit_code == 0 and result.stdout == ""
    with gzip.open(out, "rt") as f:
        assert [json.loads(line) for line in f] == [{"id": "stdin:1", "text": "hello world"}]


def test_directory_of_text_files_is_batch_processed(invoke, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.txt").write_text("Second DOC.")
    (tmp_path / "docs" / "a.txt").write_text("First doc!\nTwo lines.")
    out = parse_jsonl(invoke("clean", tmp_path / "docs").stdout)
    assert out == [
        {"id": str(tmp_path / "docs" / "a.txt"), "text": "first doc two lines"},
        {"id": str(tmp_path / "docs" / "b.txt"), "text": "second doc"},
    ]


# ----------------------------------------------------------------------------- clean's fast paths

from hypothesis import example, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nlpkit.text import clean as clean_text  # noqa: E402
from nlpkit.text.clean import _APOSTROPHE, _DIGITS, _EMAIL, _HTML_TAG, _PUNCT, _URL  # noqa: E402


def reference_clean(text, lower=True, html_tags=True, urls=True, emails=True, punct=True, digits=False, unicode="NFKC", whitespace=True):
    """clean() as its docstring defines it: every pattern applied, no shortcuts."""
    import html
    import unicodedata

    if unicode != "none":
        text = unicodedata.normalize(unicode, text)
    if html_tags:
        text = html.unescape(_HTML_TAG.sub(" ", text))
    if urls:
        text = _URL.sub(" ", text)
    if emails:
        text = _EMAIL.sub(" ", text)
    if lower:
        text = text.lower()
    if punct:
        text = _PUNCT.sub(" ", _APOSTROPHE.sub("", text))
    if digits:
        text = _DIGITS.sub(" ", text)
    if whitespace:
        text = " ".join(text.split())
    return text


# texts built from pieces that trigger each pattern and its shortcut
tricky_text = st.lists(
    st.sampled_from(list("ab1 _'\u2019-.!@<>&;:/wW\n\té\u00a0\u2028") + ["www.", "http://", "&amp;", "<br />", "x@y.z"]),
    max_size=30,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(tricky_text, st.booleans(), st.booleans(), st.booleans())
@example("a''a", True, False, False)  # an apostrophe pair between letters is a word break
def test_clean_shortcuts_equal_the_plain_definition(text, whitespace, lower, digits):
    options = dict(whitespace=whitespace, lower=lower, digits=digits)
    assert clean_text(text, **options) == reference_clean(text, **options)

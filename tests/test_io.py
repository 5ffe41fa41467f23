"""The record stream: every input shape, gzip, stdin sniffing, bad input, and a writer/reader round trip."""

import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlpkit.errors import InputError
from nlpkit.io import BadInput, JsonlWriter, TextWriter, batched, read_items, read_jsonl_lines, read_records, read_stdin


def items(*args, **kw):
    return list(read_items(*args, **kw))


def test_jsonl_file_keeps_records_and_locations(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "x", "text": "one"}\n\n{"text": "two", "label": "pos"}\n')
    assert items([str(path)]) == [
        (f"{path}:1", {"id": "x", "text": "one"}),
        (f"{path}:3", {"text": "two", "label": "pos"}),
    ]


def test_gzip_is_detected_by_content_not_name(tmp_path):
    plain = tmp_path / "records.jsonl"
    with gzip.open(plain, "wt") as f:  # gzip bytes under a plain .jsonl name
        f.write('{"text": "zipped"}\n')
    named = tmp_path / "doc.txt.gz"
    with gzip.open(named, "wt") as f:
        f.write("a zipped document")
    assert [r for _, r in items([str(plain), str(named)])] == [
        {"text": "zipped"},
        {"id": str(named), "text": "a zipped document"},
    ]


def test_text_file_is_one_document_or_one_per_line(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("first line\n\nthird line\n")
    assert items([str(path)]) == [(str(path), {"id": str(path), "text": "first line\n\nthird line\n"})]
    assert items([str(path)], lines=True) == [
        (f"{path}:1", {"id": f"{path}:1", "text": "first line"}),
        (f"{path}:3", {"id": f"{path}:3", "text": "third line"}),
    ]


def test_directory_is_walked_in_sorted_order_skipping_hidden_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("two")
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / ".hidden").write_text("no")
    (tmp_path / "c.jsonl").write_text('{"text": "three"}\n')
    assert [r["text"] for r in read_records([str(tmp_path)])] == ["one", "two", "three"]


def test_glob_expands_sorted_and_an_empty_glob_is_an_error(tmp_path):
    for name in ("x2.txt", "x1.txt", "y.txt"):
        (tmp_path / name).write_text(name)
    assert [r["text"] for r in read_records([str(tmp_path / "x*.txt")])] == ["x1.txt", "x2.txt"]
    with pytest.raises(InputError, match="no files match"):
        items([str(tmp_path / "z*.txt")])


def test_missing_file_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        items([str(tmp_path / "nope.jsonl")])


def test_stdin_is_sniffed_jsonl_or_text():
    as_jsonl = list(read_stdin(stream=io.BytesIO(b'\n{"text": "a"}\n{"text": "b"}\n')))
    assert as_jsonl == [("stdin:2", {"text": "a"}), ("stdin:3", {"text": "b"})]
    as_text = list(read_stdin(stream=io.BytesIO(b"hello world\n\nbye\n")))
    assert as_text == [("stdin:1", {"id": "stdin:1", "text": "hello world"}), ("stdin:3", {"id": "stdin:3", "text": "bye"})]


def test_stdin_field_names_the_text_field_for_plain_text():
    assert list(read_stdin(field="body", stream=io.BytesIO(b"hi\n"))) == [("stdin:1", {"id": "stdin:1", "body": "hi"})]


def test_bad_lines_become_badinput_with_their_location():
    got = list(read_jsonl_lines([b'{"a": 1}\n', b"{oops\n", b"[1, 2]\n", b'{"t": "\xff"}\n'], "f.jsonl"))
    assert got[0] == ("f.jsonl:1", {"a": 1})
    assert got[1][0] == "f.jsonl:2" and got[1][1].problem.startswith("malformed JSON")
    assert got[2] == ("f.jsonl:3", BadInput("expected a JSON object, got list"))
    assert got[3] == ("f.jsonl:4", BadInput("not valid UTF-8 (byte 0xff at offset 7)"))


def test_read_records_raises_on_the_first_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"text": "ok"}\nnot json\n')
    with pytest.raises(InputError) as e:
        list(read_records(str(path)))
    assert str(e.value).startswith(f"{path}:2: malformed JSON")


def test_undecodable_text_file_is_bad_input(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9".encode("latin-1"))
    assert items([str(path)]) == [(str(path), BadInput("not valid UTF-8 (byte 0xe9 at offset 3)"))]


def test_text_writer_prints_tokens_else_text_one_line_per_record():
    out = io.BytesIO()
    TextWriter(out).write([{"text": "a\nb", "tokens": ["x", "y"]}, {"text": "two\nlines"}])
    assert out.getvalue() == b"x y\ntwo lines\n"


def test_text_writer_prints_structured_items_as_json():
    out = io.BytesIO()
    TextWriter(out, main_field="ents").write([{"text": "x", "ents": [{"text": "Apple", "label": "ORG"}]}])
    assert out.getvalue() == b'{"text":"Apple","label":"ORG"}\n'


def test_batches_respect_count_and_size():
    records = [("l", {"text": "x" * 10})] * 5
    assert [len(b) for b in batched(records, size=2)] == [2, 2, 1]
    assert [len(b) for b in batched(records, size=100, max_chars=25)] == [3, 2]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
records_strategy = st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), max_size=8)


@settings(max_examples=150, deadline=None)
@given(records_strategy)
def test_writer_reader_round_trip(records):
    out = io.BytesIO()
    JsonlWriter(out).write(records)
    lines = out.getvalue().splitlines(keepends=True)
    assert len(lines) == len(records)
    assert [r for _, r in read_jsonl_lines(lines, "mem")] == records

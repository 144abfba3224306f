"""Reading CSV exports: the text column, encodings, delimiters, odd fields, and clear errors."""

from __future__ import annotations

import io
import sys

import pandas as pd
import pytest

from journey_cli import DataError, read_posts
from journey_cli.reading import find_text_column

from .conftest import EXAMPLES


def read_all(path, **options) -> pd.DataFrame:
    table = read_posts(path, **options)
    return pd.concat(list(table.chunks), ignore_index=True)


@pytest.mark.parametrize(
    ("columns", "found"),
    [
        (["id", "text"], "text"),
        (["id", "Message", "date"], "Message"),
        (["Tweet", "user"], "Tweet"),
        (["body", "content"], "content"),  # `content` is preferred over `body`
    ],
)
def test_text_column_is_found_by_name(columns, found):
    assert find_text_column(columns) == found


def test_unknown_text_column_lists_the_columns_and_the_option():
    with pytest.raises(DataError, match="column 'txt' not found; columns are id, text, date; pass --text-column"):
        find_text_column(["id", "text", "date"], "txt")
    with pytest.raises(DataError, match="no text column found; columns are id, date"):
        find_text_column(["id", "date"])


def test_example_posts_read_in_chunks_with_cells_unchanged():
    table = read_posts(EXAMPLES / "posts.csv", chunk_size=7)
    chunks = list(table.chunks)
    assert table.columns == ["id", "author", "created_at", "text"]
    assert max(len(c) for c in chunks) == 7
    frame = pd.concat(chunks, ignore_index=True)
    assert len(frame) == len(pd.read_csv(EXAMPLES / "posts.csv"))
    assert (frame["text"] == "").sum() >= 1, "an empty post stays an empty string, not NaN"


def test_bom_semicolons_and_newlines_in_fields(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes('\ufeffid;text\n1;"two\nlines; and ""quotes"""\n2;007\n'.encode())
    frame = read_all(path)
    assert list(frame.columns) == ["id", "text"]
    assert frame["text"].tolist() == ['two\nlines; and "quotes"', "007"]


def test_fields_of_megabytes_are_read_whole(tmp_path):
    long_text = "word " * 400_000
    path = tmp_path / "long.csv"
    pd.DataFrame({"text": [long_text, "short"]}).to_csv(path, index=False)
    assert read_all(path)["text"].tolist() == [long_text, "short"]


def test_stdin_is_read_when_the_path_is_a_dash(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"text\thandle\nhello\t@a\n")))
    frame = read_all("-")
    assert frame.to_dict("records") == [{"text": "hello", "handle": "@a"}]


def test_wrong_encoding_says_which_option_to_use(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text\ncaf\u00e9 cr\u00e8me\n".encode("latin-1"))
    with pytest.raises(DataError, match="not valid utf-8-sig text .*--encoding cp1252"):
        read_all(path)
    assert read_all(path, encoding="latin-1")["text"].tolist() == ["caf\u00e9 cr\u00e8me"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b'text\n"never closed\n', "cannot read .* as CSV"),
        # Files pandas would read by silently losing or shifting data:
        (b"text,text\na,b\n", "more than one column named 'text'"),
        (b"id,text\n1,hel\x00lo\n", "NUL bytes"),
        (b"id,text\n1,a,b,c\n", "a row has more fields than the header"),
        (b"id,text\n1,x\n2,a,b,c\n", "Expected 2 fields in line 3, saw 4"),
    ],
)
def test_broken_files_are_data_errors(tmp_path, content, message):
    path = tmp_path / "broken.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_all(path)


def test_missing_paths_and_folders_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_posts(tmp_path / "absent.csv")
    with pytest.raises(DataError, match="is a directory"):
        read_posts(tmp_path)
    with pytest.raises(DataError, match="unknown encoding"):
        read_posts(EXAMPLES / "posts.csv", encoding="klingon")


def test_header_only_file_gives_no_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("id,text\n")
    assert read_all(path).empty


def test_excel_unicode_text_in_utf16_just_works(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("id\ttext\r\n1\tna\u00efve caf\u00e9 \U0001f600\r\n".encode("utf-16"))
    assert read_all(path).to_dict("records") == [{"id": "1", "text": "na\u00efve caf\u00e9 \U0001f600"}]


def test_header_names_are_kept_as_written(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("id,,text\n1,,hi\n")
    assert list(read_all(path).columns) == ["id", "", "text"]

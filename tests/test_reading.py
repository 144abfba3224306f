"""Reading CSV exports: the text column, encodings, delimiters, odd fields, and clear errors."""

from __future__ import annotations

import io
import sys

import pandas as pd
import pyarrow as pa
import pytest

from journey_cli import DataError, read_posts
from journey_cli.reading import find_text_column

from .conftest import EXAMPLES


def read_all(path, **options) -> pd.DataFrame:
    return read_posts(path, **options).frame()


@pytest.mark.parametrize(
    ("columns", "found"),
    [
        (["id", "text"], "text"),
        (["id", "Message", "date"], "Message"),
        (["Tweet", "user"], "Tweet"),
        (["body", "content"], "content"),  # `content` is preferred over `body`
        (["Tweet id", "Tweet text", "time"], "Tweet text"),  # an analytics export's header
        (["Date", "Network", "Post Content", "Profile"], "Post Content"),  # a social suite's export
        (["Query Id", "Date", "Title", "Snippet", "Full Text", "Author"], "Full Text"),  # a listening tool's
        (["tweet_id", "tweet_text", "user_handle"], "tweet_text"),
        (["Ticket ID", "Subject", "Description", "Requester"], "Description"),  # a help desk's
        ([" MESSAGE  ", "id"], " MESSAGE  "),
    ],
)
def test_text_column_is_found_by_name_whatever_its_case_spaces_or_punctuation(columns, found):
    assert find_text_column(columns) == found


def test_with_no_text_column_the_error_names_the_near_ones():
    with pytest.raises(DataError, match="no text column found; columns are id, body_html; is it 'body_html'.; pass"):
        find_text_column(["id", "body_html"])


def test_unknown_text_column_lists_the_columns_and_the_option():
    with pytest.raises(DataError, match="text column 'txt' not found; did you mean 'text'. columns are id, text, date"):
        find_text_column(["id", "text", "date"], "txt")
    with pytest.raises(DataError, match="no text column found; columns are id, date"):
        find_text_column(["id", "date"])


def test_example_posts_read_in_chunks_with_cells_unchanged():
    table = read_posts(EXAMPLES / "posts.csv", chunk_size=7)
    chunks = list(table.chunks)
    assert table.columns == ["id", "author", "created_at", "text"]
    assert max(len(c) for c in chunks) == 7
    frame = pa.concat_tables(chunks).to_pandas()
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
    with pytest.raises(DataError, match=r"not valid utf-8 text \(column 1, near the top\); pass --encoding cp1252"):
        read_all(path, encoding="utf-8")
    assert read_all(path, encoding="latin-1")["text"].tolist() == ["caf\u00e9 cr\u00e8me"]
    with pytest.warns(UserWarning, match="as cp1252"):  # with no encoding given, a file that is not UTF-8
        assert read_all(path)["text"].tolist() == ["caf\u00e9 cr\u00e8me"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"\n\n", "is empty"),
        (b'text\n"never closed\n', "starts on line 2 is never closed"),
        # Files pandas would read by silently losing or shifting data:
        (b"text,text\na,b\n", "more than one column named 'text'"),
        (b"id,text\n1,hel\x00lo\n", "NUL bytes"),
        (b"id,text\n1,a,b,c\n", "a row near the top has 4 fields where the header has 2 .*more fields"),
        (b"id,text\n1\n", "has 1 fields where the header has 2 .*fewer fields"),
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
    with pytest.raises(DataError, match="unknown text encoding"):
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


def test_a_broken_row_far_down_says_about_where_it_is(tmp_path):
    path = tmp_path / "late.csv"
    path.write_text("id,text\n" + "".join(f"{i},post {i}\n" for i in range(30_000)) + "30000,a,b\n")
    table = read_posts(path, chunk_size=1000)
    with pytest.raises(
        DataError, match=r"a row after data row \d+ has 3 fields where the header has 2 \('30000,a,b'\)"
    ):
        list(table.chunks)


def test_rows_longer_than_a_block_are_read_again_with_bigger_blocks(tmp_path, monkeypatch):
    from journey_cli import reading

    monkeypatch.setattr(reading, "BLOCK_BYTES", 4096)
    long_text = "x" * 50_000
    path = tmp_path / "long.csv"
    rows = [f"{i},short {i}" for i in range(200)] + [f'200,"{long_text}"'] + [f"{i},after {i}" for i in range(201, 260)]
    path.write_text("id,text\n" + "\n".join(rows) + "\n")
    frame = read_all(path, chunk_size=64)
    assert frame["id"].tolist() == [str(i) for i in range(260)]
    assert frame["text"][200] == long_text

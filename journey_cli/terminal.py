"""Text safe to show on a terminal: file names, arguments and posts quoted in journey's messages.

A file name or a post can hold line breaks and escape sequences (which can retitle a terminal
window or write its clipboard); shown through these functions it stays on one line, escaped.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path


def printable(text: str) -> str:
    """`text` on one line: control characters, line ends and undecodable bytes shown escaped.

    >>> print(printable("posts.csv\\n\\x1b]0;owned\\x07"))
    posts.csv\\n\\x1b]0;owned\\x07
    """
    text = as_text(text)
    if text.isprintable():
        return text
    return "".join(repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def as_text(text: str) -> str:
    """Text with undecodable bytes replaced: arguments and file names that are not UTF-8 arrive as
    surrogates, which can be neither printed nor classified."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def shown_path(path: str | Path) -> str:
    """A path as a user would type it, on one line: under the home folder it starts with ~."""
    try:
        return printable("~/" + str(Path(path).expanduser().resolve().relative_to(Path.home().resolve())))
    except (ValueError, OSError, RuntimeError):
        return printable(str(path))

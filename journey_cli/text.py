"""Normalise post text before it reaches the model, the same way in training and classifying.

Social posts spell the same thing many ways; folding the variants lets a small corpus teach
patterns that carry over to new posts: every URL looks alike, every @handle looks alike, numbers
look alike, and "soooo" is "soo".
"""

from __future__ import annotations

import pandas as pd

_REPLACEMENTS = (
    # HTML entities left in exported tweets.
    (r"&amp;", "&"),
    (r"&quot;", '"'),
    (r"&lt;", "<"),
    (r"&gt;", ">"),
    (r"&#39;|&#039;|&apos;", "'"),
    # Links, including the {link} placeholder that anonymised exports put in their place.
    (r"(?:https?://|www\.)\S+|\{link\}", " _url_ "),
    (r"(?<![\w@])@\w+", " _user_ "),
    (r"\d+", "0"),
    (r"(\w)\1{2,}", r"\1\1"),
    (r"\s+", " "),
)


def normalise_texts(texts: pd.Series) -> pd.Series:
    """Return the texts lower-cased with URLs, @handles, numbers and stretched letters folded."""
    folded = texts.fillna("").astype(str).str.lower()
    for pattern, replacement in _REPLACEMENTS:
        folded = folded.str.replace(pattern, replacement, regex=True)
    return folded.str.strip()

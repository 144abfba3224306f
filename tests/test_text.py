"""Text normalisation: variants that mean the same thing look the same to the model."""

from __future__ import annotations

import pandas as pd

from journey_cli.text import blank_posts, normalise_texts


def words(texts) -> list[list[str]]:
    """The normalised posts as the model reads them: words between spaces."""
    return [text.split() for text in normalise_texts(texts).to_pylist()]


def test_urls_handles_numbers_and_stretched_letters_are_folded():
    texts = pd.Series(["@Delta flight 1234 was SOOOO late http://t.co/abc &amp; no wifi", None, "   "])
    assert [" ".join(w) for w in words(texts)] == ["_user_ flight 0 was soo late _url_ no wifi", "", ""]


def test_anonymised_placeholders_look_like_the_real_thing():
    assert words(["RT @mention great panel {link} #sxsw"]) == [["rt", "_user_", "great", "panel", "_url_", "sxsw"]]


def test_an_email_address_is_not_a_handle():
    assert words(["mail me at a.b@example.com"]) == [["mail", "me", "at", "a", "b", "example", "com"]]


def test_exclamations_questions_and_unicode_are_words_of_their_own():
    assert [" ".join(w) for w in words(["Any recs?? Café 2nd visit!", "naïve\u00a0crème\tbrûlée 42 😀"])] == [
        "any recs ? ? café 0nd visit !",
        "naïve crème brûlée 0 😀",
    ]


def test_a_post_of_emoji_handles_and_punctuation_only_has_no_words():
    assert words(["😀🔥 ... !!!"]) == [["😀", "🔥", "!", "!", "!"]], "an emoji can turn a post around"
    posts = ["🙏🏽🙏🏽 ...", "@sarah_j 😂😂", "@delta 12 !", "@delta ok", ""]
    assert blank_posts(normalise_texts(posts)).tolist() == [True, True, True, False, True], "none, confidence 1"

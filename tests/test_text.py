"""Text normalisation: variants that mean the same thing look the same to the model."""

from __future__ import annotations

import pandas as pd

from journey_cli.text import normalise_texts


def test_urls_handles_numbers_and_stretched_letters_are_folded():
    texts = pd.Series(["@Delta flight 1234 was SOOOO late http://t.co/abc &amp; no wifi", None, "   "])
    assert normalise_texts(texts).to_pylist() == ["_user_ flight 0 was soo late _url_ no wifi", "", ""]


def test_anonymised_placeholders_look_like_the_real_thing():
    assert normalise_texts(pd.Series(["RT @mention great panel {link} #sxsw"])).to_pylist() == [
        "rt _user_ great panel _url_ sxsw"
    ]


def test_an_email_address_is_not_a_handle():
    assert normalise_texts(pd.Series(["mail me at a.b@example.com #fail"])).to_pylist() == [
        "mail me at a b example com fail"
    ]


def test_exclamations_questions_and_unicode_are_words_of_their_own():
    assert normalise_texts(["Any recs?? Café 2nd visit!", "naïve\u00a0crème\tbrûlée 42"]).to_pylist() == [
        "any recs ?  ?  café 0nd visit !",
        "naïve crème brûlée 0",
    ]

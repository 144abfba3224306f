"""The bundled corpus: big and varied enough to teach real social language, and never templated."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pytest

from journey_cli import load_stages

from .conftest import CORPUS, EXAMPLES

RUN = 8


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return pd.read_csv(CORPUS, dtype=str, keep_default_na=False)


def folded_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def test_corpus_is_big_and_every_stage_is_well_represented(corpus):
    assert len(corpus) >= 1500
    for framework_id, framework in load_stages().frameworks.items():
        counts = corpus[framework_id].value_counts()
        assert set(counts.index) == set(framework.stage_ids), framework_id
        for stage_id in framework.stage_ids:
            assert counts[stage_id] >= (250 if stage_id == "none" else 150), (framework_id, stage_id)


def test_labels_respect_the_crosswalk(corpus):
    (crosswalk,) = load_stages().crosswalk
    allowed = {(first, second) for first, seconds in crosswalk.links.items() for second in seconds}
    pairs = Counter(zip(corpus["lifecycle"], corpus["social"], strict=True))
    off = {pair: n for pair, n in pairs.items() if pair not in allowed}
    assert not off, f"label pairs outside the crosswalk: {off}"


def test_no_two_posts_are_the_same_or_share_a_run_of_eight_words(corpus):
    seen: dict[tuple[str, ...], int] = {}
    texts: dict[str, int] = {}
    clashes = []
    for row, text in enumerate(corpus["text"]):
        words = folded_words(text)
        key = " ".join(words)
        if key in texts:
            clashes.append(f"rows {texts[key] + 2} and {row + 2} are the same post")
        texts.setdefault(key, row)
        for start in range(len(words) - RUN + 1):
            run = tuple(words[start : start + RUN])
            if seen.setdefault(run, row) != row:
                clashes.append(f"rows {seen[run] + 2} and {row + 2} share '{' '.join(run)}'")
                break
    assert not clashes, "\n".join(clashes[:20])


CHANNELS = [  # what care and social teams export, each taught with hundreds of posts
    "tweet_support", "tweet_chatter", "tweet_event", "reply", "instagram", "facebook", "youtube", "tiktok",
    "review", "review_sentence", "product_question", "forum", "app_review", "support_ticket",
]  # fmt: skip


def test_every_post_has_a_channel_and_each_channel_teams_export_is_well_covered(corpus):
    assert (corpus["channel"] != "").all()
    counts = corpus["channel"].value_counts()
    thin = {channel: int(counts.get(channel, 0)) for channel in CHANNELS if counts.get(channel, 0) < 300}
    assert not thin, f"channels with too few posts: {thin}"


def test_the_corpus_mix_leans_to_none_and_post_purchase_as_real_streams_do(corpus):
    shares = corpus["social"].value_counts(normalize=True)
    assert shares["post_purchase"] + shares["advocacy"] + shares["none"] > 0.7
    assert shares["none"] > 0.25


def test_posts_come_from_many_domains_channels_and_styles(corpus):
    assert corpus["domain"].nunique() >= 12
    assert corpus["channel"].nunique() >= 14
    text = corpus["text"]
    assert text.str.contains(r"@\w").mean() > 0.2, "@mentions"
    assert text.str.contains(r"#\w").sum() > 50, "hashtags"
    assert text.str.contains(r"https?://").sum() > 30, "links"
    assert text.str.contains(r"[\U0001F300-\U0001FAFF]").sum() > 50, "emoji"
    assert (text.str.len() < 30).sum() > 20, "very short posts"
    assert (text.str.len() > 250).sum() > 20, "long rants and reviews"


def test_demo_posts_are_unlabelled_and_not_in_the_training_set(corpus):
    posts = pd.read_csv(EXAMPLES / "posts.csv", dtype=str, keep_default_na=False)
    assert list(posts.columns) == ["id", "author", "created_at", "text"]
    assert len(posts) >= 60
    assert posts["id"].is_unique
    training = {" ".join(folded_words(t)) for t in corpus["text"]}
    # A post of emoji alone has no words to leak, so it is the same as no other post.
    assert not [t for t in posts["text"] if folded_words(t) and " ".join(folded_words(t)) in training]

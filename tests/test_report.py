"""`journey report`: what a marketer sees of a classified file."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from journey_cli.cli import app
from journey_cli.stages import default_stages_path

from .conftest import EXAMPLES


def test_report_counts_every_post_per_stage_and_lists_problems_after_purchase_first(runner, mini_model_path, tmp_path):
    classified = tmp_path / "classified.csv"
    result = runner.invoke(
        app, ["classify", str(EXAMPLES / "posts.csv"), "-m", str(mini_model_path), "-o", str(classified)]
    )
    assert result.exit_code == 0, result.stderr

    frame = pd.read_csv(classified, dtype=str, keep_default_na=False)
    result = runner.invoke(app, ["report", str(classified), "--top", "3"])
    assert result.exit_code == 0, result.stderr
    report = result.stdout
    for framework_id in ("lifecycle", "social"):
        assert f"{framework_id}: " in report and f"{framework_id} funnel" in report
        assert f"{framework_id} by day (created_at)" in report
        shown = dict(re.findall(r"^  (\w+) +(\d+)  +[\d.]+%", report.split(f"{framework_id}: ")[1], re.M)[:7])
        expected = frame[f"{framework_id}_stage"].value_counts()
        assert {stage: int(count) for stage, count in shown.items() if int(count)} == expected.to_dict()
    # Reply first: posts at a reply_first stage (social post_purchase), the surest first.
    urgent = frame[frame["social_stage"] == "post_purchase"]
    surest = urgent["social_confidence"].astype(float).sort_values(ascending=False, kind="stable").head(3)
    heading, *first = report.split("reply first: ")[1].splitlines()
    assert heading == f"the 3 surest of {len(urgent)} posts at social post_purchase"
    expected = [
        f"{sure:.2f}  {frame.at[i, 'author'].lstrip(chr(39))}: {' '.join(frame.at[i, 'text'].lstrip(chr(39)).split())}"
        for i, sure in surest.items()
    ]
    assert [line.strip()[:70] for line in first] == [line[:70] for line in expected]


def test_reply_first_follows_the_stages_file_the_surest_first(runner, tmp_path):
    # A hand-made classified file for the b2b framework, whose reply_first stage is onboarding.
    classified = tmp_path / "classified.csv"
    classified.write_text(
        "author,text,buying_stage,buying_confidence\n"
        "a,SSO broke mid rollout,onboarding,0.71\n"
        "b,which CRM do you use,exploration,0.99\n"
        "c,migration stuck at 80% help,onboarding,0.93\n"
        "d,import of contacts failed,onboarding,0.88\n",
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["report", str(classified), "--stages", str(EXAMPLES / "b2b" / "stages.yaml"), "--top", "2"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split("reply first: ")[1].splitlines() == [
        "the 2 surest of 3 posts at buying onboarding",
        "  0.93  c: migration stuck at 80% help",
        "  0.88  d: import of contacts failed",
    ]


def test_a_post_flagged_by_two_frameworks_ranks_by_the_surer(runner, tmp_path):
    stages = tmp_path / "stages.yaml"  # the bundled frameworks, with lifecycle service marked as well
    text = default_stages_path().read_text(encoding="utf-8")
    marker = "        influence_goal: Turn the service experience into one worth sharing.\n"
    stages.write_text(text.replace(marker, marker + "        reply_first: true\n"), encoding="utf-8")
    classified = tmp_path / "classified.csv"
    classified.write_text(
        "text,lifecycle_stage,lifecycle_confidence,social_stage,social_confidence\n"
        "a,service,0.60,post_purchase,0.95\n"
        "b,service,0.90,advocacy,0.99\n"
        "c,consumption,0.99,advocacy,0.99\n"
        "d,consumption,0.50,post_purchase,0.70\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["report", str(classified), "--stages", str(stages)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split("reply first: ")[1].splitlines() == [
        "the 3 surest of 3 posts at lifecycle service or social post_purchase",
        "  0.95  a",
        "  0.90  b",
        "  0.70  d",
    ]


def test_report_of_a_file_that_was_not_classified_is_one_error_line(runner):
    result = runner.invoke(app, ["report", str(EXAMPLES / "posts.csv")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: no stage columns (lifecycle_stage, social_stage); report reads the output of `journey classify`"
        " (give --stages FILE if it was classified with another stages file)"
    )


def test_html_report_is_one_self_contained_page_and_escapes_posts(runner, mini_model_path, tmp_path):
    pytest.importorskip("matplotlib")
    posts = tmp_path / "posts.csv"
    posts.write_bytes(
        (EXAMPLES / "posts.csv").read_bytes()
        + b'p999,@x,2026-10-20T10:00:00Z,"@shop my order never came <script>alert(1)</script> refund pls"\n'
    )
    classified = tmp_path / "classified.csv"
    runner.invoke(app, ["classify", str(posts), "-m", str(mini_model_path), "-o", str(classified)])
    page_path = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(classified), "--html", str(page_path), "--top", "200"])
    assert result.exit_code == 0, result.stderr
    page = page_path.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 4  # a funnel and a timeline per framework
    assert "<th>what to do</th>" in page and "Reply quickly with empathy" in page  # each stage's rule
    assert "<script" not in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "alert(1)" not in page

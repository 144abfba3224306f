"""`journey report`: what a marketer sees of a classified file."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from journey_cli.cli import app

from .conftest import EXAMPLES


def test_report_counts_every_post_per_stage_and_lists_service_posts_first(runner, mini_model_path, tmp_path):
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
    first = report.split("reply first:")[1].splitlines()[1:]
    service = frame[frame["lifecycle_stage"] == "service"].copy()
    service["sure"] = service["lifecycle_confidence"].astype(float)
    surest = service.sort_values("sure", ascending=False, kind="stable")["text"].head(3)
    assert [line.strip()[:60] for line in first] == [" ".join(t.lstrip("'").split())[:60] for t in surest]


def test_report_of_a_file_that_was_not_classified_is_one_error_line(runner):
    result = runner.invoke(app, ["report", str(EXAMPLES / "posts.csv")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: no stage columns (lifecycle_stage, social_stage); report reads the output of `journey classify`"
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
    assert page.count('src="data:image/png;base64,') == 4  # a bar chart and a timeline per framework
    assert "<script" not in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "alert(1)" not in page

"""`journey report`: what a marketer sees of a classified file."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from journey_cli.cli import app
from journey_cli.report import read_dates, stage_counts, timeline_figure
from journey_cli.stages import default_stages_path, load_stages

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
    posts = pd.read_csv(EXAMPLES / "posts.csv", dtype=str, keep_default_na=False)  # as written, before the guard
    expected = [
        f"{sure:.2f}  {posts.at[i, 'id']}  {posts.at[i, 'author']}: {' '.join(posts.at[i, 'text'].split())}"
        for i, sure in surest.items()
    ]
    assert [line.strip()[:70] for line in first] == [line[:70] for line in expected]


def test_the_report_shows_posts_as_written_not_as_guarded_for_spreadsheets(runner, tmp_path):
    # classify's formula guard put the quote before @ and =; the posts' own leading quotes are theirs.
    rows = ["'@ana,'=HYPERLINK(1) my order never came,post_purchase,0.9",
            "'bob',''Tis the season and my parcel is lost,post_purchase,0.8"]  # fmt: skip
    classified = classified_file(tmp_path, rows, header="author,text,social_stage,social_confidence")
    result = runner.invoke(app, ["report", str(classified)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split("reply first: ")[1].splitlines()[1:] == [
        "  0.90  @ana: =HYPERLINK(1) my order never came",
        "  0.80  'bob': ''Tis the season and my parcel is lost",
    ]


def test_a_help_desk_export_gets_its_id_author_and_timeline_by_their_own_column_names(runner, tmp_path):
    rows = ["101,Ana Ruiz,2026-03-02 10:15,my parcel never came,post_purchase,0.91",
            "102,Bo Chen,2026-03-03 09:00,which plan has more storage,selection,0.80"]  # fmt: skip
    header = "Ticket ID,Requester,Date (GMT),Description,social_stage,social_confidence"
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows, header=header))])
    assert result.exit_code == 0, result.stderr
    assert "social by day (Date (GMT))" in result.stdout
    assert "  0.91  101  Ana Ruiz: my parcel never came" in result.stdout


def test_reply_first_shows_ids_in_a_column_and_no_line_grows_longer_for_them(runner, tmp_path):
    text = "my parcel never came and nobody answers the phone or the chat or the email; three weeks now so refund me"
    rows = [f"7,Ana Ruiz,{text},post_purchase,0.91", f"1024,Bo Chen,{text},post_purchase,0.80"]
    header = "Ticket ID,Requester,Description,social_stage,social_confidence"
    with_ids = runner.invoke(app, ["report", str(classified_file(tmp_path, rows, header=header))])
    assert with_ids.exit_code == 0, with_ids.stderr
    lines = with_ids.stdout.split("reply first: ")[1].splitlines()[1:]
    assert lines == [f"  0.91  7     Ana Ruiz: {text[:74]}…", f"  0.80  1024  Bo Chen: {text[:74]}…"]
    rows = [row.split(",", 1)[1] for row in rows]
    without = runner.invoke(app, ["report", str(classified_file(tmp_path, rows, header=header.split(",", 1)[1]))])
    assert [len(line) for line in without.stdout.split("reply first: ")[1].splitlines()[1:]] == list(map(len, lines))


def test_an_id_too_long_for_a_line_is_cut(runner, tmp_path):
    rows = ["0f8fad5b-d9cb-469f-a165-70867728950e,@cy,where is my order,post_purchase,0.70"]
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows, header="GUID,author,text,"
                                                                "social_stage,social_confidence"))])  # fmt: skip
    assert "  0.70  0f8fad5b-d9cb-469f-a165-…  @cy: where is my order" in result.stdout


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
    assert not PageTags.of(page).links  # posts.csv says nowhere where a post is


class PageTags(HTMLParser):
    """The tags of a page as a browser reads them, checked to be only those a report writes: no script, no
    event handler, images inlined, and links only to http(s) pages, opened apart (`rel`, `target`)."""

    TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "section", "img", "table", "tr", "th",
            "td", "a"}  # fmt: skip
    ATTRIBUTES = {"lang", "charset", "name", "content", "alt", "src", "class", "href", "rel", "target"}

    def __init__(self) -> None:
        super().__init__()
        self.links: dict[str, str] = {}  # the text of each link -> its href
        self._href: str | None = None
        self._text = ""

    @classmethod
    def of(cls, page: str) -> PageTags:
        tags = cls()
        tags.feed(page)
        tags.close()
        return tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        assert tag in self.TAGS and set(found) <= self.ATTRIBUTES, (tag, found)
        assert str(found.get("src", "data:image/png;base64,")).startswith("data:image/png;base64,"), found
        if tag == "a":
            assert re.match(r"https?://", str(found["href"]), re.IGNORECASE), found
            assert found["rel"] == "noopener noreferrer" and found["target"] == "_blank", found
            self._href, self._text = found["href"], ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links[self._text], self._href = self._href, None


def test_html_report_links_each_post_to_its_http_page_and_nothing_else(runner, tmp_path):
    pytest.importorskip("matplotlib")
    posts = [
        "1001,@ana,my order never came <b>help</b>,https://social.example/p/1001?ref=a&src=b",
        "1002,@bo,refund still missing,javascript:alert(1)",
        "1003,@cy,parcel lost,  JavaScript:alert(document.cookie)//https://social.example/",
        '1004,@di,charged twice,"https://social.example/""><script>alert(1)</script>"',
        '1005,@ed,broken on arrival,"data:text/html,<script>alert(1)</script>"',
        '1006,@fa,screen cracked,"java\tscript:alert(1)"',
        "1007,@gi,wrong size sent,//evil.example/x",
        "1008,@hu,https ohne Link,https://social.example/p/1008 onmouseover=alert(1)",
    ]
    rows = [post + ",post_purchase,0.9,service,0.9" for post in posts]
    rows.append("0f8fad5b-d9cb-469f-a165-70867728950e,@ik,Mein Paket ist weg,HTTPS://social.example/p/9,none,0,none,0")
    header = "Post ID,Author,Message,Permalink,social_stage,social_confidence,lifecycle_stage,lifecycle_confidence"
    page_path = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows, header)), "--html", str(page_path)])
    assert result.exit_code == 0, result.stderr
    page = page_path.read_text(encoding="utf-8")
    assert PageTags.of(page).links == {
        "my order never came <b>help</b>": "https://social.example/p/1001?ref=a&src=b",
        "charged twice": 'https://social.example/"><script>alert(1)</script>',
        "Mein Paket ist weg": "HTTPS://social.example/p/9",  # for a person to read, linked as well
    }
    assert '<a href="https://social.example/p/1001?ref=a&amp;src=b" rel="noopener noreferrer" target="_blank">' in page
    assert ">my order never came &lt;b&gt;help&lt;/b&gt;</a>" in page
    assert "<th>Post ID</th>" in page and "<td class=t>0f8fad5b-d9cb-469f-a165-70867728950e</td>" in page


def classified_file(tmp_path, rows: list[str], header: str = "text,author,created_at,social_stage,social_confidence"):
    path = tmp_path / "classified.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("dates", "period"),
    [
        (["2026-10-01T10:00:00Z", "2026-10-02T11:00:00+02:00", "2026-10-02"], ["2026-10-01", "2026-10-02"]),
        (["Thu Oct 01 10:00:00 +0000 2026", "Fri Oct 02 11:00:00 +0000 2026", ""], ["2026-10-01", "2026-10-02"]),
        (["1790848800", "1790935200", "1790935300"], ["2026-10-01", "2026-10-02"]),  # epoch seconds
        (["01/10/2026", "13/10/2026", "12/10/2026"], ["2026-10-01", "2026-10-12", "2026-10-13"]),  # day first
        (["0001-01-01", "2026-10-01", "2026-10-02"], ["2026-10-01", "2026-10-02"]),  # a placeholder is no date
    ],
)
def test_dates_are_read_in_the_formats_exports_use(runner, tmp_path, dates, period):
    rows = [f"post {i},a,{date},post_purchase,0.9" for i, date in enumerate(dates)]
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows))])
    assert result.exit_code == 0, result.stderr
    by_day = result.stdout.split("social by day (created_at)\n")[1].split("\n\n")[0]
    assert re.findall(r"^  (\d{4}-\d\d-\d\d)", by_day, re.M) == period


def test_values_that_are_no_stage_are_counted_as_other_with_one_warning(runner, tmp_path):
    rows = ["a,x,,post_purchase,0.9", "b,y,,$x^$,0.8", "c,z,,buying_now,0.7"]
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows))])
    assert result.exit_code == 0, result.stderr
    assert re.search(r"^  \(other\) +2 +66\.7%", result.stdout, re.M)
    assert (
        result.stderr.count("Warning:") == 1
        and "2 posts have a social_stage that is not a social stage" in result.stderr
    )


def test_the_html_report_draws_odd_dates_and_values_without_failing(runner, tmp_path):
    pytest.importorskip("matplotlib")
    rows = ["a,x,0001-01-01,post_purchase,0.9", "b,y,2026-01-01,$x^$,0.8", "c,z,2026-01-09,none,0.5"]
    page = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows)), "--html", str(page)])
    assert result.exit_code == 0, result.stderr
    assert "$x^$" not in page.read_text(encoding="utf-8")  # counted as (other), in the table and the charts


@pytest.mark.parametrize(
    ("start", "days"),
    [
        ("2026-10-05", 1),
        ("2026-10-05", 9),
        ("2026-12-20", 20),
        ("2024-02-10", 30),
        ("2026-11-20", 60),
        ("2026-01-01", 365),
        ("2024-01-01", 3 * 365),
    ],  # fmt: skip
    ids=["2 days", "10 days", "3 weeks of days", "leap February", "new year", "a year", "3 years"],
)
def test_the_timeline_labels_dates_apart_from_each_other_and_the_legend_for_any_span(start, days):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    stamps = pd.date_range(start, periods=days + 1, freq="D")  # a post a day: a chart by day, or by week
    frame = pd.DataFrame({"text": "post", "created_at": stamps.strftime("%Y-%m-%d"), "social_stage": "selection"})
    stages = load_stages(default_stages_path())
    figure = timeline_figure(frame, stage_counts(frame, stages)[0], read_dates(frame))
    assert figure is not None
    figure.canvas.draw()
    renderer, axes = figure.canvas.get_renderer(), figure.axes[0]
    labels = [label for label in axes.get_xticklabels() if label.get_text()]
    assert 2 <= len(labels) <= 13
    assert all(re.fullmatch(r"\d\d|[A-Z][a-z]{2}|\d{4}", label.get_text()) for label in labels)  # day, month, year
    boxes = sorted((label.get_window_extent(renderer) for label in labels), key=lambda box: box.x0)
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:], strict=False))
    offset = axes.xaxis.get_offset_text()  # the month or year the labels share, such as 2026-Oct
    under = boxes + ([offset.get_window_extent(renderer)] if offset.get_text() else [])
    assert not any(box.overlaps(axes.get_legend().get_window_extent(renderer)) for box in under)
    plt.close(figure)


def test_control_characters_in_posts_are_shown_escaped(runner, tmp_path):
    rows = ['"\x1b]0;owned\x07\x1b[2Jmy order broke","\x1b[31mbob",2026-01-01,post_purchase,0.9']
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows))])
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "\\x1b[31mbob: \\x1b]0;owned\\x07\\x1b[2Jmy order broke" in result.stdout


def test_month_first_dates_are_told_apart_from_day_first_by_the_whole_column(runner, tmp_path):
    # The first 200 posts are all on days 1 to 12, which read either way; later ones settle it.
    days = [1 + i * 28 // 2000 for i in range(2000)]
    rows = [f"post,a,01/{day:02d}/2026 13:20,post_purchase,0.9" for day in days]
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows))])
    assert result.exit_code == 0, result.stderr
    weeks = re.findall(r"^  (\d{4}-\d\d-\d\d)/", result.stdout.split("social by week (created_at)\n")[1], re.M)
    assert weeks[0] == "2025-12-29" and weeks[-1] == "2026-01-26" and "Warning" not in result.stderr


def test_dates_that_read_both_ways_or_not_at_all_are_warned_about(runner, tmp_path):
    rows = ["a,x,01/02/2026,post_purchase,0.9", "b,y,03/04/2026,none,0.8", "c,z,N/A,none,0.8"]
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows))])
    assert result.exit_code == 0, result.stderr
    assert "Warning: 1 of 3 values in created_at are not dates the report can read (such as 'N/A')" in result.stderr
    assert "Warning: the dates in created_at read the same day first or month first" in result.stderr


def test_epoch_seconds_with_a_placeholder_still_make_a_timeline(runner, tmp_path):
    rows = ["a,x,1790848800,post_purchase,0.9", "b,y,N/A,none,0.8", "c,z,1790935200,none,0.8"]
    result = runner.invoke(app, ["report", str(classified_file(tmp_path, rows))])
    assert "social by day (created_at)" in result.stdout and "1 of 3 values" in result.stderr

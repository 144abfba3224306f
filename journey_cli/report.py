"""A stage report of classified posts: how many are at each stage, over time, and which to answer first."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import astuple, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pandas as pd
import pyarrow as pa

from .classify import confidence_column, stage_column
from .errors import DataError, JourneyWarning, missing_extra
from .reading import InputOptions, PostTable, find_column
from .stages import NONE, Stages
from .writing import unneutralise

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

BAR_WIDTH = 30
DATE_COLUMNS = (
    "created at", "date", "timestamp", "datetime", "posted at", "published at", "created", "post date", "date gmt",
    "date utc", "sent date", "message date", "published",
)  # fmt: skip
"""Names of the column that says when a post was written, as `reading.folded_name` folds them."""
AUTHOR_COLUMNS = (
    "author", "user", "username", "user name", "screen name", "handle", "from", "sender", "requester", "author name",
    "name",
)  # fmt: skip
"""Names of the column that says who wrote a post (not `Profile` or `Account`: in social suites' exports
that is the brand's own account)."""
ID_COLUMNS = (
    "post id", "tweet id", "message id", "ticket id", "ticket number", "ticket", "case number", "conversation id",
    "id", "guid",
)  # fmt: skip
"""Names of the column that identifies a post in the tool it came from, the names that say what they
identify first (not `Author ID` or `Query ID`, which name no post)."""
LINK_COLUMNS = (
    "permalink", "post link", "post url", "tweet url", "message url", "ticket url", "link to post", "url", "link",
)  # fmt: skip
"""Names of the column that holds the address of a post's page, the names that say so first: a bare
`URL` or `Link` can be a link inside the post."""
ID_WIDTH = 24
"""The characters of an id the text report shows before it cuts the id with `…` (a tweet's id has 19)."""
OTHER = "(other)"
"""Where values that are not stages of the framework are counted (a stage id cannot hold brackets)."""
DATE_FORMATS = (
    "ISO8601",
    "%a %b %d %H:%M:%S %z %Y",  # Twitter's API: Wed Mar 25 19:11:25 +0000 2026
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",  # day first, as most of the world writes it
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d.%m.%Y %H:%M", "%d.%m.%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d",
)  # fmt: skip
"""Date formats tried, in order, on a sample of the column; the one that reads the most of it wins."""
FIRST_DATE, LAST_DATE = pd.Timestamp("1990-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC")
"""Dates outside these are placeholders (0001-01-01) or mistakes, not when a post was written."""


@dataclass(frozen=True)
class PostColumns:
    """The columns that tell a person which post a row is, each None where the table has none."""

    id: str | None
    author: str | None
    date: str | None
    link: str | None


def post_columns(columns: list[str] | pd.Index) -> PostColumns:
    """The id, author, date and link columns of a table, found by name (`reading.find_column`)."""
    names = (ID_COLUMNS, AUTHOR_COLUMNS, DATE_COLUMNS, LINK_COLUMNS)
    return PostColumns(*(find_column(columns, column_names) for column_names in names))


def report_columns(columns: list[str], stages: Stages, text_column: str | Sequence[str]) -> list[str]:
    """The columns of a classified table the report reads (not the rules, which are most of its size)."""
    wanted = {*_texts(text_column), *astuple(post_columns(columns))}
    for framework_id in stages.framework_ids:
        wanted |= {stage_column(framework_id), confidence_column(framework_id)}
    return [column for column in columns if column in wanted]


def open_classified(source: InputOptions, path: str | Path, stages: Stages) -> PostTable:
    """Open a file `journey classify` wrote. Its text column is found by name or, failing that (a
    column classify was told with --text-column), taken as the input column with the longest text."""
    results = tuple(f"{framework_id}_" for framework_id in stages.framework_ids)  # F_stage, F_rule...: not posts
    return replace(source, guess_text_besides=results).read(path)


def read_classified_file(table: PostTable, stages: Stages) -> pd.DataFrame:
    """The columns of a file `journey classify` wrote that the report reads, each cell as classified:
    the quote classify's formula guard added is taken away (`writing.unneutralise`)."""
    frame = table.frame(report_columns(table.columns, stages, table.text_column))
    for column in frame.columns:
        frame[column] = unneutralise(pa.array(frame[column], pa.string())).to_pandas()
    return frame


@dataclass
class StageCounts:
    framework_id: str
    name: str
    counts: pd.Series  # stage id -> posts, in journey order, `none` last

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def journey(self) -> pd.Series:
        """The journey's stages only: not `none`, nor values that are no stage."""
        return self.counts.drop([NONE, OTHER], errors="ignore")


def stage_counts(frame: pd.DataFrame, stages: Stages) -> list[StageCounts]:
    """Posts per stage for each framework of `stages` that the classified table has a column for."""
    found = []
    for framework_id, framework in stages.frameworks.items():
        column = stage_column(framework_id)
        if column not in frame.columns:
            continue
        values = frame[column].astype(str)
        order = [s for s in framework.stage_ids if s != NONE] + [NONE]
        counts = values.value_counts()
        unknown = counts.drop(order, errors="ignore")
        counts = counts.reindex(order, fill_value=0)
        if len(unknown):
            counts[OTHER] = int(unknown.sum())
            examples = ", ".join(repr(value) for value in unknown.index[:3])
            warnings.warn(
                f"{int(unknown.sum()):,} posts have a {column} that is not a {framework_id} stage ({examples}); they "
                f"are counted as {OTHER}. Was the file classified with another stages file (--stages)?",
                JourneyWarning,
                stacklevel=2,
            )
        found.append(StageCounts(framework_id, framework.name, counts))
    if not found:
        wanted = ", ".join(stage_column(f) for f in stages.framework_ids)
        raise DataError(
            f"no stage columns ({wanted}); report reads the output of `journey classify`"
            " (give --stages FILE if it was classified with another stages file)"
        )
    return found


def stage_table(result: StageCounts) -> str:
    """Counts and shares per stage with a bar each."""
    lines = [f"{result.framework_id}: {result.name} ({result.total:,} posts)"]
    biggest = max(int(result.counts.max()), 1)
    for stage_id, count in result.counts.items():
        share = count / result.total if result.total else 0.0
        bar = "█" * round(BAR_WIDTH * count / biggest)
        lines.append(f"  {stage_id:<16}{count:>8,}  {share:6.1%}  {bar}")
    return "\n".join(lines)


def funnel(result: StageCounts) -> str:
    """The journey stages (not `none`) as centred bars, widest first stage to last."""
    journey = result.journey
    biggest = max(int(journey.max()) if len(journey) else 0, 1)
    width = BAR_WIDTH * 2
    lines = [f"{result.framework_id} funnel"]
    for stage_id, count in journey.items():
        bar = "█" * max(round(width * count / biggest), 1 if count else 0)
        lines.append(f"  {stage_id:<16}{bar.center(width)}  {count:,}")
    return "\n".join(lines)


@dataclass
class Dates:
    column: str
    values: pd.Series  # UTC timestamps, NaT where a cell is blank or not a date


def read_dates(frame: pd.DataFrame) -> Dates | None:
    """When each post was written, from the first column with a date-like name; None if there is none.

    The format is chosen once, on a sample, so a million dates are read in a second rather than one
    by one; epoch seconds or milliseconds are understood too. Cells that are no date (`N/A`, a
    placeholder such as 0001-01-01) are left out, with a warning that says how many.
    """
    column = find_column(frame.columns, DATE_COLUMNS)
    if column is None:
        return None
    raw = frame[column].astype(str).str.strip()
    filled = raw[raw != ""]
    if not len(filled):
        return None
    sample = filled.head(1000)
    epoch = sample.str.fullmatch(r"\d{10}(\.\d*)?|\d{13}")
    if epoch.mean() >= 0.5:  # seconds or milliseconds since 1970
        unit: Literal["ms", "s"] = "ms" if len(sample[epoch].iloc[0]) == 13 else "s"
        dates = pd.to_datetime(pd.to_numeric(raw, errors="coerce"), unit=unit, utc=True, errors="coerce")
    else:
        dates = _read_in_best_format(raw, sample, column)
    dates = dates.where((dates >= FIRST_DATE) & (dates < LAST_DATE))
    unread = len(filled) - int(dates.notna().sum())
    if unread:
        example = filled[dates[filled.index].isna()].iloc[0]
        warnings.warn(
            f"{unread:,} of {len(filled):,} values in {column} are not dates the report can read (such as "
            f"{example!r}); those posts are left out of the timeline",
            JourneyWarning,
            stacklevel=2,
        )
    return Dates(column, dates) if dates.notna().any() else None


def _read_in_best_format(raw: pd.Series, sample: pd.Series, column: str) -> pd.Series:
    """The column read in the format that reads most of the sample; formats the sample cannot tell
    apart (01/02/2026: day or month first?) are settled on the whole column."""
    read = {f: pd.to_datetime(sample, format=f, utc=True, errors="coerce").notna().mean() for f in DATE_FORMATS}
    best = max(read.values())
    if best < 0.5:
        return pd.to_datetime(raw, format="mixed", utc=True, errors="coerce")  # each cell on its own: slow
    tied = [f for f in DATE_FORMATS if read[f] == best]
    candidates = [pd.to_datetime(raw, format=f, utc=True, errors="coerce") for f in tied]
    counts = [int(dates.notna().sum()) for dates in candidates]
    if counts.count(max(counts)) > 1 and len(tied) > 1:
        warnings.warn(
            f"the dates in {column} read the same day first or month first (such as {sample.iloc[0]!r}); "
            "they are read day first",
            JourneyWarning,
            stacklevel=3,
        )
    return candidates[counts.index(max(counts))]  # the first of the best: day first, as DATE_FORMATS lists


def stages_by_period(frame: pd.DataFrame, result: StageCounts, dates: Dates | None) -> tuple[pd.DataFrame, str] | None:
    """Posts per stage per day (per week for a span of three weeks or more) and the period's name;
    None without dates."""
    if dates is None:
        return None
    when = dates.values
    period = "D" if when.max() - when.min() < pd.Timedelta(weeks=3) else "W"
    stages = frame[stage_column(result.framework_id)].astype(str)
    stages = stages.where(stages.isin(result.counts.index), OTHER)
    table = pd.crosstab(when.dt.tz_localize(None).dt.to_period(period), stages)
    table = table.reindex(columns=[s for s in result.counts.index if s in table.columns])
    return table, "day" if period == "D" else "week"


def over_time(frame: pd.DataFrame, result: StageCounts, dates: Dates | None) -> str | None:
    """Posts per stage per day or week, as text, if the table has a date column."""
    found = stages_by_period(frame, result, dates)
    if found is None or dates is None:
        return None
    table, period = found
    title = f"{result.framework_id} by {period} ({dates.column})"
    return title + "\n" + "\n".join("  " + line for line in table.to_string().splitlines())


@dataclass
class ReplyFirst:
    posts: pd.DataFrame  # the rows of the classified table to answer first, in order
    urgency: pd.Series  # for each, the highest confidence among the reply-first stages it is at
    stages: list[str]  # the reply-first stages, as "framework stage"
    total: int  # posts at any of them

    def lines(self, text_column: str | Sequence[str], width: int = 80) -> list[str]:
        """Each post as `confidence  id  author: text`, on one line (see `_post_lines`)."""
        shown = _post_lines(self.posts, text_column, width)
        return [f"{sure:.2f}  {line}" for line, sure in zip(shown, self.urgency, strict=True)]


def _post_lines(posts: pd.DataFrame, text_column: str | Sequence[str], width: int = 80) -> list[str]:
    """Each post as `id  author: text`, on one line; the ids, in a column as wide as the widest, and the
    text share `width` characters, so that an id makes no line longer."""
    columns = post_columns(posts.columns)
    ids = [_cut(_one_line(value), ID_WIDTH) for value in posts[columns.id]] if columns.id else [""] * len(posts)
    id_width = max(map(len, ids), default=0)
    lines = []
    for post_id, (_, row) in zip(ids, posts.iterrows(), strict=True):
        shown_id = f"{post_id:<{id_width}}  " if id_width else ""
        name = _one_line(row[columns.author]) if columns.author else ""
        who = f"{name}: " if name else ""
        lines.append(f"{shown_id}{who}{_cut(_post_text(row, text_column), width - len(shown_id))}")
    return lines


def _one_line(value: object) -> str:
    """A cell on one line, its runs of white space (line breaks too) as one space."""
    return " ".join(str(value).split())


def _texts(text_column: str | Sequence[str]) -> list[str]:
    return [text_column] if isinstance(text_column, str) else list(text_column)


def _post_text(post: pd.Series, text_column: str | Sequence[str]) -> str:
    """A post's text on one line; several text columns (a subject, a body) one after the other."""
    return _one_line(" ".join(str(post[column]) for column in _texts(text_column)))


def _cut(text: str, width: int) -> str:
    return text[:width] + ("…" if len(text) > width else "")


def web_address(value: str) -> str | None:
    """`value` if it is an http or https address, else None: a `javascript:` or `data:` link is never
    followed, nor one with spaces or control characters, which a browser may read as another address.

    >>> web_address(" https://social.example/p/1 "), web_address("javascript:alert(1)")
    ('https://social.example/p/1', None)
    """
    address = value.strip()
    return address if re.fullmatch(r"https?://\S+", address, re.IGNORECASE) and address.isprintable() else None


def unread(frame: pd.DataFrame, stages: Stages) -> pd.DataFrame:
    """The posts the model could not read (not in English): `none` at confidence 0 in every framework."""
    found = pd.Series(True, index=frame.index)
    for framework_id in stages.framework_ids:
        confidence = confidence_column(framework_id)
        if confidence not in frame.columns:
            return frame.iloc[:0]
        found &= pd.to_numeric(frame[confidence], errors="coerce").eq(0.0)
    return frame[found]


def _unread_heading(posts: pd.DataFrame) -> str:
    return f"{len(posts):,} posts not in English, which the model does not read"


def reply_first(frame: pd.DataFrame, stages: Stages, top: int = 10) -> ReplyFirst:
    """The posts that most need a fast reply: those at a stage marked `reply_first` in stages.yaml (in the
    bundled file, social `post_purchase`: a problem with something already bought), the surest first."""
    flagged_confidence = []
    names = []
    for framework_id, framework in stages.frameworks.items():
        urgent = [stage.id for stage in framework.stages if stage.reply_first]
        column = stage_column(framework_id)
        if not urgent or column not in frame.columns:
            continue
        names += [f"{framework_id} {stage_id}" for stage_id in urgent]
        hit = frame[column].astype(str).isin(urgent)
        confidence = confidence_column(framework_id)
        sure = pd.to_numeric(frame[confidence], errors="coerce") if confidence in frame.columns else None
        sure = (sure if sure is not None else pd.Series(0.0, index=frame.index)).fillna(0.0)
        flagged_confidence.append(sure.where(hit))
    if not flagged_confidence:
        return ReplyFirst(frame.iloc[:0], pd.Series(dtype=float), names, 0)
    urgency = pd.concat(flagged_confidence, axis=1).max(axis=1).dropna()
    order = urgency.sort_values(ascending=False, kind="stable").head(top)
    return ReplyFirst(frame.loc[order.index], order, names, len(urgency))


def _reply_first_heading(first: ReplyFirst) -> str:
    if not first.stages:
        return "no stage of these frameworks is marked reply_first in the stages file"
    return f"the {len(first.posts):,} surest of {first.total:,} posts at {' or '.join(first.stages)}"


def text_report(frame: pd.DataFrame, stages: Stages, text_column: str | Sequence[str], top: int = 10) -> str:
    """The whole report as plain text for a terminal."""
    results = stage_counts(frame, stages)
    dates = read_dates(frame)
    blocks = [stage_table(result) for result in results]
    blocks += [funnel(result) for result in results]
    blocks += [block for result in results if (block := over_time(frame, result, dates)) is not None]
    first = reply_first(frame, stages, top)
    blocks.append("\n  ".join([f"reply first: {_reply_first_heading(first)}", *first.lines(text_column)]))
    foreign = unread(frame, stages)
    if len(foreign):
        heading = f"for a person to read: {_unread_heading(foreign)}"
        blocks.append("\n  ".join([heading, *_post_lines(foreign.head(top), text_column)]))
    return "\n\n".join(blocks)


def html_report(
    frame: pd.DataFrame, stages: Stages, text_column: str | Sequence[str], source: str, top: int = 10
) -> str:
    """One self-contained HTML page: charts as inlined PNGs, no script and nothing fetched from the network."""
    from html import escape

    def image(alt: str, png: str) -> str:
        return f'<img alt="{escape(alt)}" src="data:image/png;base64,{png}">'

    def table(header: list[str], rows: list[list[str]], kinds: dict[int, str], links: Sequence[str | None] = ()) -> str:
        """kinds: n number, d date; links: for each row, the address its last cell (the post) links to, or None."""
        head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
        body = ""
        for row, link in zip(rows, links or [None] * len(rows), strict=True):
            cells = [escape(cell) for cell in row]
            if link:
                cells[-1] = f'<a href="{escape(link)}" rel="noopener noreferrer" target="_blank">{cells[-1]}</a>'
            body += "<tr>" + "".join(f"<td class={kinds.get(i, 't')}>{c}</td>" for i, c in enumerate(cells)) + "</tr>"
        return f"<table><tr>{head}</tr>{body}</table>"

    def posts_table(posts: pd.DataFrame, urgency: pd.Series | None = None) -> str:
        """The posts with their confidence (if given), id, author and date; each linked to its page if the
        table has an http(s) address for it."""
        shown = [c for c in (columns.id, columns.author, columns.date) if c]
        header = (["confidence"] if urgency is not None else []) + shown + ["post"]
        rows = [[str(post[c]) for c in shown] + [_post_text(post, text_column)] for _, post in posts.iterrows()]
        if urgency is not None:
            rows = [[f"{sure:.2f}", *row] for row, sure in zip(rows, urgency, strict=True)]
        kinds = ({0: "n"} if urgency is not None else {}) | ({header.index(columns.date): "d"} if columns.date else {})
        links = [web_address(str(address)) for address in posts[columns.link]] if columns.link else []
        return table(header, rows, kinds, links)

    sections = []
    dates, columns = read_dates(frame), post_columns(frame.columns)
    for result in stage_counts(frame, stages):
        framework = stages.frameworks[result.framework_id]
        rows = []
        for stage_id, count in result.counts.items():
            stage = framework.stage(stage_id) if stage_id in framework.stage_ids else None  # else: not in the file
            share = f"{count / result.total if result.total else 0:.1%}"
            rows.append([str(stage_id), stage.name if stage else "", f"{count:,}", share, stage.rule if stage else ""])
        chart = _funnel_chart(result)
        sections.append(
            f"<section><h2>{escape(result.name)}</h2>"
            + (image(f"{result.name}: posts per journey stage, as a funnel", chart) if chart else "")
            + table(["stage", "name", "posts", "share", "what to do"], rows, {2: "n", 3: "n"})
            + "</section>"
        )
        timeline = _timeline_chart(frame, result, dates)
        if timeline:
            sections.append(
                f"<section><h2>{escape(result.name)} over time</h2>"
                f"{image(f'{result.name}: posts per stage over time', timeline)}</section>"
            )
    first = reply_first(frame, stages, top)
    sections.append(
        f"<section><h2>Reply first</h2><p>{escape(_reply_first_heading(first).capitalize())}: speed of response is "
        "what the social customer wants most.</p>"
        + (posts_table(first.posts, first.urgency) if len(first.posts) else "")
        + "</section>"
    )
    foreign = unread(frame, stages)
    if len(foreign):
        sections.append(
            f"<section><h2>For a person to read</h2><p>{escape(_unread_heading(foreign).capitalize())}."
            f"</p>{posts_table(foreign.head(top))}</section>"
        )
    title = f"journey report: {escape(source)}"
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
        "img{max-width:100%}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}"
        ".n{text-align:right;white-space:nowrap}.d{white-space:nowrap}section{margin-bottom:2.5em}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{style}</style></head>'
        f"<body><h1>{title}</h1><p>{len(frame):,} posts.</p>{''.join(sections)}</body></html>\n"
    )


def _png(figure) -> str:  # type: ignore[no-untyped-def]
    import base64
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def pyplot(feature: str = "--html"):  # type: ignore[no-untyped-def]
    """matplotlib's pyplot, drawing to files only; a DataError naming `feature` if it is not installed."""
    try:
        import matplotlib
    except ImportError:
        raise missing_extra(feature, "plot") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _funnel_chart(result: StageCounts) -> str | None:
    """The journey stages (not `none`) as centred bars, first stage on top; None if no post is on a journey."""
    journey = result.journey
    if not len(journey) or not journey.sum():
        return None
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(8, 0.5 * len(journey) + 0.4))
    counts = journey.to_numpy()
    widest = counts.max()
    rows = list(range(len(journey)))[::-1]
    axes.barh(rows, counts, left=(widest - counts) / 2, height=0.85, color="#3b7dd8")
    axes.set_yticks(rows, [str(stage_id) for stage_id in journey.index])
    for row, count in zip(rows, counts, strict=True):
        inside = count > 0.2 * widest
        axes.text(widest / 2, row, f"{count:,}", ha="center", va="center", color="white" if inside else "#222")
    axes.set_xticks([])
    axes.spines[["top", "right", "bottom", "left"]].set_visible(False)
    axes.set_title(f"{int(result.counts.get(NONE, 0)):,} more posts are not on a journey (none)", fontsize="small")
    return _png(figure)


def timeline_figure(frame: pd.DataFrame, result: StageCounts, dates: Dates | None) -> Figure | None:
    """Posts per stage per day or week as stacked areas; None with fewer than two days or weeks."""
    found = stages_by_period(frame, result, dates)
    if found is None or len(found[0]) < 2:
        return None
    table, period = found
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(9, 3.5))
    axes.stackplot(pd.PeriodIndex(table.index).to_timestamp(), table.to_numpy().T, labels=list(table.columns))
    _label_dates(axes.xaxis, by_day=period == "day" and len(table) <= 10)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize="small", ncols=7, frameon=False)
    axes.set_ylabel(f"posts per {period}")
    axes.spines[["top", "right"]].set_visible(False)
    return figure


def _label_dates(axis: Axis, by_day: bool) -> None:
    """Short date labels on `axis` (day, month name, year; the month or year they share said once, at the
    right), spaced for the span so that they never overlap; with `by_day`, one a day, for a few days, where
    the automatic spacing would tick hours."""
    import matplotlib.dates as mdates  # untyped, hence the ignores below

    spaced = mdates.AutoDateLocator(minticks=3, maxticks={mdates.DAILY: 13})  # type: ignore[no-untyped-call]
    # Its steps of days restart each month: 4 puts the 29th and the 1st a day apart, 2 the 31st and the 1st,
    # which fit only on its shortest spans (to 24 days); 7 (1, 8, 15, 22) and 14 (1, 15) never do.
    spaced.intervald[mdates.DAILY] = [1, 2, 7, 14]
    locator = mdates.DayLocator() if by_day else spaced  # type: ignore[no-untyped-call]
    axis.set_major_locator(locator)
    axis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _timeline_chart(frame: pd.DataFrame, result: StageCounts, dates: Dates | None) -> str | None:
    figure = timeline_figure(frame, result, dates)
    return _png(figure) if figure is not None else None

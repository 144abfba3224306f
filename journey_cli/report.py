"""A stage report of classified posts: how many are at each stage, over time, and which to answer first."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .errors import DataError, missing_extra
from .stages import NONE, Stages

BAR_WIDTH = 30
DATE_COLUMNS = ("created_at", "date", "timestamp", "time", "posted_at", "published_at", "created")
URGENT = (("lifecycle", "service"), ("social", "post_purchase"))
"""Where the posts that most need a fast reply are: a problem with something already bought.
The first framework the table has is used (praise is post-purchase too, but not service)."""


@dataclass
class StageCounts:
    framework_id: str
    name: str
    counts: pd.Series  # stage id -> posts, in journey order, `none` last

    @property
    def total(self) -> int:
        return int(self.counts.sum())


def read_classified(frame: pd.DataFrame, stages: Stages) -> list[StageCounts]:
    """Posts per stage for each framework of `stages` that the classified table has a column for."""
    found = []
    for framework_id, framework in stages.frameworks.items():
        column = f"{framework_id}_stage"
        if column not in frame.columns:
            continue
        values = frame[column].astype(str).str.lstrip("'")
        order = [s for s in framework.stage_ids if s != NONE] + [NONE]
        counts = values.value_counts().reindex(order + sorted(set(values) - set(order)), fill_value=0)
        found.append(StageCounts(framework_id, framework.name, counts))
    if not found:
        wanted = ", ".join(f"{f}_stage" for f in stages.framework_ids)
        raise DataError(f"no stage columns ({wanted}); report reads the output of `journey classify`")
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
    journey = result.counts.drop(NONE, errors="ignore")
    biggest = max(int(journey.max()) if len(journey) else 0, 1)
    width = BAR_WIDTH * 2
    lines = [f"{result.framework_id} funnel"]
    for stage_id, count in journey.items():
        bar = "█" * max(round(width * count / biggest), 1 if count else 0)
        lines.append(f"  {stage_id:<16}{bar.center(width)}  {count:,}")
    return "\n".join(lines)


def stages_by_period(frame: pd.DataFrame, result: StageCounts) -> tuple[pd.DataFrame, str, str] | None:
    """Posts per stage per day (per week for a span of three weeks or more), the period's name and the
    date column used; None if the table has no column of dates."""
    column = next((c for c in frame.columns if c.strip().lower() in DATE_COLUMNS), None)
    if column is None:
        return None
    dates = pd.to_datetime(frame[column].astype(str).str.lstrip("'"), errors="coerce", utc=True, format="mixed")
    if dates.notna().sum() == 0:
        return None
    period = "D" if dates.max() - dates.min() < pd.Timedelta(weeks=3) else "W"
    stages = frame[f"{result.framework_id}_stage"].astype(str).str.lstrip("'")
    table = pd.crosstab(dates.dt.tz_localize(None).dt.to_period(period), stages)
    table = table.reindex(columns=[s for s in result.counts.index if s in table.columns])
    return table, "day" if period == "D" else "week", column


def over_time(frame: pd.DataFrame, result: StageCounts) -> str | None:
    """Posts per stage per day or week, as text, if the table has a date column."""
    found = stages_by_period(frame, result)
    if found is None:
        return None
    table, period, column = found
    title = f"{result.framework_id} by {period} ({column})"
    return title + "\n" + "\n".join("  " + line for line in table.to_string().splitlines())


def reply_first(frame: pd.DataFrame, text_column: str, top: int = 10) -> pd.DataFrame:
    """The posts that most need a fast reply: service posts (else post-purchase ones), the surest first."""
    for framework_id, stage_id in URGENT:
        stage, confidence = f"{framework_id}_stage", f"{framework_id}_confidence"
        if stage in frame.columns and confidence in frame.columns:
            hit = frame[frame[stage].astype(str).str.lstrip("'") == stage_id]
            sure = pd.to_numeric(hit[confidence], errors="coerce")
            return hit.iloc[sure.argsort(kind="stable")[::-1]].head(top)
    return frame.iloc[:0]


def text_report(frame: pd.DataFrame, stages: Stages, text_column: str, top: int = 10) -> str:
    """The whole report as plain text for a terminal."""
    results = read_classified(frame, stages)
    blocks = [stage_table(result) for result in results]
    blocks += [funnel(result) for result in results]
    blocks += [block for result in results if (block := over_time(frame, result)) is not None]
    first = reply_first(frame, text_column, top)
    lines = [f"reply first: the {len(first)} surest posts about a problem with something already bought"]
    for _, row in first.iterrows():
        text = " ".join(str(row[text_column]).lstrip("'").split())
        lines.append(f"  {text[:100] + ('…' if len(text) > 100 else '')}")
    blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def html_report(frame: pd.DataFrame, stages: Stages, text_column: str, source: str, top: int = 10) -> str:
    """One self-contained HTML page: charts as inlined PNGs, no script and nothing fetched from the network."""
    import html

    results = read_classified(frame, stages)
    sections = []
    for result in results:
        rows = "".join(
            f"<tr><td>{html.escape(str(stage))}</td><td>{count:,}</td>"
            f"<td>{(count / result.total if result.total else 0):.1%}</td></tr>"
            for stage, count in result.counts.items()
        )
        sections.append(
            f"<section><h2>{html.escape(result.name)}</h2>"
            f'<img alt="posts per stage" src="data:image/png;base64,{_stage_chart(result)}">'
            f"<table><tr><th>stage</th><th>posts</th><th>share</th></tr>{rows}</table></section>"
        )
        timeline = _timeline_chart(frame, result)
        if timeline:
            sections.append(
                f"<section><h2>{html.escape(result.name)} over time</h2>"
                f'<img alt="posts per stage over time" src="data:image/png;base64,{timeline}"></section>'
            )
    first = reply_first(frame, text_column, top)
    items = "".join(f"<li>{html.escape(' '.join(str(t).lstrip(chr(39)).split()))}</li>" for t in first[text_column])
    sections.append(
        "<section><h2>Reply first</h2><p>Posts about a problem with something already bought, the surest "
        f"first: speed of response is what the social customer wants most.</p><ol>{items}</ol></section>"
    )
    title = f"journey report: {html.escape(source)}"
    style = (
        "body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}"
        "img{max-width:100%}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border-bottom:1px solid #ddd;padding:4px 12px;text-align:left}li{margin:.4em 0}"
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


def _pyplot():  # type: ignore[no-untyped-def]
    try:
        import matplotlib
    except ImportError:
        raise missing_extra("--html", "plot") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _stage_chart(result: StageCounts) -> str:
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(result.counts) + 0.8))
    counts = result.counts[::-1]
    axes.barh([str(s) for s in counts.index], counts.to_numpy(), color="#3b7dd8")
    axes.set_xlabel("posts")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def _timeline_chart(frame: pd.DataFrame, result: StageCounts) -> str | None:
    found = stages_by_period(frame, result)
    if found is None or len(found[0]) < 2:
        return None
    table, period, _ = found
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(9, 3.5))
    axes.stackplot(table.index.to_timestamp(), table.to_numpy().T, labels=list(table.columns))
    axes.legend(loc="upper left", fontsize="small", ncols=4)
    axes.set_ylabel(f"posts per {period}")
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)

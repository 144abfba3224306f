"""A stage report of classified posts: how many are at each stage, over time, and which to answer first."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .errors import DataError
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


def over_time(frame: pd.DataFrame, result: StageCounts) -> str | None:
    """Posts per stage per week (per day for a span under three weeks), if the table has a date column."""
    column = next((c for c in frame.columns if c.strip().lower() in DATE_COLUMNS), None)
    if column is None:
        return None
    dates = pd.to_datetime(frame[column].astype(str).str.lstrip("'"), errors="coerce", utc=True, format="mixed")
    if dates.notna().sum() == 0:
        return None
    span = dates.max() - dates.min()
    period = "D" if span < pd.Timedelta(weeks=3) else "W"
    stages = frame[f"{result.framework_id}_stage"].astype(str).str.lstrip("'")
    table = pd.crosstab(dates.dt.tz_localize(None).dt.to_period(period), stages)
    table = table.reindex(columns=[s for s in result.counts.index if s in table.columns])
    title = f"{result.framework_id} by {'day' if period == 'D' else 'week'} ({column})"
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

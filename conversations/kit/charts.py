"""The /report chart: what it shows, assembled from the program figures (storage.metrics),
and how it is drawn.

`report_data` gathers one `ChartWeek` per ISO week, so every figure can be checked without
looking at pixels; `render_report` draws three panels stacked for a phone screen and
returns a PNG. Drawing uses matplotlib's object-oriented API on its own `Figure` with the
Agg canvas — never pyplot, whose global figure registry is not thread-safe — so it can run
in a worker thread (`asyncio.to_thread`) while the bot keeps answering.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from io import BytesIO

import sqlalchemy as sa
from babel.dates import format_skeleton
from babel.numbers import format_decimal, format_percent
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.ticker import FixedLocator, FuncFormatter, MultipleLocator
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from locales.translator import N_, Translator
from storage.flags import period_monday
from storage.metrics import (
    Rate,
    expected_minutes_per_week,
    recent_periods,
    weekly_contact_minutes,
    weekly_rates,
    weekly_ratings,
)
from storage.models import Match, Program
from storage.programs import zone_or_none

SIZE_INCHES = (5.6, 8.4)  # portrait 2:3, for a phone screen
DPI = 150  # 840 x 1260 pixels: Telegram shows photos up to 1280 pixels without scaling
MAX_WEEK_LABELS = 7  # beyond this, label every second (fourth…) week
VALUE_LABELS_UP_TO = 12  # weeks: print each bar's percentage above it
TITLE_WIDTH = 42  # characters per line of the program name in the title
TITLE_LINE = 0.03  # of the figure's height, per line of the title
# Okabe–Ito colours, told apart with colour-blindness too; lines also differ by marker.
RATE_COLOUR = "#009E73"
MENTEE_COLOUR = "#E69F00"
MENTOR_COLOUR = "#0072B2"
CONTACT_COLOUR = "#56B4E9"
EXPECTED_COLOUR = "#D55E00"
GRID_COLOUR = "#DDDDDD"
AXIS_HOURS = "#,##0.###"  # the contact axis: as many decimals as its step needs

RATE_TITLE = N_("Check-ins answered")
RATE_AXIS = N_("Answered")
RATINGS_TITLE = N_("Average ratings, 1 to 5")
RATINGS_AXIS = N_("Rating")
MENTEE_LEGEND = N_("Mentees: how helpful")
MENTOR_LEGEND = N_("Mentors: how it's going")
CONTACT_TITLE = N_("Contact hours, all matches")
CONTACT_AXIS = N_("Hours")
CONTACT_LEGEND = N_("Logged or estimated")
EXPECTED_LEGEND = N_("Expected")
WEEKS_AXIS = N_("Week of (the last one, paler, is still under way)")
NO_DATA = N_("Nothing in these weeks")


@dataclass(frozen=True)
class ChartWeek:
    """One ISO week of a program, as the chart shows it."""

    period: str
    monday: date
    rate: Rate  # weekly check-ins answered out of those that reached people
    mentee_rating: float | None  # mentees' average "How helpful"; None: nobody rated
    mentor_rating: float | None  # mentors' average "How it's going"
    contact_minutes: int  # across the program's matches
    active_matches: int  # matches running at some point of the week
    expected_minutes: float  # the program's expectation for those matches


@dataclass(frozen=True)
class ReportData:
    weeks: tuple[ChartWeek, ...]

    @property
    def response(self) -> Rate:
        return sum((week.rate for week in self.weeks), Rate())

    @property
    def mentee_average(self) -> float | None:
        """The average of the weekly averages (each week with ratings weighs the same)."""
        return _mean([week.mentee_rating for week in self.weeks])

    @property
    def mentor_average(self) -> float | None:
        return _mean([week.mentor_rating for week in self.weeks])

    @property
    def contact_minutes(self) -> int:
        return sum(week.contact_minutes for week in self.weeks)

    @property
    def expected_minutes(self) -> float:
        return sum(week.expected_minutes for week in self.weeks)

    @property
    def empty(self) -> bool:
        """Nothing measured: no check-in reached anyone, nobody rated, no contact."""
        return (
            self.response.reached == 0
            and self.contact_minutes == 0
            and self.mentee_average is None
            and self.mentor_average is None
        )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


# --- the figures --------------------------------------------------------------------------


async def active_matches(
    session: AsyncSession, program_id: int, mondays: Sequence[date], zone: tzinfo
) -> list[int]:
    """How many of the program's matches ran during each week (Monday to Sunday in the
    program's time zone): from the day they started until the day they closed, both
    included. Counted by the database, one sum per week."""
    if not mondays:
        return []
    counts = []
    for monday in mondays:
        start = datetime.combine(monday, time.min, zone)  # a local day begins at its midnight
        end = datetime.combine(monday + timedelta(days=7), time.min, zone)
        ran = (col(Match.started_at) < end) & (
            col(Match.closed_at).is_(None) | (col(Match.closed_at) >= start)
        )
        counts.append(sa.func.sum(sa.case((ran, 1), else_=0)))
    row = (await session.exec(select(*counts).where(Match.program_id == program_id))).one()
    return [int(count or 0) for count in row]


async def report_data(
    session: AsyncSession, program: Program, today: date, weeks: int
) -> ReportData:
    """The program's last `weeks` ISO weeks, ending with today's (still under way)."""
    assert program.id is not None
    zone = zone_or_none(program.timezone) or UTC
    periods = recent_periods(today, weeks)
    mondays = [period_monday(period) or today for period in periods]
    rates = await weekly_rates(session, program.id, periods)
    ratings = await weekly_ratings(session, program.id, periods)
    minutes = await weekly_contact_minutes(session, program.id, periods)
    active = await active_matches(session, program.id, mondays, zone)
    per_match = expected_minutes_per_week(program.settings)
    return ReportData(
        tuple(
            ChartWeek(
                period=period,
                monday=monday,
                rate=rates.get(period, Rate()),
                mentee_rating=ratings.get(period, {}).get("mentee"),
                mentor_rating=ratings.get(period, {}).get("mentor"),
                contact_minutes=minutes[period],
                active_matches=count,
                expected_minutes=per_match * count,
            )
            for period, monday, count in zip(periods, mondays, active, strict=True)
        )
    )


# --- the drawing --------------------------------------------------------------------------


def week_label(tr: Translator, monday: date) -> str:
    """'Nov 16' / '16 nov.': the Monday that starts the week."""
    return format_skeleton("MMMd", monday, locale=tr.locale)


def percent(tr: Translator, value: float) -> str:
    """0.78 -> '78%' / '78 %'."""
    return format_percent(value, locale=tr.locale)


def decimal(tr: Translator, value: float, pattern: str = "#,##0.#") -> str:
    return format_decimal(value, format=pattern, locale=tr.locale)


@cache
def _drawable_characters() -> frozenset[int]:
    """The characters the default font (DejaVu Sans, shipped with matplotlib) can draw."""
    return frozenset(FT2Font(findfont(FontProperties())).get_charmap())


def drawable(text: str) -> str:
    """The text without the characters the font lacks (an emoji in a program's name), which
    would otherwise be drawn as empty boxes, each with a warning."""
    known = _drawable_characters()
    return " ".join("".join(char for char in text if ord(char) in known or char.isspace()).split())


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _style(axes: Axes, tr: Translator, title: str, label: str) -> None:
    axes.set_title(tr.gettext(title), loc="left", fontsize=13, fontweight="bold")
    axes.set_ylabel(tr.gettext(label), fontsize=11)
    axes.tick_params(labelsize=10)
    axes.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _no_data(axes: Axes, tr: Translator) -> None:
    axes.text(
        0.5, 0.5, tr.gettext(NO_DATA), transform=axes.transAxes, ha="center", va="center",
        fontsize=11, color="#666666",
    )  # fmt: skip


def _under_way(bars: BarContainer, xs: Sequence[int], weeks: int) -> None:
    """The current week is not over: its bar is paler."""
    if xs and xs[-1] == weeks - 1:
        bars.patches[-1].set_alpha(0.45)


def _rates(axes: Axes, tr: Translator, data: ReportData) -> None:
    _style(axes, tr, RATE_TITLE, RATE_AXIS)
    shown = [(x, week.rate.value) for x, week in enumerate(data.weeks)]
    shown = [(x, value * 100) for x, value in shown if value is not None]
    axes.set_ylim(0, 112)  # room for the labels above full bars
    axes.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: percent(tr, value / 100)))
    if not shown:
        _no_data(axes, tr)
        return
    xs, values = zip(*shown, strict=True)
    bars = axes.bar(xs, values, width=0.7, color=RATE_COLOUR)
    _under_way(bars, xs, len(data.weeks))
    if len(data.weeks) <= VALUE_LABELS_UP_TO:
        axes.bar_label(
            bars, labels=[percent(tr, value / 100) for value in values], padding=2, fontsize=9
        )


def _ratings(axes: Axes, tr: Translator, data: ReportData) -> None:
    _style(axes, tr, RATINGS_TITLE, RATINGS_AXIS)
    axes.set_ylim(0.6, 6.2)  # the legend sits above 5
    axes.yaxis.set_major_locator(FixedLocator([1, 2, 3, 4, 5]))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: decimal(tr, value)))
    xs = range(len(data.weeks))
    lines = (
        ([week.mentee_rating for week in data.weeks], MENTEE_LEGEND, MENTEE_COLOUR, "o", "-"),
        ([week.mentor_rating for week in data.weeks], MENTOR_LEGEND, MENTOR_COLOUR, "s", "--"),
    )
    if all(value is None for values, *_ in lines for value in values):
        _no_data(axes, tr)
        return
    for values, legend, colour, marker, dashes in lines:
        # A week without ratings is NaN: the line breaks there instead of inventing a value.
        axes.plot(
            xs, [_nan(value) for value in values], label=tr.gettext(legend), color=colour,
            marker=marker, linestyle=dashes, linewidth=2, markersize=6,
        )  # fmt: skip
    axes.legend(loc="upper left", fontsize=9, frameon=False, ncols=2)


def draw_contact(axes: Axes, tr: Translator, data: ReportData) -> None:
    _style(axes, tr, CONTACT_TITLE, CONTACT_AXIS)
    xs = list(range(len(data.weeks)))
    hours = [week.contact_minutes / 60 for week in data.weeks]
    expected = [week.expected_minutes / 60 for week in data.weeks]
    # Steps of 0.25 or 0.025 h are common with few matches: one decimal would label the
    # line at 0.25 h "0.2" (half-even) and the one at 0.75 h "0.8".
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: decimal(tr, value, AXIS_HOURS)))
    if not any(hours) and not any(expected):
        axes.set_ylim(0, 1)
        _no_data(axes, tr)
        return
    bars = axes.bar(xs, hours, width=0.7, color=CONTACT_COLOUR, label=tr.gettext(CONTACT_LEGEND))
    _under_way(bars, xs, len(data.weeks))
    # The expectation changes with the number of active matches: a mark over each bar.
    marks = axes.hlines(
        expected, [x - 0.42 for x in xs], [x + 0.42 for x in xs], colors=EXPECTED_COLOUR,
        linewidth=2.5, label=tr.gettext(EXPECTED_LEGEND),
    )  # fmt: skip
    axes.set_ylim(0, max([*hours, *expected]) * 1.25)  # room for the legend
    axes.legend(handles=[bars, marks], loc="upper left", fontsize=9, frameon=False, ncols=2)


def render_report(data: ReportData, tr: Translator, program_name: str) -> bytes:
    """The chart as a PNG: response rate, ratings and contact hours, one panel each."""
    # Fixed margins rather than the constrained layout engine, which costs a second
    # drawing pass (0.55 s instead of 0.35 s for 26 weeks).
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)
    rates, ratings, contact = figure.subplots(3, 1, sharex=True)
    _rates(rates, tr, data)
    _ratings(ratings, tr, data)
    draw_contact(contact, tr, data)
    count = len(data.weeks)
    step = math.ceil(count / MAX_WEEK_LABELS) if count else 1
    contact.xaxis.set_major_locator(MultipleLocator(step))
    contact.xaxis.set_major_formatter(
        FuncFormatter(
            lambda x, _: (
                week_label(tr, data.weeks[int(x)].monday)
                if float(x).is_integer() and 0 <= x < count
                else ""
            )
        )
    )
    contact.set_xlim(-0.6, count - 0.4)
    contact.set_xlabel(tr.gettext(WEEKS_AXIS), fontsize=11)
    lines = [
        *textwrap.wrap(drawable(program_name), TITLE_WIDTH, max_lines=2, placeholder=" …"),
        tr.ngettext("Last {n} week", "Last {n} weeks", count),
    ]
    figure.suptitle(
        "\n".join(lines), y=0.99, va="top", fontsize=14, fontweight="bold",
        parse_math=False,  # a "$" in a program's name is text, not a formula
    )  # fmt: skip
    figure.subplots_adjust(
        left=0.15, right=0.97, bottom=0.08, top=0.955 - TITLE_LINE * len(lines), hspace=0.3
    )
    figure.align_ylabels()
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()

"""How the /report chart is drawn: three panels stacked for a phone screen, as a PNG.

The figure is small in inches and dense in pixels (4.2 × 6.3 in at 200 dpi, 840 × 1260
pixels), so that its type stays readable once Telegram shrinks it to a phone's width:
11-point labels come out about 14 CSS pixels tall on a 390-pixel screen. Its layout is
computed here, in points, from the measured size of its titles, legends and labels,
rather than by the constrained layout engine, which costs a second drawing pass. Labels
that would touch at a range are thinned out by measuring them, never by guessing widths:
see `_spaced`.

Drawing uses matplotlib's object-oriented API on its own `Figure` with the Agg canvas —
never pyplot, whose global figure registry is not thread-safe — so it can run in a worker
thread (`asyncio.to_thread`) while the bot keeps answering.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Sequence
from functools import cache
from io import BytesIO
from itertools import pairwise

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.ft2font import FT2Font
from matplotlib.legend import Legend
from matplotlib.patheffects import withStroke
from matplotlib.text import Text
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    MultipleLocator,
    NullFormatter,
    NullLocator,
)

from conversations.kit.charts import ReportData, decimal, percent, week_label
from locales.translator import N_, Translator

SIZE_INCHES = (4.2, 6.3)  # portrait 2:3, for a phone screen
DPI = 200  # 840 x 1260 pixels: Telegram shows photos up to 1280 pixels without scaling
POINT = DPI / 72  # pixels per point
# Type sizes in points, at the figure's size.
FIGURE_TITLE = 13
PANEL_TITLE = 12
TEXT = 11  # legends, tick labels, the axis title, dates
VALUE_SIZES = (10, 9, 8.5)  # a bar's value above it: the largest that leaves the labels apart
GAP = 3.0  # points between two labels, at least
TICK = 3.0  # points: the length of a tick, and from it to its label
MARGIN = 6.0  # points around the figure
# Okabe–Ito colours, told apart with colour-blindness too; lines also differ by marker.
RATE_COLOUR = "#009E73"
MENTEE_COLOUR = "#E69F00"
MENTOR_COLOUR = "#0072B2"
CONTACT_COLOUR = "#56B4E9"
EXPECTED_COLOUR = "#D55E00"
NOT_SENT_COLOUR = "#999999"
GRID_COLOUR = "#DDDDDD"
MUTED = "#555555"
AXIS_HOURS = "#,##0.###"  # the contact axis: as many decimals as its step needs

RATE_TITLE = N_("Check-ins answered")
NOT_SENT_LEGEND = N_("No check-in reached anyone")
RATINGS_TITLE = N_("Average ratings, 1 to 5")
MENTEE_LEGEND = N_("Mentees: how helpful")
MENTOR_LEGEND = N_("Mentors: how it's going")
CONTACT_TITLE = N_("Contact hours, all matches")
CONTACT_LEGEND = N_("Logged or estimated")
EXPECTED_LEGEND = N_("Expected")
WEEKS_AXIS = N_("Week (the last, paler, is still in progress)")
NO_DATA = N_("Nothing in these weeks")


@cache
def _drawable_characters() -> frozenset[int]:
    """The characters the default font (DejaVu Sans, shipped with matplotlib) can draw."""
    return frozenset(FT2Font(findfont(FontProperties())).get_charmap())


def drawable(text: str) -> str:
    """The text without the characters the font lacks (an emoji in a program's name), which
    would otherwise be drawn as empty boxes, each with a warning."""
    known = _drawable_characters()
    return " ".join("".join(char for char in text if ord(char) in known or char.isspace()).split())


# --- keeping labels apart -----------------------------------------------------------------


Span = tuple[float, float]  # a label's left and right, in pixels, with half the gap each side


def _span(text: Text, renderer: RendererBase) -> Span:
    extent = text.get_window_extent(renderer)
    return extent.x0 - GAP * POINT / 2, extent.x1 + GAP * POINT / 2


def _row(
    axes: Axes, words: Sequence[str], xs: Sequence[float], size: float, renderer: RendererBase
) -> list[Span]:
    """Where one-line labels centred on `xs` (data) would reach: measured as matplotlib
    measures them to draw them, without making Text artists (which costs ten times more)."""
    font = FontProperties(size=size)
    halves = {
        word: renderer.get_text_width_height_descent(word, font, ismath=False)[0] / 2
        for word in set(words)  # "100" comes back often
    }
    centres = axes.transData.transform([(x, 0) for x in xs])[:, 0] if len(xs) else []
    return [
        (centre - halves[word] - GAP * POINT / 2, centre + halves[word] + GAP * POINT / 2)
        for word, centre in zip(words, centres, strict=True)
    ]


def _apart(spans: Sequence[Span]) -> bool:
    """Whether labels laid out left to right leave each other alone."""
    return all(left[1] <= right[0] for left, right in pairwise(spans))


def _spaced(spans: Sequence[Span]) -> list[int]:
    """Which of a row of labels, one a week, to keep: all of them if they fit, else those
    of every second (third…) week counted back from the last (the current week), plus the
    first, whose right neighbour gives way if they touch. A regular rhythm, for dates."""
    count = len(spans)
    for step in range(1, count + 1):
        kept = sorted({*range(count - 1, -1, -step), 0})
        if len(kept) > 2 and not _apart([spans[0], spans[kept[1]]]):
            kept.pop(1)
        if _apart([spans[index] for index in kept]):
            return kept
    return [count - 1] if count else []


def _from_the_right(spans: Sequence[Span]) -> list[int]:
    """Which of a row of labels to keep: the last, then each one, going left, that leaves
    the last one kept alone. As many as fit, for labels that are not on every week."""
    kept: list[int] = []
    for index in reversed(range(len(spans))):
        if not kept or _apart([spans[index], spans[kept[-1]]]):
            kept.append(index)
    return sorted(kept)


def _keep(texts: Sequence[Text], kept: Sequence[int]) -> None:
    """Remove the texts not kept."""
    for index, text in enumerate(texts):
        if index not in kept:
            text.remove()


# --- the panels ---------------------------------------------------------------------------


def _panel_title(axes: Axes, title: str, pad: float = 0) -> Text:
    """The panel's title, `pad` points above its plot (`set_title` resets the font)."""
    return axes.set_title(title, loc="left", fontsize=PANEL_TITLE, fontweight="bold", pad=pad)


def _style(axes: Axes, tr: Translator, title: str) -> None:
    _panel_title(axes, tr.gettext(title))
    axes.tick_params(labelsize=TEXT, length=TICK, pad=TICK)
    axes.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _no_data(axes: Axes, tr: Translator) -> None:
    axes.text(
        0.5, 0.5, tr.gettext(NO_DATA), transform=axes.transAxes, ha="center", va="center",
        fontsize=TEXT, color=MUTED,
    )  # fmt: skip


def _legend(axes: Axes, handles: list[Artist], start: float, room: float) -> Legend:
    """The panel's legend above its plot, under its title, from `start` (a fraction of the
    plot's width, left of it): on one row if it fits in `room` points."""
    renderer = axes.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for columns in (len(handles), 1):
        legend = axes.legend(
            handles=handles, loc="lower left", bbox_to_anchor=(start, 1), borderaxespad=0,
            borderpad=0.1, fontsize=TEXT, frameon=False, ncols=columns, handlelength=1.6,
            handletextpad=0.5, columnspacing=1.2, labelspacing=0.3,
        )  # fmt: skip
        if legend.get_window_extent(renderer).width / POINT <= room:
            break
    return legend


def _under_way(bars: BarContainer, xs: Sequence[int], weeks: int) -> None:
    """The current week is not over: its bar is paler."""
    if xs and xs[-1] == weeks - 1:
        bars.patches[-1].set_alpha(0.45)


def _rates(
    axes: Axes, tr: Translator, data: ReportData
) -> tuple[list[Artist], Callable[[RendererBase], None]]:
    """Each week's share of check-ins answered; a week in which none reached anyone is
    hatched, so that it does not read as 0 %. Returns the legend's entries and what to do
    once the layout is known: label the bars."""
    _style(axes, tr, RATE_TITLE)
    axes.set_ylim(0, 100)
    axes.spines["left"].set_bounds(0, 100)  # the room above is for the labels
    axes.yaxis.set_major_locator(FixedLocator([0, 25, 50, 75, 100]))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: percent(tr, value / 100)))
    shown = [(x, week.rate.value) for x, week in enumerate(data.weeks)]
    rates = [(x, value * 100) for x, value in shown if value is not None]
    not_sent = [x for x, value in shown if value is None]
    if not rates:
        _no_data(axes, tr)
        return [], lambda _: None
    xs, values = zip(*rates, strict=True)
    bars = axes.bar(xs, values, width=0.7, color=RATE_COLOUR)
    _under_way(bars, xs, len(data.weeks))
    handles: list[Artist] = []
    if not_sent:
        gaps = axes.bar(
            not_sent, [100] * len(not_sent), width=0.7, color="none", edgecolor=NOT_SENT_COLOUR,
            hatch="////", linewidth=0, label=tr.gettext(NOT_SENT_LEGEND),
        )  # fmt: skip
        handles.append(gaps)

    def label(renderer: RendererBase) -> None:
        _value_labels(axes, tr, dict(rates), renderer)

    return handles, label


def _value_labels(
    axes: Axes, tr: Translator, values: dict[int, float], renderer: RendererBase
) -> None:
    """Each bar's percentage (`values`, by week) above it, in the largest size and fullest
    form that keeps the labels apart: '100 %', then '100' (the axis says %); then as many
    as fit, the current week's first."""

    def full(value: float) -> str:
        return percent(tr, value / 100)

    def bare(value: float) -> str:
        return decimal(tr, value, "0")

    xs = sorted(values)
    tries = [([form(values[x]) for x in xs], size) for form in (full, bare) for size in VALUE_SIZES]
    for words, size in tries:
        spans = _row(axes, words, xs, size, renderer)
        kept = list(range(len(xs)))
        if _apart(spans):
            break
    else:
        kept = _from_the_right(spans)
    for index in kept:
        axes.annotate(
            words[index],
            (xs[index], values[xs[index]]),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=size,
            color=MUTED,
            # a halo: readable over a neighbouring bar, a label being wider than a bar
            path_effects=[withStroke(linewidth=2.5, foreground="white")],
        )


def _ratings(axes: Axes, tr: Translator, data: ReportData) -> list[Artist]:
    """The mentees' and the mentors' average rating each week; returns the legend's
    entries."""
    _style(axes, tr, RATINGS_TITLE)
    axes.set_ylim(0.6, 5.4)
    axes.yaxis.set_major_locator(FixedLocator([1, 2, 3, 4, 5]))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: decimal(tr, value)))
    xs = range(len(data.weeks))
    lines = (
        ([week.mentee_rating for week in data.weeks], MENTEE_LEGEND, MENTEE_COLOUR, "o", "-"),
        ([week.mentor_rating for week in data.weeks], MENTOR_LEGEND, MENTOR_COLOUR, "s", "--"),
    )
    if all(value is None for values, *_ in lines for value in values):
        _no_data(axes, tr)
        return []
    handles: list[Artist] = []
    for values, legend, colour, marker, dashes in lines:
        # A week without ratings is NaN: the line breaks there instead of inventing a value.
        (line,) = axes.plot(
            xs, [math.nan if value is None else value for value in values],
            label=tr.gettext(legend), color=colour, marker=marker, linestyle=dashes,
            linewidth=2, markersize=5,
        )  # fmt: skip
        handles.append(line)
    return handles


def draw_contact(axes: Axes, tr: Translator, data: ReportData) -> list[Artist]:
    """Contact hours each week, against the expected; returns the legend's entries."""
    _style(axes, tr, CONTACT_TITLE)
    xs = list(range(len(data.weeks)))
    hours = [week.contact_minutes / 60 for week in data.weeks]
    expected = [week.expected_minutes / 60 for week in data.weeks]
    # Steps of 0.25 or 0.025 h are common with few matches: one decimal would label the
    # line at 0.25 h "0.2" (half-even) and the one at 0.75 h "0.8".
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: decimal(tr, value, AXIS_HOURS)))
    if not any(hours) and not any(expected):
        axes.set_ylim(0, 1)
        _no_data(axes, tr)
        return []
    bars = axes.bar(xs, hours, width=0.7, color=CONTACT_COLOUR, label=tr.gettext(CONTACT_LEGEND))
    _under_way(bars, xs, len(data.weeks))
    # The expectation changes with the number of active matches: a mark over each bar.
    marks = axes.hlines(
        expected, [x - 0.42 for x in xs], [x + 0.42 for x in xs], colors=EXPECTED_COLOUR,
        linewidth=2.5, label=tr.gettext(EXPECTED_LEGEND),
    )  # fmt: skip
    axes.set_ylim(0, max([*hours, *expected]) * 1.08)
    return [bars, marks]


# --- the figure ---------------------------------------------------------------------------


def _points(text: Text, renderer: RendererBase) -> tuple[float, float]:
    """A text's width and height in points."""
    extent = text.get_window_extent(renderer)
    return extent.width / POINT, extent.height / POINT


def _title(figure: Figure, tr: Translator, name: str, weeks: int) -> Text:
    """The program's name (on up to two lines, as wide as the figure allows) and the
    range, top left."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    top = 1 - MARGIN / (SIZE_INCHES[1] * 72)
    title = figure.text(
        MARGIN / (SIZE_INCHES[0] * 72), top, "", ha="left", va="top", fontsize=FIGURE_TITLE,
        fontweight="bold",
        parse_math=False,  # a "$" in a program's name is text, not a formula
    )  # fmt: skip
    room = SIZE_INCHES[0] * 72 - 2 * MARGIN
    for width in range(44, 11, -2):
        lines = textwrap.wrap(drawable(name), width, max_lines=2, placeholder=" …")
        title.set_text("\n".join([*lines, tr.ngettext("Last {n} week", "Last {n} weeks", weeks)]))
        if _points(title, renderer)[0] <= room:
            break
    return title


def _tick_width(axes: Axes, renderer: RendererBase) -> float:
    """The widest y-axis label, in points."""
    low, high = axes.get_ylim()
    values = [value for value in axes.yaxis.get_major_locator()() if low <= value <= high]
    font = FontProperties(size=TEXT)
    return max(
        (
            renderer.get_text_width_height_descent(label, font, ismath=False)[0] / POINT
            for label in axes.yaxis.get_major_formatter().format_ticks(values)
        ),
        default=0,
    )


def _week_labels(
    figure: Figure, axes: Axes, tr: Translator, data: ReportData, days_at: float, base: float
) -> None:
    """Under the bottom panel: the Monday of each week (or of every second…, always the
    current week's), with its month on a second row where the month changes; `days_at`
    and `base` are the rows' baselines, in points from the figure's bottom."""
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    mondays = [week.monday for week in data.weeks]
    words = [week_label(tr, monday, "d") for monday in mondays]
    kept = _spaced(_row(axes, words, range(len(mondays)), TEXT, renderer))
    for x in kept:
        axes.annotate(
            words[x],
            (x, days_at),
            xycoords=("data", "figure points"),
            ha="center",
            va="baseline",
            fontsize=TEXT,
        )
    changes = [
        x
        for before, x in zip([None, *kept], kept, strict=False)
        if before is None or mondays[x].month != mondays[before].month
    ]
    months = [
        axes.annotate(
            week_label(tr, mondays[x], "MMM"),
            (x, base),
            xycoords=("data", "figure points"),
            xytext=(0, 0),
            textcoords="offset points",
            ha="center",
            va="baseline",
            fontsize=TEXT,
            color=MUTED,
        )
        for x in changes
    ]
    edge = figure.bbox.x1 - MARGIN * POINT
    for month in months:  # the current week's month, wider than its day, stays inside
        overflow = month.get_window_extent(renderer).x1 - edge
        if overflow > 0:
            month.xyann = (-overflow / POINT, 0)
    _keep(months, _from_the_right([_span(month, renderer) for month in months]))


def _stack(
    panels: Sequence[Axes],
    legends: Sequence[Legend | None],
    top: float,
    bottom: float,
    left: float,
    right: float,
) -> float:
    """Place the panels one under the other between `top` and `bottom` (points from the
    figure's bottom), each under its title and legend, and all as tall; return that
    height."""
    renderer = panels[0].figure.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = (inches * 72 for inches in SIZE_INCHES)
    titles = [_panel_title(axes, axes.get_title(loc="left")) for axes in panels]
    legend_heights = [_points(legend, renderer)[1] + 3 if legend else 0 for legend in legends]
    heads = [
        _points(text, renderer)[1] + 4 + legend
        for text, legend in zip(titles, legend_heights, strict=True)
    ]
    between = 10  # from a panel's x axis to the next panel's title
    plot = (top - bottom - sum(heads) - between * (len(panels) - 1)) / len(panels)
    for axes, text, head, legend in zip(panels, titles, heads, legend_heights, strict=True):
        top -= head
        axes.set_position(
            (left / width, (top - plot) / height, (right - left) / width, plot / height)
        )
        _panel_title(axes, text.get_text(), pad=legend + 2).set_x((MARGIN - left) / (right - left))
        top -= plot + between
    return plot


def draw_report(data: ReportData, tr: Translator, program_name: str) -> Figure:
    """The chart: response rate, ratings and contact hours, one panel each, over the weeks
    of `data`."""
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    renderer = FigureCanvasAgg(figure).get_renderer()
    width, height = (inches * 72 for inches in SIZE_INCHES)  # in points
    panels = [figure.add_axes((0, 0, 1, 1)) for _ in range(3)]
    rates, ratings, contact = panels
    rate_handles, label_bars = _rates(rates, tr, data)
    handles = [rate_handles, _ratings(ratings, tr, data), draw_contact(contact, tr, data)]
    count = len(data.weeks)
    for axes in panels:  # the same weeks (not shared axes: ticks cost, and only one has them)
        axes.set_xlim(-0.6, count - 0.4)
        axes.xaxis.set_major_locator(NullLocator())
    contact.xaxis.set_major_locator(MultipleLocator(1))  # a tick each week, dates below
    contact.xaxis.set_major_formatter(NullFormatter())

    # Across: the y-axis labels on the left, room for the last week's date on the right;
    # the titles and legends start at the margin.
    left = MARGIN + max(_tick_width(axes, renderer) for axes in panels) + 2 * TICK + 2
    right = width - MARGIN - TEXT * 0.4
    start = (MARGIN - left) / (right - left)  # the margin, in fractions of the plot's width
    legends = [
        _legend(axes, entries, start, width - 2 * MARGIN) if entries else None
        for axes, entries in zip(panels, handles, strict=True)
    ]
    # Down: the title; the panels; the weeks' days and months, and the axis title.
    title = _title(figure, tr, program_name, count)
    axis_title = figure.text(
        0.5, MARGIN / height, tr.gettext(WEEKS_AXIS), ha="center", va="bottom", fontsize=TEXT
    )
    months = MARGIN + _points(axis_title, renderer)[1] + 4 + TEXT * 0.25  # a baseline
    days = months + TEXT * 1.25
    plot = _stack(
        panels, legends, top=height - MARGIN - _points(title, renderer)[1] - 10,
        bottom=days + TEXT * 0.75 + 2 * TICK, left=left, right=right,
    )  # fmt: skip
    # Room above full bars for their labels.
    rates.set_ylim(0, 100 * plot / (plot - VALUE_SIZES[0] * 1.3 - 3))
    _week_labels(figure, contact, tr, data, days, months)
    label_bars(renderer)
    return figure


def png(figure: Figure) -> bytes:
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()

"""/report's chart as a phone shows it: at 4, 12 and 26 weeks, in English and French, no
two texts touch and all lie inside the picture (measured with matplotlib's text extents),
every text is readable at a phone's width, the first and the current week are labelled,
dates sit on one baseline, a week in which no check-in reached anyone is hatched rather
than drawn as 0 %, and French writes « 1er »."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import combinations

import pytest
from matplotlib.axes import Axes
from matplotlib.backend_bases import RendererBase
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from conversations.kit.chart_drawing import DPI, draw_report
from conversations.kit.charts import ChartWeek, ReportData, percent
from locales.translator import translator
from storage.metrics import Rate
from storage.schedule import period_key

PHONE = 390  # CSS pixels across a phone screen, on which Telegram shows the 840-pixel picture
NAME = "Career Bridge Toronto : mentorat des personnes nouvellement arrivées au Canada"
# Full bars side by side ("100 %100 %" before), weeks without any check-in, 0 %, 33 %.
RATES = [Rate(4, 4), Rate(5, 5), Rate(0, 0), Rate(0, 3), Rate(3, 4), Rate(1, 3), Rate(2, 2)]


def weeks_to(last: date, count: int) -> ReportData:
    """`count` weeks ending with the week of Monday `last`, every week busy."""
    mondays = [last - timedelta(weeks=back) for back in range(count - 1, -1, -1)]
    return ReportData(
        tuple(
            ChartWeek(
                period_key(monday),
                monday,
                RATES[i % len(RATES)],
                [4.5, None, 3.0, 4.0, 5.0][i % 5],
                [3.5, 4.0, None, 5.0, 1.0][i % 5],
                [90, 0, 240, 60, 120, 30][i % 6],
                3,
                180.0,
            )
            for i, monday in enumerate(mondays)
        )
    )


def drawn_texts(figure: Figure) -> list[Text]:
    """The texts drawn: not empty, visible, not a tick label outside the axes' range, not
    inside a legend (a legend counts as one box)."""
    figure.canvas.draw()
    skipped: set[Text] = set()
    for axes in figure.axes:
        for axis, (low, high) in ((axes.xaxis, axes.get_xlim()), (axes.yaxis, axes.get_ylim())):
            for tick in axis.get_major_ticks():
                if not min(low, high) <= tick.get_loc() <= max(low, high):
                    skipped.update((tick.label1, tick.label2))
        if (legend := axes.get_legend()) is not None:
            skipped.update(legend.get_texts())
    return [
        text
        for text in figure.findobj(Text)
        if text.get_visible() and text.get_text().strip() and text not in skipped
    ]


def boxes(figure: Figure, texts: list[Text]) -> list[tuple[str, Bbox]]:
    """Each text's box, and each legend's."""
    renderer: RendererBase = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    found = [(text.get_text(), text.get_window_extent(renderer)) for text in texts]
    for axes in figure.axes:
        if (legend := axes.get_legend()) is not None:
            words = " / ".join(text.get_text() for text in legend.get_texts())
            found.append((f"legend {words}", legend.get_window_extent(renderer)))
    return found


def assert_legible(figure: Figure) -> None:
    """No text touches another (2 pixels apart at least) or leaves the picture, and all
    are large enough for a phone."""
    texts = drawn_texts(figure)
    found = boxes(figure, texts)
    inside = figure.bbox
    for text, box in found:
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1, text
        assert inside.y0 <= box.y0 and box.y1 <= inside.y1, text
    for (one, first), (other, second) in combinations(found, 2):
        assert not first.padded(1).overlaps(second.padded(1)), (one, other)
    # Telegram shows the 840 pixels across about 390 CSS pixels of a phone.
    css_pixels = {text.get_text(): text.get_fontsize() * DPI / 72 * PHONE / 840 for text in texts}
    assert min(css_pixels.values()) >= 10.9, css_pixels  # the values above the bars
    for axes in figure.axes:
        if (legend := axes.get_legend()) is not None:
            assert all(text.get_fontsize() >= 11 for text in legend.get_texts())


def dates(axes: Axes) -> dict[int, list[Annotation]]:
    """The date labels under the bottom panel, by week."""
    found: dict[int, list[Annotation]] = {}
    for text in axes.texts:
        if isinstance(text, Annotation) and text.xycoords == ("data", "figure points"):
            found.setdefault(int(text.xy[0]), []).append(text)
    return found


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(
    ("count", "last"),
    [
        (4, date(2026, 6, 15)),  # 1er juin
        (4, date(2026, 9, 7)),  # 24 août
        (12, date(2026, 9, 7)),
        (12, date(2027, 3, 1)),  # across a year, 1er févr., 1er mars
        (26, date(2026, 9, 7)),
        (26, date(2027, 3, 1)),
    ],
)
def test_no_text_touches_another_or_leaves_the_picture(
    language: str, count: int, last: date
) -> None:
    data = weeks_to(last, count)
    tr = translator(language)
    figure = draw_report(data, tr, NAME)
    assert_legible(figure)

    rates, _, contact = figure.axes
    labelled = dates(contact)
    days = {week: labels[0] for week, labels in labelled.items()}
    assert count - 1 in days and 0 in days  # the current week, and the first
    assert days[count - 1].get_text() == tr.day_month(last, "d")
    assert len(days) >= min(count, 9)  # at 26 weeks, every second or third week
    assert days[0].get_text() == tr.day_month(data.weeks[0].monday, "d")
    # One baseline for the days, one for the months under them.
    rows = {
        (text.xy[1], text.get_verticalalignment()) for group in labelled.values() for text in group
    }
    assert len(rows) == 2 and {va for _, va in rows} == {"baseline"}
    # Values above the bars at every range; at 26 weeks, for every second or third week.
    values = [text for text in rates.texts if isinstance(text, Annotation)]
    assert len(values) >= count // 3
    if count == 4:  # room for the whole percentage
        shown = [week.rate.value for week in data.weeks]
        assert [text.get_text() for text in values] == [
            percent(tr, value) for value in shown if value is not None
        ]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_first_week_and_empty_panels_keep_their_texts_apart(language: str) -> None:
    """A program whose first match started this week, and one with matches but nothing
    answered, rated or logged yet: the panels say so, and still nothing touches."""
    tr = translator(language)
    assert_legible(draw_report(weeks_to(date(2026, 9, 7), 1), tr, "Halifax"))
    quiet = ReportData(
        tuple(
            ChartWeek(week.period, week.monday, Rate(), None, None, 0, 2, 120.0)
            for week in weeks_to(date(2026, 9, 7), 12).weeks
        )
    )
    figure = draw_report(quiet, tr, "Halifax")
    assert_legible(figure)
    nothing = {text.get_text() for axes in figure.axes[:2] for text in axes.texts}
    assert nothing == {tr.gettext("Nothing in these weeks")}


def test_a_week_without_check_ins_is_hatched_and_a_week_at_zero_has_its_zero() -> None:
    """Week 2 (0 of 0) and week 3 (0 of 3) used to look the same: an empty slot."""
    data = weeks_to(date(2026, 9, 7), 4)
    assert [week.rate for week in data.weeks] == RATES[:4]
    for language, legend, zero in (
        ("en", "No check-in reached anyone", "0%"),
        ("fr", "Aucun suivi reçu", "0\xa0%"),
    ):
        figure = draw_report(data, translator(language), NAME)
        rates = figure.axes[0]
        hatched = [bar for bar in rates.patches if bar.get_hatch()]
        assert [bar.get_x() + bar.get_width() / 2 for bar in hatched] == [2]
        assert hatched[0].get_height() == 100  # the whole height: no value to read there
        solid = {
            bar.get_x() + bar.get_width() / 2: bar.get_height()
            for bar in rates.patches
            if not bar.get_hatch()
        }
        assert solid == {0: 100, 1: 100, 3: 0}
        labels = {
            int(text.xy[0]): text.get_text() for text in rates.texts if isinstance(text, Annotation)
        }
        assert labels[3] == zero and 2 not in labels
        legend_texts = [text.get_text() for text in rates.get_legend().get_texts()]
        assert legend_texts == [legend]


@pytest.mark.parametrize(
    ("day", "skeleton", "english", "french"),
    [
        (date(2026, 6, 1), "MMMd", "Jun 1", "1er juin"),
        (date(2026, 6, 1), "d", "1", "1er"),
        (date(2001, 1, 1), "yMMMd", "Jan 1, 2001", "1er janv. 2001"),
        (date(2026, 12, 11), "MMMMd", "December 11", "11 décembre"),
        (date(2026, 8, 24), "MMMd", "Aug 24", "24 août"),
    ],
)
def test_the_first_of_the_month_is_1er_in_french(
    day: date, skeleton: str, english: str, french: str
) -> None:
    assert translator("en").day_month(day, skeleton) == english
    assert translator("fr").day_month(day, skeleton) == french


def test_a_span_of_days_writes_1er_for_each_first_of_the_month() -> None:
    french, english = translator("fr"), translator("en")
    assert french.date_range(date(2026, 6, 1), date(2026, 6, 7)) == "1er–7 juin 2026"
    assert french.date_range(date(2026, 6, 1), date(2026, 11, 1)) == (
        "1er juin\u2009–\u20091er nov. 2026"
    )
    assert french.date_range(date(2026, 11, 2), date(2026, 11, 8)) == "2–8 nov. 2026"
    assert english.date_range(date(2026, 6, 1), date(2026, 11, 1)) == "Jun 1–Nov 1, 2026"

"""The certificate of completion: a one-page PDF in the participant's language, from plain
values (no database, no Telegram), so it is tested by reading its text back.

fpdf2 embeds a subset of the DejaVu Sans font that matplotlib ships, so accented names
("Amélie Côté") and French text come out right in any PDF reader, and nothing is
downloaded or installed for it. The page is US Letter, landscape, as printed in Canada.
fpdf2 and matplotlib (about 45 MiB together) are imported when a certificate is made, not
when the bot starts.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from conversations.kit.text import hours
from locales.translator import N_, Html, Translator
from storage.certificates import CertificateFacts
from storage.exports import slug

FONT = "DejaVu"
ROLES = {"mentee": N_("as a mentee"), "mentor": N_("as a mentor")}
NAME_SIZE, NAME_MIN_SIZE = 34, 16  # points; a long name shrinks to fit one line
INK, ACCENT = (40, 40, 40), (31, 78, 121)


@cache
def _font_files() -> tuple[Path, Path]:
    import matplotlib

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return fonts / "DejaVuSans.ttf", fonts / "DejaVuSans-Bold.ttf"


def file_name(tr: Translator, facts: CertificateFacts) -> str:
    """'certificate-amelie-cote.pdf', 'certificat-amelie-cote.pdf' in French."""
    word = tr.pgettext("file name", "certificate")
    return f"{slug(word)}-{slug(facts.name)}.pdf"


def render_certificate(tr: Translator, facts: CertificateFacts) -> bytes:
    """The certificate as PDF bytes, every word in `tr`'s language."""
    from fpdf import FPDF

    regular, bold = _font_files()
    pdf = FPDF(orientation="landscape", unit="mm", format="letter")
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(25, 20, 25)
    pdf.set_lang(tr.language)
    pdf.set_creator("Tandem")
    pdf.set_title(tr.gettext("Certificate of completion"))
    pdf.add_font(FONT, "", str(regular))
    pdf.add_font(FONT, "B", str(bold))
    pdf.add_page()
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float, *, style: str = "", height: float = 10) -> None:
        pdf.set_font(FONT, style, size)
        pdf.multi_cell(width, height, text, align="C", new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(32)
    pdf.set_text_color(*ACCENT)
    line(tr.gettext("Certificate of completion"), 30, style="B", height=14)
    pdf.set_text_color(*INK)
    pdf.ln(6)
    line(tr.gettext("This certifies that"), 14)
    pdf.ln(2)
    size = float(NAME_SIZE)
    pdf.set_font(FONT, "B", size)
    while size > NAME_MIN_SIZE and pdf.get_string_width(facts.name) > width:
        size -= 1
        pdf.set_font(FONT, "B", size)
    line(facts.name, size, style="B", height=16)
    pdf.ln(2)
    line(
        tr.gettext(
            "completed the mentorship program {program} {role}, from {start} to {end}.",
            program=Html(facts.program),
            role=Html(tr.gettext(ROLES[facts.role])),
            start=tr.date(facts.started_on),
            end=tr.date(facts.ended_on),
        ),
        14,
        height=8,
    )
    pdf.ln(8)
    line(tr.gettext("Meetings logged: {count}", count=tr.number(facts.meetings)), 13, height=8)
    line(tr.gettext("Hours together: {hours}", hours=hours(tr, facts.minutes)), 13, height=8)
    pdf.set_y(pdf.h - 42)
    line(tr.gettext("Issued on {date}", date=tr.date(facts.issued_on)), 11, height=7)
    line(tr.gettext("Program coordination, {program}", program=Html(facts.program)), 11, height=7)
    return bytes(pdf.output())

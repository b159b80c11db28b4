"""Invite QR codes for printed sheets: the code, with the program, role and expiry as text
underneath, so a stack of printed codes can be told apart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.image.pil import PilImage

# DejaVu Sans ships with matplotlib (a dependency) and covers accented names: Montréal.
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
TITLE_FONT = FONT_DIR / "DejaVuSans-Bold.ttf"
TEXT_FONT = FONT_DIR / "DejaVuSans.ttf"
TITLE_SIZE = 20
TEXT_SIZE = 16
LINE_GAP = 6
MARGIN = 20  # left, right and under the text; the code brings its own quiet zone above


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to `width` pixels; a word longer than the line stands alone."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def captioned_qr(link: str, caption: Sequence[str]) -> Image.Image:
    """The QR code of `link` with `caption` under it: the first line bold, each line
    wrapped to the code's width."""
    code = qrcode.make(link, image_factory=PilImage).get_image().convert("RGB")
    width = code.width - 2 * MARGIN
    fonts = [ImageFont.truetype(str(TITLE_FONT), TITLE_SIZE)] + [
        ImageFont.truetype(str(TEXT_FONT), TEXT_SIZE)
    ] * (len(caption) - 1)
    lines = [
        (piece, font)
        for text, font in zip(caption, fonts, strict=True)
        for piece in _wrap(text, font, width)
    ]
    heights = [font.size + LINE_GAP for _, font in lines]
    image = Image.new("RGB", (code.width, code.height + sum(heights) + MARGIN), "white")
    image.paste(code, (0, 0))
    draw = ImageDraw.Draw(image)
    top = code.height
    for (piece, font), height in zip(lines, heights, strict=True):
        left = (code.width - font.getlength(piece)) / 2
        draw.text((left, top), piece, font=font, fill="black")
        top += height
    return image


def write_captioned_qr(path: Path, link: str, caption: Sequence[str]) -> None:
    captioned_qr(link, caption).save(path, format="PNG")

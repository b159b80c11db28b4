"""The coordinator commands' screens: one step decides a `Screen` in one transaction, and
`show` delivers it once that has committed — its letters to others first, then the text
and buttons in place of the message whose button was pressed (or as a new message).
Used by /invite, /pair, /people, /broadcast and /flags, /matches."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from conversations.kit.actor import Actor, Refused
from conversations.kit.buttons import Button, keyboard, parse_number
from conversations.kit.context import TandemContext
from conversations.kit.introductions import Letter, send_letters
from conversations.kit.joining import hand_over
from conversations.kit.reply import say
from conversations.kit.unusable import describe_unusable, explain_unusable
from locales.translator import Translator
from storage.models import Program

WAITING = "waiting"  # a tap on one of the dialogue's buttons is expected
# HTML characters of list lines per page of a list. Telegram allows 4096 characters once
# the markup is parsed; the rest (title, headings, a hint) stays under about 1,000 even with
# a 120-character program name made of characters that need escaping.
LINES_BUDGET = 2900


@dataclass
class Screen:
    """What one step shows: the text (Telegram HTML) and buttons that replace the message
    whose button was pressed, a pop-up answer to the press, letters to others. `waiting`
    for a tap, or `awaits` another state of the dialogue (typed text it asked for)."""

    text: str
    rows: list[list[Button]] = field(default_factory=list)
    waiting: bool = False
    awaits: str | None = None
    notice: str | None = None
    letters: list[Letter] = field(default_factory=list)


@dataclass
class Turn:
    """One step's inputs: the open transaction, who acts, in which program, the
    arguments from the button."""

    session: AsyncSession
    update: Update
    ctx: TandemContext
    actor: Actor
    program: Program
    args: tuple[str, ...] = ()

    @property
    def tr(self) -> Translator:
        return self.ctx.tr

    @property
    def program_id(self) -> int:
        assert self.program.id is not None
        return self.program.id

    def stale(self) -> Refused:
        return Refused(describe_unusable(self.tr, self.update, expects_text=False))

    def number(self, index: int, default: int | None = None) -> int:
        """The argument at `index` as an id or page number; a missing or forged one makes
        the press stale."""
        value = parse_number(self.args[index]) if index < len(self.args) else default
        if value is None:
            raise self.stale()
        return value


async def show(update: Update, ctx: TandemContext, screen: Screen) -> str | int:
    """Deliver the letters, then the screen: in place of the message whose button was
    pressed, else as a new message. Returns the conversation's next state."""
    text = screen.text
    for name in await send_letters(ctx.bot, screen.letters):
        text += "\n\n" + ctx.tr.gettext(
            "I couldn't reach {name}: please introduce them yourself.", name=name
        )
    markup = keyboard([row for row in screen.rows if row]) if any(screen.rows) else None
    query = update.callback_query
    if query is None or not await edit_in_place(query, text, markup, screen.notice):
        await say(update, text, markup)
    if screen.awaits is not None:
        return screen.awaits
    return WAITING if screen.waiting else ConversationHandler.END


async def edit_in_place(
    query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None, notice: str | None
) -> bool:
    """Answer the press and replace the message it came from; False when that message
    cannot be edited any more (then the caller sends a new one)."""
    await query.answer(notice)
    try:
        await query.edit_message_text(
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            disable_web_page_preview=True,
        )
    except BadRequest as error:
        return "not modified" in str(error)
    return True


async def not_a_tap(update: Update, ctx: TandemContext) -> int | None:
    """Text (or a sticker…) while a tap is expected: explain, and stay on the step. Unless
    the coordinator has since started joining another program or role: then the text
    answers onboarding's question, and this dialogue ends."""
    if await hand_over(update, ctx):
        return ConversationHandler.END
    await explain_unusable(update, ctx, expects_text=False)
    return None


async def cancel(update: Update, ctx: TandemContext) -> int:
    await say(update, ctx.tr.gettext("Okay, stopped. Nothing was changed."))
    return ConversationHandler.END

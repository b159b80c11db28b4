"""/goals: a mentee's list of goals — add, reword, mark achieved (celebrated), drop. The
per-goal progress questions their weekly check-in asks are
conversations/kit/goal_questions.py.

The goals a mentee wrote at onboarding become the first rows (`storage.goals`). Every
button names a goal by id, and every change re-reads the goal with its owner, so a forged
button with someone else's goal id changes nothing. Typing a new goal or a new wording is
the one step that waits for a message: `user_data` remembers what is awaited for ten
minutes (a cache: losing it costs a re-tap); onboarding's catch-all offers messages to
`take_text`.

Callback data: ``goal:<action>[:<goal id>]`` with action list, add, reword, done, drop.

```mermaid
stateDiagram-v2
    [*] --> Listing: /goals
    Listing --> Typing: ➕ Add a goal / ✏️ Reword
    Typing --> Listing: the goal typed (10 minutes)
    Listing --> Listing: 🎉 Achieved / 🗑 Drop
    Listing --> [*]
```
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.kit.buttons import Button, keyboard, parse_number
from conversations.kit.cancel import cancellable
from conversations.kit.context import TandemContext, known_person
from conversations.kit.goal_questions import LABEL_LENGTH
from conversations.kit.reply import say
from conversations.kit.text import clip
from conversations.kit.unusable import describe_unusable, too_long
from locales.translator import N_, Translator, escape
from storage import goals as store
from storage.models import Goal, GoalStatus, Membership

PREFIX = "goal"
AWAITING = "goals_awaiting"  # user_data: {"action": "add"|"reword", "goal": id, "at": ts}
cancellable(AWAITING)
TYPING_WINDOW = timedelta(minutes=10)
ACHIEVED_SHOWN = 5  # the latest achieved goals listed under the open ones
ACHIEVED_CLIP = 80  # characters of an achieved goal in the list
ACTIONS = {
    "reword": N_("✏️ Reword"),
    "done": N_("🎉 Achieved"),
    "drop": N_("🗑 Drop"),
}


# --- /goals -------------------------------------------------------------------------------


@dataclass
class Shown:
    """What to show: a notice (callback answer or message first), the message text and
    its buttons; `edit` replaces the tapped message instead of sending a new one."""

    text: str
    rows: list[list[Button]]
    notice: str | None = None
    edit: bool = False


def _data(action: str, goal_id: int | None = None) -> str:
    return f"{PREFIX}:{action}" if goal_id is None else f"{PREFIX}:{action}:{goal_id}"


def _list_text(tr: Translator, goals: list[Goal], before: str | None = None) -> str:
    open_goals = [goal for goal in goals if goal.status == GoalStatus.OPEN]
    achieved = sorted(
        (goal for goal in goals if goal.status == GoalStatus.ACHIEVED),
        key=lambda goal: goal.achieved_at or goal.created_at,
    )
    lines = [before, ""] if before else []
    title = tr.gettext("Your goals")
    lines.append(f"<b>{title}</b>")
    if open_goals:
        lines += [
            f"{index}. {escape(clip(goal.text, store.MAX_GOAL_LENGTH))}"
            for index, goal in enumerate(open_goals, 1)
        ]
    else:
        lines.append(tr.gettext("No open goals right now. Tap “Add a goal” to write one."))
    if achieved:
        heading = tr.gettext("Achieved")
        lines += ["", f"<b>{heading}</b>"]
        lines += [_achieved_line(tr, goal) for goal in achieved[-ACHIEVED_SHOWN:]]
        if len(achieved) > ACHIEVED_SHOWN:
            earlier = len(achieved) - ACHIEVED_SHOWN
            lines.append(
                tr.ngettext(
                    "…and {n} more achieved earlier.", "…and {n} more achieved earlier.", earlier
                )
            )
    if open_goals:
        lines += [
            "",
            tr.gettext("Your weekly check-in asks how far you got with your first three."),
        ]
    return "\n".join(lines)


def _achieved_line(tr: Translator, goal: Goal) -> str:
    text = clip(goal.text, ACHIEVED_CLIP)
    if goal.achieved_at is None:
        return f"🎉 {escape(text)}"
    day = tr.date(goal.achieved_at.date(), "long")
    return tr.gettext("🎉 {goal} ({date})", goal=text, date=day)


def _list_rows(tr: Translator, goals: list[Goal]) -> list[list[Button]]:
    rows: list[list[Button]] = [[(tr.gettext("➕ Add a goal"), _data("add"))]]
    if any(goal.status == GoalStatus.OPEN for goal in goals):
        rows.append([(tr.gettext(label), _data(action)) for action, label in ACTIONS.items()])
    return rows


async def _listing(
    session: AsyncSession, tr: Translator, membership: Membership, before: str | None = None
) -> Shown:
    goals = await store.goals_of(
        session, membership.id or 0, (GoalStatus.OPEN, GoalStatus.ACHIEVED)
    )
    return Shown(_list_text(tr, goals, before), _list_rows(tr, goals))


def _not_a_mentee(tr: Translator) -> Shown:
    return Shown(
        tr.gettext(
            "Goals are kept by mentees. Once you have joined a program as a mentee, "
            "send /goals to see yours."
        ),
        [],
    )


async def _membership(
    session: AsyncSession, update: Update, ctx: TandemContext
) -> tuple[int, Membership] | None:
    """The person pressing (their id) and their mentee membership, if any."""
    assert update.effective_user is not None
    person = await known_person(session, ctx, update.effective_user.id)
    if person is None or person.id is None:
        return None
    membership = await store.mentee_membership(session, person.id)
    return (person.id, membership) if membership else None


async def goals_command(update: Update, ctx: TandemContext) -> None:
    """/goals: the list, with buttons to change it."""
    async with ctx.db.session() as session:
        found = await _membership(session, update, ctx)
        shown = await _listing(session, ctx.tr, found[1]) if found else _not_a_mentee(ctx.tr)
    _forget(ctx)
    await _show(update, ctx, shown)


async def on_button(update: Update, ctx: TandemContext) -> None:
    """Every `goal:` button, checked against the person pressing it."""
    query = update.callback_query
    assert query is not None
    _, action, argument = [*(query.data or "").split(":", 2), "", ""][:3]
    async with ctx.db.session() as session:
        found = await _membership(session, update, ctx)
        if found is None:
            shown = _not_a_mentee(ctx.tr)
        elif not argument:
            shown = await _pick(session, ctx, found[1], action)
        elif (goal_id := parse_number(argument)) is None or action not in ACTIONS:
            shown = Shown("", [], notice=_stale(ctx.tr))
        else:
            shown = await _act(session, ctx, found, action, goal_id)
    await _show(update, ctx, shown)


async def _pick(
    session: AsyncSession, ctx: TandemContext, membership: Membership, action: str
) -> Shown:
    """Add: wait for the text. Reword, achieved, drop: which goal?"""
    tr = ctx.tr
    if action == "list":
        shown = await _listing(session, tr, membership)
        shown.edit = True
        return shown
    if action == "add":
        open_goals = await store.goals_of(session, membership.id or 0, (GoalStatus.OPEN,))
        if len(open_goals) >= store.MAX_OPEN_GOALS:
            return Shown(
                "",
                [],
                notice=tr.gettext(
                    "You have {n} open goals already. Mark one achieved or drop one first.",
                    n=store.MAX_OPEN_GOALS,
                ),
            )
        _await(ctx, "add")
        return Shown(tr.gettext("What is your new goal? Type it in a message."), [])
    if action not in ACTIONS:
        return Shown("", [], notice=_stale(tr))
    open_goals = await store.goals_of(session, membership.id or 0, (GoalStatus.OPEN,))
    if not open_goals:
        return Shown("", [], notice=tr.gettext("You have no open goals."))
    rows = [[(_clip(goal.text), _data(action, goal.id))] for goal in open_goals]
    rows.append([(tr.gettext("← Back"), _data("list"))])
    questions = {
        "reword": N_("Which goal do you want to reword?"),
        "done": N_("Which goal did you achieve?"),
        "drop": N_("Which goal do you want to drop?"),
    }
    return Shown(f"<b>{escape(tr.gettext(questions[action]))}</b>", rows, edit=True)


def _clip(text: str) -> str:
    return text if len(text) <= LABEL_LENGTH else text[: LABEL_LENGTH - 1] + "…"


async def _act(
    session: AsyncSession,
    ctx: TandemContext,
    found: tuple[int, Membership],
    action: str,
    goal_id: int,
) -> Shown:
    """Reword, achieve or drop one goal — only the owner's, only while it is open."""
    tr, now = ctx.tr, ctx.now()
    person_id, membership = found
    goal = await store.owned_goal(session, goal_id, person_id)
    if goal is None:
        return Shown(
            "", [], notice=tr.gettext("This button isn't for you, so nothing was changed.")
        )
    if goal.status != GoalStatus.OPEN:
        return Shown("", [], notice=tr.gettext("That goal isn't open any more."))
    if action == "reword":
        _await(ctx, "reword", goal_id)
        text = tr.gettext("Type the new wording for “{goal}”.", goal=goal.text)
        return Shown(text, [])
    if action == "done":
        store.set_status(goal, GoalStatus.ACHIEVED, now)
        before = tr.gettext(
            "🎉 Congratulations! You achieved “{goal}”. Every step counts: take a moment "
            "to enjoy this one.",
            goal=goal.text,
        )
    else:
        store.set_status(goal, GoalStatus.DROPPED, now)
        before = tr.gettext("Okay, “{goal}” is off your list.", goal=goal.text)
    session.add(goal)
    await session.flush()
    shown = await _listing(session, tr, membership, before)
    shown.edit = True
    return shown


def _stale(tr: Translator) -> str:
    return tr.gettext("That button belongs to an earlier question, so it no longer works.")


# --- typing a goal -----------------------------------------------------------------------


def _await(ctx: TandemContext, action: str, goal_id: int | None = None) -> None:
    if ctx.user_data is not None:
        ctx.user_data[AWAITING] = {"action": action, "goal": goal_id, "at": ctx.now().timestamp()}


def _forget(ctx: TandemContext) -> None:
    if ctx.user_data is not None:
        ctx.user_data.pop(AWAITING, None)


def _awaited(ctx: TandemContext) -> dict[str, object] | None:
    data = (ctx.user_data or {}).get(AWAITING)
    if not isinstance(data, dict):
        return None
    if ctx.now().timestamp() - float(data.get("at", 0)) > TYPING_WINDOW.total_seconds():
        return None
    return data


async def take_text(update: Update, ctx: TandemContext) -> bool:
    """A message typed after tapping "Add a goal" or a goal to reword (within ten
    minutes): store it and show the list. False when no goal text is awaited (commands
    are never taken: they do what they say)."""
    awaited = _awaited(ctx)
    message = update.effective_message
    if awaited is None or message is None:
        return False
    if message.text is not None and message.text.startswith("/"):
        return False
    tr = ctx.tr
    text = (message.text or "").strip()
    if message.text is None:
        await say(update, describe_unusable(tr, update, expects_text=True))
        return True
    if not text:
        await say(update, tr.gettext("I couldn't use that answer."))
        return True
    if len(text) > store.MAX_GOAL_LENGTH:
        await say(update, too_long(tr, store.MAX_GOAL_LENGTH))
        return True
    async with ctx.db.session() as session:
        found = await _membership(session, update, ctx)
        shown = (
            await _store_text(session, ctx, found, awaited, text) if found else _not_a_mentee(tr)
        )
    _forget(ctx)
    await _show(update, ctx, shown)
    return True


async def _store_text(
    session: AsyncSession,
    ctx: TandemContext,
    found: tuple[int, Membership],
    awaited: dict[str, object],
    text: str,
) -> Shown:
    tr, now = ctx.tr, ctx.now()
    person_id, membership = found
    if awaited.get("action") == "add":
        await store.add_goal(session, membership.id or 0, text, now)
        return await _listing(session, tr, membership, tr.gettext("Added to your goals."))
    goal_id = awaited.get("goal")
    goal = await store.owned_goal(session, int(goal_id), person_id) if goal_id else None
    if goal is None or goal.status != GoalStatus.OPEN:
        return await _listing(session, tr, membership, tr.gettext("That goal isn't open any more."))
    goal.text, goal.updated_at = text, now
    session.add(goal)
    await session.flush()
    return await _listing(session, tr, membership, tr.gettext("Saved the new wording."))


# --- sending ---------------------------------------------------------------------------------


async def _show(update: Update, ctx: TandemContext, shown: Shown) -> None:
    query = update.callback_query
    if query is not None:
        await query.answer(shown.notice)
    elif shown.notice:
        await say(update, shown.notice)
    if not shown.text:
        return
    markup = keyboard(shown.rows) if shown.rows else None
    if shown.edit and query is not None and query.message is not None:
        await query.edit_message_text(
            shown.text, parse_mode="HTML", reply_markup=markup, disable_web_page_preview=True
        )
    else:
        await say(update, shown.text, markup)


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding (its catch-all would take these otherwise)."""
    return [
        CommandHandler("goals", goals_command, filters.ChatType.PRIVATE),
        CallbackQueryHandler(on_button, pattern=rf"^{PREFIX}:"),
    ]

"""The fake Bot API is honest (it refuses what Telegram refuses) and the harness drives a
real Application the way Telegram would."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakebot import BOT_TOKEN, FakeBotApi
from tests.harness import FakeTelegram

App = Application[Any, Any, Any, Any, Any, Any]
CHOICES = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Yes, let's go", callback_data="ready:yes"),
            InlineKeyboardButton("Not now", callback_data="ready:no"),
        ],
        [InlineKeyboardButton("Read the guide", url="https://example.org/guide")],
    ]
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    payload = " ".join(context.args or [])
    text = "Welcome to <b>Tandem</b>! Ready?" + (
        f" (code {html.escape(payload)})" if payload else ""
    )
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=CHOICES)


async def choose(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    choice = query.data.removeprefix("ready:")
    await query.answer(f"Noted: {choice}")
    await query.edit_message_text(f"You chose <b>{choice}</b>.", parse_mode=ParseMode.HTML)


async def misbehave(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Commands that break the Bot API contract in one specific way each."""
    assert update.effective_message is not None and update.effective_chat is not None
    command = (update.effective_message.text or "").split()[0].lstrip("/")
    chat_id = update.effective_chat.id
    if command == "typo":
        await context.bot.send_message(chat_id, "hello", api_kwargs={"colour": "red"})
    elif command == "long":
        await update.effective_message.reply_text("x" * 5000)
    elif command == "bigdata":
        button = InlineKeyboardButton("Too much", callback_data="d" * 65)
        await update.effective_message.reply_text(
            "Pick", reply_markup=InlineKeyboardMarkup([[button]])
        )
    elif command == "echo":  # forgets to escape the user's text for HTML
        text = (update.effective_message.text or "").removeprefix("/echo ")
        await update.effective_message.reply_text(f"You said: {text}", parse_mode="HTML")
    elif command == "br":
        await update.effective_message.reply_text("one<br>two", parse_mode="HTML")


async def media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None
    kinds = ("sticker", "photo", "document", "location", "voice")
    kind = next(kind for kind in kinds if getattr(message, kind))
    await message.reply_text(f"I can't read a {kind} here, please type your answer.")


@dataclass
class Env:
    app: App
    api: FakeBotApi
    tg: FakeTelegram


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    api = FakeBotApi()
    app = (
        ApplicationBuilder()
        .token(BOT_TOKEN)
        .request(api)
        .get_updates_request(api)
        .updater(None)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler(["typo", "long", "bigdata", "echo", "br"], misbehave))
    app.add_handler(CallbackQueryHandler(choose, pattern=r"^ready:"))
    app.add_handler(
        MessageHandler(
            filters.Sticker.ALL
            | filters.PHOTO
            | filters.Document.ALL
            | filters.LOCATION
            | filters.VOICE,
            media,
        )
    )
    await app.initialize()
    try:
        yield Env(app, api, FakeTelegram(app, api))
    finally:
        await app.shutdown()


# --------------------------------------------------------------------------- harness


async def test_start_shows_reply_and_buttons(env: Env) -> None:
    alice = env.tg.user(101, "Alice")

    replies = await alice.send("/start abc123")

    assert [reply.text for reply in replies] == ["Welcome to Tandem! Ready? (code abc123)"]
    assert alice.last.raw == "Welcome to <b>Tandem</b>! Ready? (code abc123)"
    assert alice.last.parse_mode == "HTML"
    assert alice.buttons == ["Yes, let's go", "Not now", "Read the guide"]
    assert alice.last.buttons[1][0].url == "https://example.org/guide"
    (call,) = env.api.calls_to("sendMessage")
    assert call.params["chat_id"] == 101
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ready:yes"
    bold = alice.last.payload["entities"]
    assert bold == [{"type": "bold", "offset": 11, "length": 6}]
    env.api.assert_no_problems()


async def test_command_entity_covers_only_the_command(env: Env) -> None:
    seen: list[Any] = []

    async def spy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append((update.effective_message.entities, context.args))  # type: ignore[union-attr]

    env.app.add_handler(CommandHandler("start", spy), group=1)
    await env.tg.user(101).send("/start abc")

    (entities, args) = seen[0]
    assert (entities[0].type, entities[0].offset, entities[0].length) == ("bot_command", 0, 6)
    assert args == ["abc"]


async def test_tap_edits_the_message_and_records_the_answer(env: Env) -> None:
    alice = env.tg.user(101, "Alice")
    await alice.send("/start")
    welcome = alice.last

    replies = await alice.tap("let's go")  # unique partial match

    assert replies == []  # nothing new was sent: the message was edited in place
    assert alice.messages == [welcome]
    assert welcome.text == "You chose yes."
    assert welcome.edits == ["You chose yes."]
    assert welcome.raw_edits == ["You chose <b>yes</b>."]
    assert welcome.buttons == []  # an edit without reply_markup drops the keyboard
    assert alice.buttons == []
    assert alice.answers == ["Noted: yes"]
    (query,) = env.api.callback_queries.values()
    assert (query.user_id, query.message_id, query.data) == (101, welcome.message_id, "ready:yes")
    assert env.api.unanswered_callback_queries() == []
    env.api.assert_no_problems()


async def test_callback_query_carries_the_message_as_it_stands(env: Env) -> None:
    seen: list[Any] = []

    async def spy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.callback_query)

    env.app.add_handler(CallbackQueryHandler(spy), group=1)
    alice = env.tg.user(101, "Alice", username="alice_m")
    await alice.send("/start")
    await alice.tap("Not now")

    query = seen[0]
    assert query.from_user.username == "alice_m"
    assert query.message.text == "Welcome to Tandem! Ready?"
    assert query.message.text_html == "Welcome to <b>Tandem</b>! Ready?"
    assert query.message.reply_markup.inline_keyboard[0][1].text == "Not now"


async def test_tap_explains_what_buttons_exist(env: Env) -> None:
    alice = env.tg.user(101)
    with pytest.raises(AssertionError, match="no bot message with inline buttons"):
        await alice.tap("Yes")
    await alice.send("/start")
    with pytest.raises(AssertionError, match=r"no button matches 'Maybe'.*Not now"):
        await alice.tap("Maybe")
    with pytest.raises(AssertionError, match="has no callback_data"):
        await alice.tap("Read the guide")


async def test_press_sends_forged_data_and_unhandled_queries_stay_unanswered(env: Env) -> None:
    alice = env.tg.user(101)
    await alice.send("/start")
    first = alice.last.message_id
    await alice.send("/start")

    await alice.press("admin:delete-everything", message_id=first)

    (query,) = env.api.callback_queries.values()
    assert (query.message_id, query.data, query.answered) == (
        first,
        "admin:delete-everything",
        False,
    )
    assert [record.id for record in env.api.unanswered_callback_queries()] == [query.id]
    assert alice.answers == []


async def test_new_messages_are_per_action_and_per_chat(env: Env) -> None:
    alice, bob = env.tg.user(101, "Alice"), env.tg.user(202, "Bob")
    await alice.send("/start")
    await bob.send("/start")
    assert len(alice.new_messages()) == 1
    await bob.send_sticker()
    assert len(alice.new_messages()) == 1  # Bob's actions do not move Alice's mark
    await alice.send_photo(caption="my cv")
    assert [m.text for m in alice.new_messages()] == [
        "I can't read a photo here, please type your answer."
    ]
    assert len(alice.messages) == 2 and len(bob.messages) == 2


@pytest.mark.parametrize("kind", ["sticker", "photo", "document", "location", "voice"])
async def test_non_text_messages_reach_handlers(env: Env, kind: str) -> None:
    alice = env.tg.user(101)
    replies = await getattr(alice, f"send_{kind}")()
    assert replies[0].text == f"I can't read a {kind} here, please type your answer."


async def test_handler_errors_fail_the_action(env: Env) -> None:
    async def crash(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("boom")

    env.app.add_handler(CommandHandler("crash", crash))
    alice = env.tg.user(101)
    with pytest.raises(RuntimeError, match="boom"):
        await alice.send("/crash")
    env.tg.raise_errors = False
    await alice.send("/crash")
    assert [str(error) for error in env.tg.errors] == ["boom", "boom"]


async def test_the_user_can_delete_and_the_bot_can_delete_user_messages(env: Env) -> None:
    alice = env.tg.user(101)
    await alice.send("my password is hunter2")
    await alice.send("/start")
    user_message_id = 1
    assert await env.app.bot.delete_message(101, user_message_id)
    assert await env.app.bot.delete_message(101, alice.last.message_id)
    assert alice.messages == []
    with pytest.raises(BadRequest, match=r"(?i)Message to delete not found"):
        await env.app.bot.delete_message(101, user_message_id)
    env.api.assert_no_problems()  # a runtime error, not a contract violation


async def test_block_bot_delivers_my_chat_member_and_refuses_messages(env: Env) -> None:
    statuses: list[str] = []

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)

    from telegram.ext import ChatMemberHandler

    env.app.add_handler(ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER))
    alice = env.tg.user(101)
    await alice.block_bot()
    assert statuses == ["kicked"]
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await env.app.bot.send_message(101, "Your weekly check-in")
    await alice.unblock_bot()
    assert statuses == ["kicked", "member"]
    await env.app.bot.send_message(101, "Welcome back")


async def test_restarted_application_is_driven_by_the_same_users(env: Env) -> None:
    alice = env.tg.user(101)
    await alice.send("/start")
    await env.app.shutdown()
    rebuilt = (
        ApplicationBuilder()
        .token(BOT_TOKEN)
        .request(env.api)
        .get_updates_request(env.api)
        .updater(None)
        .build()
    )

    async def crash(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        raise RuntimeError("after restart")

    rebuilt.add_handler(CommandHandler("start", crash))
    await rebuilt.initialize()
    env.app = rebuilt
    env.tg.application = rebuilt
    with pytest.raises(RuntimeError, match="after restart"):
        await alice.send("/start")


# --------------------------------------------------------------------------- honesty


async def test_unknown_parameter_is_a_problem_and_a_bad_request(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unknown parameter 'colour'"):
        await env.tg.user(101).send("/typo")
    assert env.api.problems == [
        "sendMessage: unknown parameter 'colour' (not in the Bot API reference)"
    ]
    (call,) = env.api.calls_to("sendMessage")
    assert call.failed and call.error_code == 400
    with pytest.raises(AssertionError, match="colour"):
        env.api.assert_no_problems()


async def test_overlong_text_is_refused(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"(?i)Message is too long"):
        await env.tg.user(101).send("/long")
    assert env.api.problems[0].startswith("sendMessage: message is too long (5000 characters")
    assert env.tg.users[101].messages == []


async def test_text_limit_counts_after_html_parsing(env: Env) -> None:
    bot = env.app.bot
    await bot.send_message(101, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    await bot.send_message(101, "&lt;" * 4096, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)Message text is empty"):
        await bot.send_message(101, "  <b> </b>\n", parse_mode=ParseMode.HTML)
    assert env.api.problems == ["sendMessage: message text is empty"]


async def test_65_byte_callback_data_is_refused(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await env.tg.user(101).send("/bigdata")
    assert "65 bytes" in env.api.problems[0]


async def test_callback_data_limit_is_in_bytes(env: Env) -> None:
    bot = env.app.bot
    fits = InlineKeyboardButton("ok", callback_data="é" * 32)  # 64 bytes
    too_big = InlineKeyboardButton("no", callback_data="é" * 33)  # 66 bytes, 33 characters
    await bot.send_message(101, "a", reply_markup=InlineKeyboardMarkup([[fits]]))
    with pytest.raises(BadRequest, match=r"(?i)66 bytes"):
        await bot.send_message(101, "b", reply_markup=InlineKeyboardMarkup([[too_big]]))


async def test_keyboard_limits_and_shapes(env: Env) -> None:
    bot = env.app.bot
    rows = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
    with pytest.raises(BadRequest, match=r"(?i)too many inline keyboard buttons"):
        await bot.send_message(101, "grid", reply_markup=InlineKeyboardMarkup(rows))
    with pytest.raises(BadRequest, match=r"(?i)exactly one action field"):
        await bot.send_message(
            101, "bare", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Bare")]])
        )
    with pytest.raises(BadRequest, match=r"(?i)unknown field 'colour' for InlineKeyboardButton"):
        await bot.send_message(
            101,
            "odd",
            reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "a", "colour": 1}]]},
        )
    assert len(env.api.problems) == 3


async def test_unescaped_html_from_user_input_is_refused(env: Env) -> None:
    alice = env.tg.user(101)
    with pytest.raises(BadRequest, match=r"(?i)Can't parse entities"):
        await alice.send("/echo I <3 my mentor")
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "br"'):
        await alice.send("/br")
    await alice.send("/echo fine & dandy > ok")
    assert alice.last.text == "You said: fine & dandy > ok"
    assert len(env.api.problems) == 2


async def test_callback_answer_limits_and_double_answers(env: Env) -> None:
    alice = env.tg.user(101)
    await alice.send("/start")
    query_id = env.api.issue_callback_query(101, chat_id=101, message_id=1, data="x")
    with pytest.raises(BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await env.app.bot.answer_callback_query(query_id, text="y" * 201)
    assert await env.app.bot.answer_callback_query(query_id, text="y" * 200)
    with pytest.raises(BadRequest, match=r"(?i)answered twice"):
        await env.app.bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=r"(?i)unknown id"):
        await env.app.bot.answer_callback_query("made-up")
    assert len(env.api.problems) == 3


async def test_unknown_method_is_a_problem(env: Env) -> None:
    with pytest.raises(EndPointNotFound):  # PTB's reading of Telegram's 404
        await env.app.bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert env.api.problems == ["sendTelepathy: no such Bot API method"]


@pytest.mark.filterwarnings("ignore:Please use 'Bot.sendMessage'")
async def test_missing_required_parameter_is_a_problem(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"(?i)missing required parameter 'chat_id'"):
        await env.app.bot.do_api_request("sendMessage", api_kwargs={"text": "hi"})


async def test_edit_errors_match_telegram(env: Env) -> None:
    bot = env.app.bot
    sent = await bot.send_message(101, "Pick one", reply_markup=CHOICES)
    with pytest.raises(BadRequest, match=r"(?i)Message is not modified"):
        await bot.edit_message_text(
            "Pick one", chat_id=101, message_id=sent.message_id, reply_markup=CHOICES
        )
    edited = await bot.edit_message_reply_markup(chat_id=101, message_id=sent.message_id)
    assert edited.reply_markup is None
    with pytest.raises(BadRequest, match=r"(?i)Message to edit not found"):
        await bot.edit_message_text("gone", chat_id=101, message_id=999)
    env.api.assert_no_problems()  # runtime errors a bot must handle, not contract breaches


async def test_uploads_are_recorded_with_their_bytes(env: Env) -> None:
    bot = env.app.bot
    photo = await bot.send_photo(101, photo=b"\x89PNG fake", filename="chart.png", caption="Week 3")
    document = await bot.send_document(101, document=b"a,b\n1,2\n", filename="export.csv")

    assert photo.photo[-1].file_id and photo.caption == "Week 3"
    assert document.document is not None and document.document.file_name == "export.csv"
    assert env.api.calls_to("sendPhoto")[0].files == {"photo": ("chart.png", b"\x89PNG fake")}
    assert env.api.calls_to("sendDocument")[0].files["document"] == ("export.csv", b"a,b\n1,2\n")
    chat = env.api.chats[101]
    assert [(m.kind, m.text) for m in chat] == [("photo", "Week 3"), ("document", "")]
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_photo(101, photo="fake-photo-1", caption="c" * 1025)


async def test_message_ids_increase_per_chat(env: Env) -> None:
    bot = env.app.bot
    ids = [(await bot.send_message(chat, "hi")).message_id for chat in (101, 101, 202, -1001)]
    assert ids == [1, 2, 1, 1]
    group = await bot.send_message(-1001, "hello group")
    assert group.chat.type == "supergroup"


# --------------------------------------------------------------------------- failures


async def test_429_raises_retry_after(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    env.api.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
    )
    with pytest.raises(RetryAfter) as caught:
        await env.app.bot.send_message(101, "check-in")
    assert caught.value.retry_after == timedelta(seconds=7)
    await env.app.bot.send_message(101, "check-in")  # only the next call failed
    assert [call.failed for call in env.api.calls_to("sendMessage")] == [True, False]
    assert len(env.api.chats[101]) == 1
    env.api.assert_no_problems()


async def test_403_raises_forbidden_in_the_handler_path(env: Env) -> None:
    env.api.fail_next(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await env.tg.user(101).send("/start")


async def test_time_out_next_raises_timed_out(env: Env) -> None:
    env.api.time_out_next("sendMessage", times=2)
    for _ in range(2):
        with pytest.raises(TimedOut):
            await env.app.bot.send_message(101, "hi")
    await env.app.bot.send_message(101, "hi")
    assert [call.failed for call in env.api.calls_to("sendMessage")] == [True, True, False]


async def test_injecting_into_an_unknown_method_is_refused(env: Env) -> None:
    with pytest.raises(ValueError, match="not a Bot API method"):
        env.api.fail_next("sendMesage", error_code=500, description="oops")


# --------------------------------------------------------------------------- commands


async def test_commands_round_trip_per_language_and_scope(env: Env) -> None:
    bot = env.app.bot
    english = [BotCommand("checkin", "Weekly check-in"), BotCommand("help", "Help")]
    french = [BotCommand("checkin", "Bilan de la semaine"), BotCommand("help", "Aide")]
    coordinator = [BotCommand("dashboard", "Tableau de bord")]
    assert await bot.set_my_commands(english)
    assert await bot.set_my_commands(french, language_code="fr")
    assert await bot.set_my_commands(
        coordinator, scope=BotCommandScopeChat(9000), language_code="fr"
    )

    assert await bot.get_my_commands() == tuple(english)
    assert await bot.get_my_commands(language_code="fr") == tuple(french)
    assert await bot.get_my_commands(scope=BotCommandScopeChat(9000), language_code="fr") == tuple(
        coordinator
    )
    assert await bot.get_my_commands(scope=BotCommandScopeChat(9000)) == ()
    assert env.api.commands_for(BotCommandScopeDefault(), "fr")[0]["description"] == (
        "Bilan de la semaine"
    )
    assert await bot.delete_my_commands(language_code="fr")
    assert await bot.get_my_commands(language_code="fr") == ()
    env.api.assert_no_problems()


async def test_invalid_commands_are_refused(env: Env) -> None:
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await env.app.bot.set_my_commands([BotCommand("Check-In", "x")])
    with pytest.raises(BadRequest, match=r"(?i)invalid language_code"):
        await env.app.bot.set_my_commands([BotCommand("help", "x")], language_code="fr-CA")


async def test_other_known_methods_answer_plausibly(env: Env) -> None:
    bot = env.app.bot
    assert await bot.send_chat_action(101, "typing")
    assert await bot.set_chat_menu_button()
    assert await bot.set_webhook("https://tandem.example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://tandem.example.org/hook"
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()
    assert (await bot.get_me()).username == "tandem_test_bot"
    env.api.assert_no_problems()

"""Weekly check-ins: answering them by taps (and a typed note), reminders, snooze, edits
from the summary, and /checkin, /skip, /pause and /resume.

The dispatcher (bot/dispatch.py) creates the `Prompt` rows and sends the first message with
`render_prompt`; everything after that happens here. Where a participant is comes from
what is stored: their open prompt (sent, its period not closed) and its first unanswered
question. Each answer is written in the transaction that reads the prompt, and messages go
out after it commits. `user_data` only caches which message asked what (to tidy it up
once answered) and what a typed message answers while an answer is being changed or a
pause date is awaited; losing it costs a re-tap, never an answer.

Callback data: ``ci:<prompt id>:<question key>:<option>`` for answers (see
conversations/engine.py) and ``ci:<prompt id>:_<control>:<argument>`` for the controls
below; ``pause:<choice>`` for /pause's buttons.

The sub-flows: `asking` (the reminder, /checkin, typed answers), `taps` (every ``ci:``
button), `pause` (snooze, /skip, /pause, /resume) and `summary` (changing an answer);
what they share is in `common`, and asking a question or storing an answer is
conversations/kit/prompt.py, shared with reflections.

```mermaid
stateDiagram-v2
    [*] --> Asking: the dispatcher sends render_prompt / /checkin
    Asking --> Asking: an answer tapped or typed (next question)
    Asking --> Snoozed: ⏰ In 3 hours / Tomorrow
    Snoozed --> Asking: the reminder's Continue
    Asking --> Answered: the last question answered
    Answered --> Editing: ✏️ Edit an answer
    Editing --> Answered: the new answer / ← Back
    Asking --> Skipped: /skip (then an optional reason)
    Skipped --> Asking: /checkin
    Asking --> Paused: /pause (a button or a typed date)
    Paused --> [*]: /resume, or the pause ends
    Answered --> [*]: the week closes
    Asking --> [*]: the week closes (missed)
```
"""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations import engine
from conversations.checkin.asking import checkin_command, render_reminder, take_text
from conversations.checkin.pause import (
    PAUSE_PREFIX,
    on_pause_choice,
    parse_day,
    pause_command,
    pause_end,
    resume_command,
    skip_command,
)
from conversations.checkin.taps import on_tap
from conversations.kit.prompt import render_prompt, render_prompts

# What bot/app.py, the dispatcher (the prompt renderer) and onboarding's catch-all use.
__all__ = [
    "handlers",
    "parse_day",
    "pause_end",
    "render_prompt",
    "render_prompts",
    "render_reminder",
    "take_text",
]


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before onboarding: its catch-all would take these otherwise. Typed
    answers come through onboarding's catch-all, which calls `take_text`."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("checkin", checkin_command, private),
        CommandHandler("skip", skip_command, private),
        CommandHandler("pause", pause_command, private),
        CommandHandler("resume", resume_command, private),
        CallbackQueryHandler(on_tap, pattern=rf"^{engine.PREFIX}:"),
        CallbackQueryHandler(on_pause_choice, pattern=rf"^{PAUSE_PREFIX}:"),
    ]

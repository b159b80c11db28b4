"""Meeting logs in chat: `/log <one message>`, `/log` step by step, and `/logs`.

`/log 45m yesterday video: mock interview` is read by `conversations.kit.meeting_parse`. A
complete line is stored at once; otherwise the bot explains what it could not use (a future
date, a 13-hour meeting, words it did not understand) and asks for each missing piece in
turn. `/log` alone walks the whole `meeting_log` instrument (date, duration, mode, topics,
notes). Both are one walk through the engine: the quick log only walks the questions its
line left open, and an edit walks the questions of the one field being changed.

Until a log is complete its answers live in a draft in `user_data` (a cache: losing it
costs the person a new `/log`, never a stored log); the log is written in one transaction
once complete. Stored logs are the truth from then on: `/logs` lists the match's meetings
(both partners'), with the total time against what the program expects, and the author
may edit or delete a log for 7 days after logging it (deleting only marks it deleted).

Callback data: ``ml:<draft id>:<question key or _control>:<option>`` for a draft's
buttons — the engine's own format under this dialogue's prefix, so the engine renders and
reads them — and ``mlg:<action>:<log id>[:<field>]`` for a stored log's buttons. A draft's
buttons only work while that draft is the current one; a stored log's are re-checked
against the person pressing, the log's author and its age.

The sub-flows: `guided` (/log, the quick line or the guided walk, a draft's buttons and
typed answers), `walk` (walking a draft and storing the log), `draft` (the draft and how it
reads) and `logs` (/logs and a stored log's buttons); how a stored log reads is
conversations/kit/meeting_record.py, shared with the coordinators' timeline.

```mermaid
stateDiagram-v2
    [*] --> Quick: /log 45m yesterday video
    [*] --> Guided: /log
    Quick --> Stored: the line is complete
    Quick --> Asking: a piece is missing or unusable
    Guided --> WhichMatch: several matches
    WhichMatch --> Asking: a match tapped
    Guided --> Asking: one match
    Asking --> Asking: an answer tapped or typed
    Asking --> Confirming: every question answered
    Confirming --> Stored: Save
    Asking --> [*]: Cancel / "cancel"
    Stored --> Editing: ✏️ Edit (the author, 7 days)
    Editing --> Stored: the field answered again
    Stored --> [*]: ↩️ Undo / 🗑️ Delete
    [*] --> Listing: /logs
    Listing --> [*]
```
"""

from __future__ import annotations

from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from conversations.meeting_log.draft import LOG_PREFIX, PREFIX
from conversations.meeting_log.guided import log_command, on_draft_tap, take_text
from conversations.meeting_log.logs import logs_command, on_log_tap

# What bot/app.py and onboarding's catch-all use.
__all__ = ["handlers", "take_text"]


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register before the check-ins and onboarding (whose catch-all would take these).
    Typed answers come through onboarding's catch-all, which calls `take_text`."""
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("log", log_command, private),
        CommandHandler("logs", logs_command, private),
        CallbackQueryHandler(on_draft_tap, pattern=rf"^{PREFIX}:"),
        CallbackQueryHandler(on_log_tap, pattern=rf"^{LOG_PREFIX}:"),
    ]

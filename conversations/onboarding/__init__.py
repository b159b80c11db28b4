"""Joining a program: `/start <invite code>` → language → consent → profile → summary →
welcome.

```mermaid
stateDiagram-v2
    [*] --> Language: /start <code> (a usable invitation)
    [*] --> Profile: /start <code> from someone who already consented (another program or role)
    [*] --> [*]: /start without a code, a bad code, or any input while not joining
    Language --> Consent: onb:language:<code>
    Consent --> Profile: onb:consent:yes (person, membership, audit event)
    Consent --> [*]: onb:consent:no (nothing kept)
    Profile --> Profile: the next unanswered step
    Profile --> Summary: every step answered
    Summary --> Profile: onb:summary:<step> (change one answer)
    Summary --> [*]: onb:summary:done (the welcome, naming the partner if paired)
    Profile --> [*]: /cancel (answers so far are kept)
```

Its catch-all answers input no other dialogue took: while someone is not joining, a stray
message is first offered to the dialogues bot/app.py lists as `Services.text_takers`. Other
dialogues reach it only through `Services.joining` (conversations/kit/joining.py).

Where a participant is comes from what is stored: before consent, the invite code and
language in `user_data`; after it, the first unanswered profile step of their unfinished
membership. The conversation state is only a cache of that, so a restart or a lost state
resumes at the right question, and every answer is written in the transaction that reads
it.

The steps: `start_command` (/start and invitation codes), `answers` (every other input, /cancel);
what they share is in `common`.
"""

from __future__ import annotations

from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations.onboarding.answers import cancel, on_input
from conversations.onboarding.common import NAME, ONBOARDING, locate, reprompt
from conversations.onboarding.start_command import start

# What bot/app.py uses: the handlers, and the joining service (conversations/kit/joining.py)
# the other dialogues reach onboarding through.
__all__ = ["handlers", "locate", "on_input", "reprompt"]


def handlers() -> list[BaseHandler]:  # type: ignore[type-arg]
    """Register last in group 0: its catch-all entry answers input nothing else took."""
    private = filters.ChatType.PRIVATE
    catch_all = [
        MessageHandler(private & ~filters.COMMAND, on_input),
        CallbackQueryHandler(on_input),
        MessageHandler(private & filters.COMMAND, on_input),
    ]
    return [
        ConversationHandler(
            entry_points=[CommandHandler("start", start, private), *catch_all],
            states={
                ONBOARDING: [
                    CommandHandler("start", start, private),
                    CallbackQueryHandler(on_input),
                    MessageHandler(private & ~filters.COMMAND, on_input),
                ]
            },
            fallbacks=[CommandHandler("cancel", cancel), MessageHandler(filters.COMMAND, on_input)],
            name=NAME,
            persistent=True,
        )
    ]

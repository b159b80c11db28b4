"""The consent people give when they join, and its version: onboarding asks for it, and
the consent re-ask (conversations/consent.py) asks again those who agreed to an older
wording. Change the wording and the version together."""

from __future__ import annotations

from locales.translator import Translator

# 2026-11: the first wording. 2026-12: /mydata, /deleteme and how long data is kept.
CONSENT_VERSION = "2026-12"


def consent_text(tr: Translator) -> str:
    return tr.gettext(
        "<b>Before we start: what Tandem keeps</b>\n\n"
        "• Your profile (name, field, goals or what you offer), your time zone and "
        "check-in time.\n"
        "• Your check-in answers, meeting logs and reflections.\n\n"
        "<b>Who sees it:</b> your program's coordinators, to support your match and "
        "evaluate the program. Your match sees your name and profile, never your "
        "check-ins or reflections.\n\n"
        "<b>Your rights:</b> send /mydata at any time to see everything stored about you, "
        "and /deleteme to erase it and leave. Your program keeps your data until 24 months "
        "after its last match ends (unless it set another period), then it is "
        "anonymized.\n\n"
        "Do you agree?"
    )

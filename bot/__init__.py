"""The running application: settings, assembly, entry points, runtime services."""

import os

# Durations from python-telegram-bot (RetryAfter.retry_after) as timedeltas: the default of
# its next major version, opted into now. Without it PTB warns on every 429 it receives.
os.environ.setdefault("PTB_TIMEDELTA", "1")

"""Python's cyclic garbage collector, tuned for a bot that runs for weeks.

By default the collector runs each time 700 more container objects were allocated than
freed, and every tenth and hundredth run it walks older generations, up to everything
the process holds: the handlers, the catalogs, SQLAlchemy's compiled statements, the
loaded modules. A dispatcher tick builds and drops about forty ORM objects and a dozen
Telegram objects per prompt: at 10,000 prompts (PostgreSQL) the collector ran 713–787
times, five or six of them over the whole heap, for 0.65–0.69 s of the tick's 3.4–4.0 s
of CPU, and stopped everything for up to 87–105 ms at a time — a tap arriving then
waited that long. Tandem's objects are freed by reference counting; the collector is
only needed for the occasional reference cycle.

So once start-up is over, what it allocated is frozen (moved where collections no longer
look; it lives as long as the process anyway) and the youngest generation is collected
every 10,000 allocations instead of 700. The same tick then collected 9–14 times, for
0.01–0.03 s, the longest 4.6 ms (timed with `gc.callbacks` around `bench.dispatch`'s
`timed_tick`). Spacing collections further (50,000) saved no more and made the longest
pause 6.6–11.8 ms.
"""

from __future__ import annotations

import gc

YOUNG_COLLECTION_EVERY = 10_000


def settle_after_startup() -> None:
    """Collect what start-up left, freeze the rest and space out young collections.
    Called once the application is initialised (`bot.runner`), and by the benchmarks
    at the same point."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, oldest)

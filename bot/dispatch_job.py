"""The dispatcher as python-telegram-bot's one repeating job (`bot.dispatch` is the tick):
registered by bot/app.py, chained at once while a backlog lasts, and stopped before the
job queue waits for running jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.dispatch import Dispatcher
from bot.dispatch_hooks import AlertHook, BroadcastRenderer, ClosureHook, DigestHook, PromptRenderer
from bot.forget import forget_erased
from storage.clock import Clock
from storage.db import Database
from storage.erasure import Keeps

if TYPE_CHECKING:
    from telegram.ext import Application, CallbackContext

JOB_NAME = "dispatcher"
TICK_INTERVAL = 60  # seconds between ticks


def stop_dispatchers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Ask the dispatcher job's tick to end (the bot is stopping): call it before the
    job queue waits for running jobs."""
    job_queue = application.job_queue
    for job in job_queue.get_jobs_by_name(JOB_NAME) if job_queue is not None else ():
        if isinstance(job.data, Dispatcher):
            job.data.stop()


async def run_dispatcher(context: CallbackContext[Any, Any, Any, Any]) -> None:
    """The JobQueue callback: one tick of the dispatcher in the job's data. A tick whose
    budget ran out with messages still due is followed by the next one at once (not a
    minute later), so the rate limiter does not idle while a backlog lasts; the repeating
    job's own run does nothing while that chain is under way."""
    assert context.job is not None
    dispatcher: Dispatcher = context.job.data  # type: ignore[assignment]
    if dispatcher.running:
        return
    report = await dispatcher.tick()
    if report.backlog and not dispatcher.stopping and context.job_queue is not None:
        context.job_queue.run_once(run_dispatcher, 0, name=JOB_NAME, data=dispatcher)
    # People erased outside the process (the command line, the tick's own purge) who do
    # not write again: what the application still holds for them goes too.
    await forget_erased(context.application, dispatcher.database)


def schedule_dispatcher(
    application: Application[Any, Any, Any, Any, Any, Any],
    database: Database,
    clock: Clock,
    renderer: PromptRenderer,
    *,
    alerts: AlertHook | None = None,
    digests: DigestHook | None = None,
    broadcasts: BroadcastRenderer | None = None,
    closures: ClosureHook | None = None,
    erasure_keeps: Keeps | None = None,
    interval: float = TICK_INTERVAL,
) -> Dispatcher:
    """Register the single repeating dispatcher job (no per-participant jobs), with what
    bot/app.py hands it: the prompt renderer, the coordinators' alerts and digests, the
    broadcasts' renderer, the certificates sent when a match closes, and what erasure
    keeps for the daily retention purge."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    dispatcher = Dispatcher(
        application.bot,
        database,
        renderer,
        clock,
        sweep_flags=True,
        alerts=alerts,
        digests=digests,
        broadcasts=broadcasts,
        closures=closures,
        erasure_keeps=erasure_keeps,
    )
    job_queue.run_repeating(
        run_dispatcher,
        interval=interval,
        first=1,
        name=JOB_NAME,
        data=dispatcher,
        # A tick that overruns delays the next one instead of running twice at once.
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    return dispatcher

"""`python -m bot` runs Tandem."""

from bot.runner import run_bot

run_bot()

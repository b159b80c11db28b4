"""One module per dialogue, each exporting the handlers it registers.

Dialogues use `storage` for data and `bot.i18n` / `bot.config` (leaf modules) for words
and settings; they reach the network only through the Telegram objects they are handed.
"""

"""One module per dialogue, each exporting the handlers it registers.

Dialogues use `storage` for data, `locales.translator` for words and the context
(`conversations.kit.context`) for settings and services; they reach the network only
through the Telegram objects they are handed.
"""

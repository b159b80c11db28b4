"""Gettext catalogs: messages.pot (extracted) and en/fr LC_MESSAGES/messages.po."""

"""Tandem's storage layer: tables, database setup, queries, persistence, migrations.

It imports neither `bot` nor `conversations`.
"""

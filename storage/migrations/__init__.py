"""Alembic migrations for Tandem's schema (`tandem db upgrade` applies them)."""

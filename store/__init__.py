"""Persistence: SQLAlchemy models, migrations and data-access functions."""

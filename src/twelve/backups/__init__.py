"""Backups of PostgreSQL and Redis add-ons: captured, verified by a restore, kept, restored."""

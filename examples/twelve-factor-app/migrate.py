"""V. Build, release, run / XII. Admin processes: the release phase runs this once per release.

Migrations are numbered and recorded, so running it again changes nothing; an advisory lock keeps
two releases from migrating at once.
"""

from __future__ import annotations

import psycopg
from settings import required

MIGRATIONS = [
    """
    CREATE TABLE users (
        email TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
    """
    CREATE TABLE notes (
        id BIGSERIAL PRIMARY KEY,
        email TEXT NOT NULL REFERENCES users(email),
        body TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )
    """,
]


def migrate(url: str) -> int:
    """Apply the migrations not applied yet; how many were applied."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(12)")
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY)")
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
        done = int(row[0]) if row else 0
        for version, statement in enumerate(MIGRATIONS[done:], start=done + 1):
            with conn.transaction():
                conn.execute(statement)  # type: ignore[arg-type]
                conn.execute("INSERT INTO schema_migrations VALUES (%s)", (version,))
            print(f"migrate: applied migration {version}", flush=True)
        conn.execute("SELECT pg_advisory_unlock(12)")
        return len(MIGRATIONS) - done


if __name__ == "__main__":
    applied = migrate(required("DATABASE_URL"))
    print(f"migrate: schema up to date ({applied} applied now)", flush=True)

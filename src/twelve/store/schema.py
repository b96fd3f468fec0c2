"""Schema migrations, applied in order; ``PRAGMA user_version`` records how far a file has come."""

from __future__ import annotations

MIGRATIONS: list[str] = [
    """
    CREATE TABLE apps (
        name TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        counter INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE builds (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        commit_sha TEXT,
        builder TEXT,
        slug_dir TEXT,
        procfile TEXT NOT NULL DEFAULT '{}',
        runtime TEXT NOT NULL DEFAULT '{}',
        created_at REAL NOT NULL,
        finished_at REAL
    );
    CREATE TABLE releases (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        version INTEGER NOT NULL,
        build_id INTEGER REFERENCES builds(id),
        config TEXT NOT NULL,
        procfile TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (app, version)
    );
    CREATE TABLE config (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (app, key)
    );
    CREATE TABLE formation (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        type TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        PRIMARY KEY (app, type)
    );
    CREATE TABLE processes (
        app TEXT NOT NULL,
        name TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pgid INTEGER NOT NULL,
        start_ticks INTEGER NOT NULL,
        port INTEGER,
        release INTEGER NOT NULL,
        scratch_dir TEXT,
        PRIMARY KEY (app, name, pid)
    );
    CREATE TABLE domains (
        hostname TEXT PRIMARY KEY,
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE
    );
    CREATE TABLE drains (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        url TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (app, url)
    );
    """,
    # Add-ons: one row per add-on ever made. A destroyed one stays as a tombstone so rollback can
    # tell which variables add-ons managed; ``url`` holds the credential, as config does.
    """
    CREATE TABLE addons (
        name TEXT PRIMARY KEY,
        app TEXT NOT NULL,
        service TEXT NOT NULL,
        provider TEXT NOT NULL,
        server TEXT NOT NULL,
        config_var TEXT NOT NULL,
        attached INTEGER NOT NULL,
        url TEXT NOT NULL,
        resource TEXT NOT NULL,
        created_at REAL NOT NULL,
        destroyed_at REAL
    );
    CREATE INDEX addons_app ON addons (app);
    """,
    # Resource limits per process type (ps:limits): bytes of memory, fractions of a core.
    """
    CREATE TABLE limits (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        type TEXT NOT NULL,
        memory INTEGER,
        cpu REAL,
        PRIMARY KEY (app, type)
    );
    """,
]

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
    # Users, their hashed tokens and one-time invitations, per-app roles, and the audit trail
    # (hash-chained; store/auditlog.py adds the triggers that refuse to change a written entry).
    """
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        is_admin INTEGER NOT NULL,
        created_at REAL NOT NULL,
        created_by TEXT NOT NULL
    );
    CREATE TABLE invitations (
        code_hash TEXT PRIMARY KEY,
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        expires_at REAL NOT NULL,
        used_at REAL
    );
    CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        description TEXT NOT NULL,
        scope TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL,
        revoked_at REAL
    );
    CREATE TABLE app_access (
        app TEXT NOT NULL,
        user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
        role TEXT NOT NULL,
        PRIMARY KEY (app, user)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        address TEXT NOT NULL,
        app TEXT,
        action TEXT NOT NULL,
        details TEXT NOT NULL,
        result TEXT NOT NULL,
        release INTEGER,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_app ON audit (app, seq);
    """,
    # Backups of add-ons (b001, b002, ... per app) and their daily schedules. A deleted backup
    # stays as a row so its number is never given again.
    """
    CREATE TABLE backups (
        app TEXT NOT NULL,
        number INTEGER NOT NULL,
        addon TEXT NOT NULL,
        service TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        server_version TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL DEFAULT 0,
        stored_size INTEGER NOT NULL DEFAULT 0,
        checksum TEXT NOT NULL DEFAULT '',
        scheduled INTEGER NOT NULL,
        started_at REAL NOT NULL,
        finished_at REAL,
        verified_at REAL,
        details TEXT NOT NULL DEFAULT '{}',
        deleted_at REAL,
        PRIMARY KEY (app, number)
    );
    CREATE TABLE backup_schedules (
        addon TEXT PRIMARY KEY,
        app TEXT NOT NULL,
        hour INTEGER NOT NULL,
        minute INTEGER NOT NULL,
        zone TEXT NOT NULL,
        daily INTEGER NOT NULL,
        weekly INTEGER NOT NULL,
        since REAL NOT NULL
    );
    """,
    # The scheduler (twelve.cron): each tick of a job is claimed here before its run starts,
    # once (UNIQUE), so no restart or deploy runs it twice; manual runs have no tick.
    """
    CREATE TABLE cron_jobs (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        job TEXT NOT NULL,
        since REAL NOT NULL,
        PRIMARY KEY (app, job)
    );
    CREATE TABLE cron_runs (
        id INTEGER PRIMARY KEY,
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        job TEXT NOT NULL,
        tick REAL,
        state TEXT NOT NULL,
        command TEXT NOT NULL,
        release INTEGER NOT NULL,
        process TEXT,
        claimed_at REAL NOT NULL,
        started_at REAL,
        ended_at REAL,
        exit_code INTEGER,
        note TEXT,
        UNIQUE (app, job, tick)
    );
    CREATE INDEX cron_runs_app ON cron_runs (app, id);
    """,
    # Metrics: one row per app, process type, resolution (10 or 60 seconds) and interval start;
    # ``data`` is a metrics.point.Point as JSON. Old rows are pruned as new ones come.
    # Webhooks, each event's delivery to each (its retries on the row), and alert thresholds.
    # IF NOT EXISTS: a state file made while this came after a different migration has them.
    """
    CREATE TABLE IF NOT EXISTS metrics (
        app TEXT NOT NULL,
        type TEXT NOT NULL,
        resolution INTEGER NOT NULL,
        at INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (app, type, resolution, at)
    );
    CREATE INDEX IF NOT EXISTS metrics_age ON metrics (resolution, at);
    CREATE TABLE IF NOT EXISTS webhooks (
        id TEXT PRIMARY KEY,
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        url TEXT NOT NULL,
        include TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS webhook_deliveries (
        id TEXT PRIMARY KEY,
        webhook TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        app TEXT NOT NULL,
        event TEXT NOT NULL,
        resource TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        last_status INTEGER,
        last_error TEXT,
        created_at REAL NOT NULL,
        next_at REAL
    );
    CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_at);
    CREATE INDEX IF NOT EXISTS webhook_deliveries_app ON webhook_deliveries (app, created_at);
    CREATE TABLE IF NOT EXISTS alerts (
        app TEXT NOT NULL REFERENCES apps(name) ON DELETE CASCADE,
        metric TEXT NOT NULL,
        threshold REAL NOT NULL,
        PRIMARY KEY (app, metric)
    );
    """,
]

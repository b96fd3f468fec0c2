"""The scheduler: app.json ``cron`` entries run as one-offs (``scheduler.N``), once per tick."""

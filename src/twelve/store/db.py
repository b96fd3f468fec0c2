"""The store: the state file opened once, with one repository per aggregate over its connection.

Each repository is a small module of its own (releases in ``releases.py``, add-ons in
``addons.py``...); this object only builds them together so the platform holds one thing.
"""

from __future__ import annotations

from pathlib import Path

from twelve.store.addons import AddonStore
from twelve.store.alerts import AlertStore
from twelve.store.apps import AppStore
from twelve.store.auditlog import AuditLog
from twelve.store.backups import BackupStore
from twelve.store.builds import BuildStore
from twelve.store.config import ConfigStore
from twelve.store.cron import CronStore
from twelve.store.database import Database
from twelve.store.domains import DomainStore
from twelve.store.drains import DrainStore
from twelve.store.formation import FormationStore
from twelve.store.limits import LimitStore
from twelve.store.metrics import MetricStore
from twelve.store.processes import ProcessStore
from twelve.store.releases import ReleaseStore
from twelve.store.secrets import Cipher
from twelve.store.users import UserStore
from twelve.store.webhooks import WebhookStore


class Store:
    """Every repository of the state file at ``path``, sharing its one connection."""

    def __init__(self, path: Path, cipher: Cipher | None = None) -> None:
        self.db = db = Database(path, cipher)
        self.apps = AppStore(db)
        self.builds = BuildStore(db)
        self.config = ConfigStore(db)
        self.releases = ReleaseStore(db)
        self.formation = FormationStore(db)
        self.limits = LimitStore(db)
        self.processes = ProcessStore(db)
        self.domains = DomainStore(db)
        self.drains = DrainStore(db)
        self.addons = AddonStore(db)
        self.backups = BackupStore(db)
        self.cron = CronStore(db)
        self.users = UserStore(db)
        self.audit = AuditLog(db)
        self.webhooks = WebhookStore(db)
        self.metrics = MetricStore(db)
        self.alerts = AlertStore(db)

    def close(self) -> None:
        self.db.close()

"""III. Config: everything that varies between deploys comes from the environment, read here once.

There are no defaults for anything secret or deploy-specific: a missing variable stops the process
with a message naming it, instead of quietly talking to the wrong database.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass


def required(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"config: {name} is not set (twelve sets it when the add-on is attached)")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str
    smtp_url: str
    mail_from: str
    job_seconds: float
    lease_seconds: float
    dyno: str

    @classmethod
    def from_environ(cls, *, mail: bool = False) -> Settings:
        return cls(
            database_url=required("DATABASE_URL"),
            redis_url=required("REDIS_URL"),
            smtp_url=required("SMTP_URL") if mail else os.environ.get("SMTP_URL", ""),
            mail_from=os.environ.get("MAIL_FROM", "notes@example.com"),
            job_seconds=float(os.environ.get("WORKER_JOB_SECONDS", "0")),
            lease_seconds=float(os.environ.get("JOB_LEASE_SECONDS", "30")),
            dyno=os.environ.get("DYNO", "local"),
        )

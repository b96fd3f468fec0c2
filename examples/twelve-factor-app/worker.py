"""The worker process: takes jobs from the Redis queue and sends welcome mail through SMTP_URL.

VIII. Concurrency: scale it with `twelve ps:scale worker=N`; workers share the queue.
IX. Disposability: SIGTERM puts an unfinished job back and exits at once; a worker killed outright
leaves a lease that expires, and another worker puts that job back on the queue.
XI. Logs: one line per event on stdout, nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import time
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import jobs
from redis import Redis
from settings import Settings

stopping = False


def on_sigterm(_signum: int, _frame: object) -> None:
    # Only record it: the loop notices between steps and gives the job back.
    global stopping
    stopping = True


def send_welcome(settings: Settings, email: str, job_id: str) -> None:
    parts = urlsplit(settings.smtp_url)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = email
    message["Subject"] = "Welcome to notes"
    message["X-Job-Id"] = job_id
    message["X-Sent-By"] = f"{settings.dyno} pid {os.getpid()}"
    message.set_content(f"Hello {email}, your notes are waiting for you.\n")
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    default_port = 465 if parts.scheme == "smtps" else 25
    with smtp_class(parts.hostname or "127.0.0.1", parts.port or default_port, timeout=30) as smtp:
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


def work(settings: Settings, redis: Redis, job: dict[str, Any]) -> bool:
    """Do one job; False when SIGTERM came first (the job then goes back on the queue)."""
    deadline = time.monotonic() + settings.job_seconds
    while time.monotonic() < deadline:  # stands for slow work, in steps that notice SIGTERM
        if stopping:
            return False
        time.sleep(0.05)
    if stopping:
        return False
    if jobs.already_done(redis, job["id"]):
        print(f"job {job['id']} was done already; skipping", flush=True)
        return True
    if job["kind"] == "welcome":
        send_welcome(settings, job["email"], job["id"])
    jobs.mark_done(redis, job["id"])
    return True


def main() -> None:
    signal.signal(signal.SIGTERM, on_sigterm)
    settings = Settings.from_environ(mail=True)
    redis = Redis.from_url(settings.redis_url)
    holder = json.dumps({"dyno": settings.dyno, "pid": os.getpid()})
    print(f"worker {settings.dyno} waiting for jobs", flush=True)
    while not stopping:
        moved = jobs.requeue_expired(redis)
        if moved:
            print(f"put {moved} job(s) of a vanished worker back on the queue", flush=True)
        job = jobs.claim(redis, holder, settings.lease_seconds)
        if job is None:
            time.sleep(0.2)
            continue
        print(f"job {job['id']} ({job['kind']}) started", flush=True)
        if work(settings, redis, job):
            jobs.finish(redis, job["id"])
            print(f"job {job['id']} done", flush=True)
        else:
            jobs.give_back(redis, job["id"])
            print(f"job {job['id']} put back on the queue", flush=True)
    print("worker stopped", flush=True)


if __name__ == "__main__":
    main()

"""A small reliable job queue on Redis, shared by the web (producer) and the worker (consumer).

A worker takes a job by moving it into a lease (atomically, in one script) that names the worker
and a deadline. Finishing removes the lease; giving up (SIGTERM) puts the job back at once; a worker
that dies leaves its lease to expire, and any worker puts expired jobs back on the queue. A job
is marked done after its mail is sent, so a job reclaimed after that is not sent twice.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from redis import Redis

QUEUE = "jobs:queue"
LEASES = "jobs:leases"

# KEYS: queue, leases · ARGV: holder json prefix, deadline
_CLAIM = """
local job = redis.call('RPOP', KEYS[1])
if not job then return false end
local id = cjson.decode(job)['id']
redis.call('HSET', KEYS[2], id, cjson.encode({job = job, holder = ARGV[1], deadline = tonumber(ARGV[2])}))
return job
"""
# KEYS: queue, leases · ARGV: now
_REQUEUE_EXPIRED = """
local moved = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local lease = cjson.decode(all[i + 1])
  if lease['deadline'] < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[2], all[i])
    redis.call('RPUSH', KEYS[1], lease['job'])
    moved = moved + 1
  end
end
return moved
"""
# KEYS: queue, leases · ARGV: id
_GIVE_BACK = """
local lease = redis.call('HGET', KEYS[2], ARGV[1])
if not lease then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[1], cjson.decode(lease)['job'])
return 1
"""


def enqueue(redis: Redis, kind: str, **payload: Any) -> str:
    job_id = secrets.token_hex(8)
    redis.lpush(QUEUE, json.dumps({"id": job_id, "kind": kind, **payload}))
    return job_id


def claim(redis: Redis, holder: str, lease_seconds: float) -> dict[str, Any] | None:
    raw = redis.eval(_CLAIM, 2, QUEUE, LEASES, holder, time.time() + lease_seconds)
    return json.loads(raw) if raw else None


def requeue_expired(redis: Redis) -> int:
    return int(redis.eval(_REQUEUE_EXPIRED, 2, QUEUE, LEASES, time.time()))


def give_back(redis: Redis, job_id: str) -> None:
    redis.eval(_GIVE_BACK, 2, QUEUE, LEASES, job_id)


def finish(redis: Redis, job_id: str) -> None:
    redis.hdel(LEASES, job_id)


def already_done(redis: Redis, job_id: str) -> bool:
    return bool(redis.exists(f"jobs:done:{job_id}"))


def mark_done(redis: Redis, job_id: str) -> None:
    """Record that the job's effect happened (kept a week: reclaimed copies are skipped)."""
    redis.set(f"jobs:done:{job_id}", "1", ex=7 * 86400)

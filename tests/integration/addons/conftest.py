"""The machine's PostgreSQL (127.0.0.1:5432, user postgres, trust) and Redis (127.0.0.1:6379)."""

from __future__ import annotations

import socket

import pytest

from support import POSTGRES_ADMIN, REDIS_ADMIN, listening, requires_service


@pytest.fixture
def down_port() -> int:
    """A port with nothing listening on it (a server that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def postgres_admin() -> str:
    requires_service("PostgreSQL on 127.0.0.1:5432", listening(5432))
    return POSTGRES_ADMIN


@pytest.fixture
def redis_admin() -> str:
    requires_service("Redis on 127.0.0.1:6379", listening(6379))
    return REDIS_ADMIN

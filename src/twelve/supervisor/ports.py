"""Ports for web processes: free ones from the kernel, never one an earlier process may still hold."""

from __future__ import annotations

import socket


class PortPool:
    """Hands out ports and remembers which are held until their process group is gone."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._held: set[int] = set()

    def allocate(self) -> int:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((self.host, 0))
                port = int(sock.getsockname()[1])
            if port not in self._held:
                self._held.add(port)
                return port
        raise RuntimeError("no free port found")  # pragma: no cover - the kernel ran out

    def hold(self, port: int) -> None:
        """Mark a port as taken (a process from an earlier daemon life may have it)."""
        self._held.add(port)

    def release(self, port: int | None) -> None:
        if port is not None:
            self._held.discard(port)

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

"""Plain values that several layers share. Imports nothing of twelve, so anything may import it.

The store keeps them, the supervisor acts on them, the API shows them: defined here, none of
those modules has to import another for a type.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """A process type's memory and CPU limits (``ps:limits``); None is no limit."""

    memory: int | None = None  # bytes
    cpu: float | None = None  # cores

    def describe(self) -> str:
        parts = []
        if self.memory is not None:
            parts.append(f"memory={self.memory // (1 << 20)}M")
        if self.cpu is not None:
            parts.append(f"cpu={self.cpu:g}")
        return " ".join(parts) or "none"


NO_LIMITS = Limits()


@dataclass(frozen=True)
class Backend:
    """A healthy web process of an app's live release: what the route table sends requests to."""

    dyno: str
    port: int

"""Latency histograms with the router's fixed buckets: added together, read as percentiles. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from twelve.router.metrics import BOUNDS, BUCKETS


def empty() -> list[int]:
    return [0] * BUCKETS


def add(into: list[int], counts: Sequence[int]) -> None:
    """Add ``counts`` (a histogram with the same buckets) into ``into``; a wrong length is ignored."""
    if len(counts) != BUCKETS:
        return
    for index, count in enumerate(counts):
        into[index] += int(count)


def sparse(counts: Sequence[int]) -> dict[str, int]:
    """The buckets that counted anything, by index: how the store keeps a histogram (most of a
    quiet app's 24 buckets are empty)."""
    return {str(index): count for index, count in enumerate(counts) if count}


def dense(stored: object) -> list[int]:
    """A histogram from its stored form (``sparse``'s, or a whole list); a bucket out of range,
    or anything else, is left out."""
    counts = empty()
    if isinstance(stored, list):
        add(counts, stored)
    elif isinstance(stored, dict):
        for key, value in stored.items():
            if str(key).isdigit() and int(key) < BUCKETS:
                counts[int(key)] += int(value)
    return counts


def percentile(counts: Sequence[int], fraction: float) -> float | None:
    """The duration (seconds) below which ``fraction`` of the counted requests fell, or None for
    none counted.

    Read as Prometheus' ``histogram_quantile`` does: the bucket holding that rank, and a straight
    line between its bounds, so the answer is always within the bucket of the true value. The
    slowest bucket has no upper bound; its lower one stands for it.
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low = BOUNDS[index - 1] if index > 0 else 0.0
            if index >= len(BOUNDS):
                return low
            return low + (BOUNDS[index] - low) * ((rank - seen) / count)
        seen += count
    return BOUNDS[-1]

"""Just enough of npm's semver ranges to compare ``engines.node`` with the machine's node. Pure.

Handles what package.json files use in practice: ``18``, ``18.x``, ``>=16``, ``^18.2.0``, ``~18.1``,
``>=14 <19``, ``16 || 18`` and ``*``. Anything else is reported as not understood, never as a match.
"""

from __future__ import annotations

import re

Version = tuple[int, int, int]
_PART = re.compile(r"^(\^|~|>=|<=|>|<|=)?v?(\d+|x|\*)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$")


def parse_version(text: str) -> Version:
    numbers = [int(p) for p in re.findall(r"\d+", text)[:3]]
    while len(numbers) < 3:
        numbers.append(0)
    return numbers[0], numbers[1], numbers[2]


def _comparator(op: str, parts: list[str | None], version: Version) -> bool:
    given = [p for p in parts if p not in (None, "x", "*")]
    nums = [int(p) for p in given if p is not None]
    low: Version = (*nums, *([0] * (3 - len(nums))))  # type: ignore[assignment]
    if op in ("", "="):
        return version[: len(nums)] == tuple(nums)
    if op == ">=":
        return version >= low
    if op == ">":
        return version > low if len(nums) == 3 else version[: len(nums)] > tuple(nums)
    if op == "<":
        return version < low
    if op == "<=":
        return version <= low if len(nums) == 3 else version[: len(nums)] <= tuple(nums)
    if op == "^":
        if not nums:
            return True
        first_nonzero = next((i for i, n in enumerate(nums) if n), len(nums) - 1)
        return version >= low and version[: first_nonzero + 1] == low[: first_nonzero + 1]
    if op == "~":
        keep = 2 if len(nums) >= 2 else 1
        return version >= low and version[:keep] == low[:keep]
    return False


def satisfies(version: Version, spec: str) -> bool | None:
    """Whether ``version`` is in the range ``spec``; None when the range is not understood."""
    for alternative in spec.split("||"):
        tokens = alternative.replace(">= ", ">=").replace("<= ", "<=").split()
        if not tokens or tokens == ["*"]:
            return True
        results = []
        for token in tokens:
            match = _PART.fullmatch(token)
            if not match:
                return None
            op, *parts = match.groups()
            results.append(_comparator(op or "", parts, version))
        if all(results):
            return True
    return False

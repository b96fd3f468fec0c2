"""What a check reports: severities, the twelve factors, and one finding with its evidence."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import IntEnum

from twelve.errors import TwelveError, UsageError


class Severity(IntEnum):
    """How much a finding matters; ``--fail-on`` compares against this order."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str, where: str = "severity") -> Severity:
        """Read ``info|low|medium|high|critical``; a one-line UsageError otherwise."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = "|".join(s.label for s in cls)
            raise UsageError(f"{where}: unknown severity {text!r}", f"use one of {names}") from None


FACTORS: dict[int, str] = {
    1: "Codebase",
    2: "Dependencies",
    3: "Config",
    4: "Backing services",
    5: "Build, release, run",
    6: "Processes",
    7: "Port binding",
    8: "Concurrency",
    9: "Disposability",
    10: "Dev/prod parity",
    11: "Logs",
    12: "Admin processes",
}

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def factor_title(number: int) -> str:
    """``III. Config`` for 3; ``0`` is the checker's own findings (suppressions)."""
    if number == 0:
        return "Check itself"
    return f"{_ROMAN[number - 1]}. {FACTORS[number]}"


_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Finding:
    """One place in the repository that breaks a factor.

    ``line`` is 1-based (0 for a finding about a whole file); ``snippet`` is the source line with any
    secret masked; ``secret_hash`` is the SHA-256 of the secret, so a baseline never stores it.
    """

    rule: str
    severity: Severity
    confidence: str
    path: str
    line: int
    message: str
    column: int = 1
    snippet: str = ""
    secret_hash: str | None = None
    factor: int = 0

    @property
    def fingerprint(self) -> str:
        """Stable across line moves: rule, path and the whitespace-normalised snippet."""
        snippet = _SPACE.sub(" ", self.snippet).strip()
        key = "\0".join((self.rule, self.path, snippet, self.secret_hash or ""))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity.label,
            "confidence": self.confidence,
            "factor": self.factor,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
            "snippet": self.snippet,
            "fingerprint": self.fingerprint,
        }


def secret_digest(secret: str) -> str:
    """The hash a baseline keeps instead of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mask(line: str, secret: str) -> str:
    """The line with the secret replaced, keeping a hint of its length."""
    if not secret or secret not in line:
        return line
    return line.replace(secret, "*" * min(len(secret), 8))


class ScanError(TwelveError):
    """The scan could not complete; never reported as findings (exit 3)."""

    code = "scan_failed"

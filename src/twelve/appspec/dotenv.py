"""``.env`` parsing as Foreman and python-dotenv read it, with line numbers in errors."""

from __future__ import annotations

import re

from twelve.appspec.names import validate_config_key
from twelve.errors import SpecError, UsageError

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}
_ASSIGN = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$", re.DOTALL)


def _lines(text: str) -> list[str]:
    """Lines split at newlines only (``str.splitlines`` also splits at \x85 and \u2028)."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    return lines[:-1] if lines and lines[-1] == "" else lines


def _unescape_double(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in _ESCAPES:
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse_dotenv(text: str, filename: str = ".env") -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines.

    Supports ``export`` prefixes, ``#`` comments, single quotes (literal), double quotes (with
    ``\\n``-style escapes, spanning lines) and unquoted values with trailing `` # comments``.
    """
    result: dict[str, str] = {}
    lines = _lines(text)
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        match = _ASSIGN.match(line)
        if not match:
            raise SpecError(f"{filename}:{number}: expected KEY=VALUE, got {line[:60]!r}")
        key, rest = match.group(1), match.group(2)
        try:
            validate_config_key(key)
        except UsageError as exc:
            raise SpecError(f"{filename}:{number}: {exc.message}", exc.hint) from None
        if rest[:1] in {"'", '"'}:
            quote = rest[0]
            body = rest[1:]
            # A double-quoted value may continue on the following lines.
            while not _closes(body, quote) and quote == '"' and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            end = _closing_index(body, quote)
            if end < 0:
                raise SpecError(f"{filename}:{number}: {key} has an unterminated {quote} quote")
            tail = body[end + 1 :].strip()
            if tail and not tail.startswith("#"):
                raise SpecError(f"{filename}:{number}: unexpected text after the quoted value")
            raw = body[:end]
            value = _unescape_double(raw) if quote == '"' else raw
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
        if "\x00" in value:  # no process environment can hold one
            raise SpecError(f"{filename}:{number}: {key} holds a NUL character")
        result[key] = value
    return result


def _closing_index(body: str, quote: str) -> int:
    i = 0
    while i < len(body):
        if quote == '"' and body[i] == "\\":
            i += 2
            continue
        if body[i] == quote:
            return i
        i += 1
    return -1


def _closes(body: str, quote: str) -> bool:
    return _closing_index(body, quote) >= 0


def format_dotenv(config: dict[str, str]) -> str:
    """Render config as a ``.env`` file that ``parse_dotenv`` reads back to the same values."""
    lines = []
    for key in sorted(config):
        value = config[key]
        if re.fullmatch(r"[A-Za-z0-9_./:@%+,=-]*", value):
            lines.append(f"{key}={value}")
        else:
            escaped = (
                value.replace("\\", "\\\\")
                .replace('"', '\\"')
                .replace("\n", "\\n")
                .replace("\r", "\\r")
                .replace("$", "\\$")
            )
            lines.append(f'{key}="{escaped}"')
    return "".join(line + "\n" for line in lines)


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """Parse command-line ``KEY=VALUE`` arguments (``config:set``)."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"{pair!r} is not KEY=VALUE", "write it as KEY=VALUE, e.g. DEBUG=0")
        result[validate_config_key(key)] = value
    return result

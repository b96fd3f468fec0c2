"""Is a name secret-like, is a value a plausible secret, and is it only a placeholder (pure)."""

from __future__ import annotations

import math
import re
from collections import Counter

_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_WORDS = frozenset(
    {"secret", "password", "passwd", "passphrase", "pwd", "credentials", "apikey", "secretkey"}
)
_KEY_QUALIFIERS = frozenset(
    {
        "secret",
        "api",
        "private",
        "access",
        "signing",
        "auth",
        "encryption",
        "master",
        "client",
        "app",
        "jwt",
    }
)
# A last word that makes the name about a secret rather than the secret itself.
_NOT_SECRET_TAILS = frozenset(
    {
        "url",
        "uri",
        "path",
        "file",
        "dir",
        "name",
        "field",
        "id",
        "length",
        "len",
        "header",
        "prefix",
        "env",
        "var",
        "min",
        "max",
        "count",
        "hashers",
        "validators",
        "timeout",
        "age",
        "expiry",
        "type",
        "types",
        "policy",
        "required",
        "label",
        "hint",
        "enabled",
        "mode",
        "format",
        "pattern",
        "regex",
        "algorithm",
        "param",
        "endpoint",
        "host",
        "key_name",
        "backend",
        "class",
        "reset",
        "hash",
        "placeholder",
        "template",
        "input",
        "form",
        "view",
        "message",
        "error",
        "help",
        "text",
    }
)
_PLACEHOLDER_PARTS = (
    "changeme",
    "change-me",
    "change_me",
    "changethis",
    "replace",
    "your-",
    "your_",
    "yourkey",
    "xxx",
    "placeholder",
    "example",
    "dummy",
    "todo",
    "fixme",
    "notasecret",
    "not-a-secret",
    "sample",
    "fake",
    "test",
    "secret",
    "password",
    "default",
    "insert",
    "<",
    "...",
    "****",
)
# Well-known token shapes that are secrets whatever they are bound to.
KNOWN_TOKENS = (
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a Stripe live key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b")),
    # Test-mode keys still move test money and read the account's data; publishable pk_ keys are public.
    ("a Stripe test key", re.compile(r"\b[sr]k_test_[0-9A-Za-z]{24,}\b")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[0-9A-Za-z]{36,}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}\b")),
    ("a private key", re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA )?PRIVATE KEY-----")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
)
# The fixed part of each shape: one cheap pass tells whether any can be there (most strings hold none).
_TOKEN_MARKS = re.compile(r"A[KS]IA|k_live_|k_test_|gh[pousr]_|xox[abposr]-|-----BEGIN|AIza")
_NOT_VALUES = frozenset(
    {
        "true",
        "false",
        "yes",
        "no",
        "none",
        "null",
        "undefined",
        "required",
        "optional",
        "include",
        "omit",
        "same-origin",
    }
)
# A file name (an avatar image, a key file's path), a redaction marker, a validation rule.
_FILE_NAME = re.compile(
    r"\.(?:jpe?g|png|gif|svg|webp|ico|json|txt|html?|css|js|pem|crt|key)$", re.I
)
_NOT_SECRET_SHAPES = re.compile(r"^\[[^\]]*\]$|^%[\w.-]+%$|\brequired\||\|min:|\|max:")
# Character classes, groups and escapes: a pattern, not a secret.
_REGEX = re.compile(r"\[[^\]]+\][*+?{]|\(\?|\\[dswbDSWB]|\.\*|\.\+|^\^.*\$$")
_IDENTIFIER = re.compile(r"^[a-z_][a-z_.-]*$")
_NAMING_WORDS = frozenset({"secret", "password", "token", "key", "credentials"})
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_TEMPLATE = re.compile(r"\{\{|\{%|\$\{|%\(|^\{[a-z_0-9]*\}$|^\$[A-Z_]+$")


def words(name: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(name)]


def is_secret_name(name: str) -> bool:
    """``SECRET_KEY``, ``db_password``, ``apiKey``, ``authToken``.

    Not ``TOKEN_URL`` or ``PASSWORD_HASHERS``: the last word says what the value is.
    """
    parts = words(name)
    if not parts or parts[-1] in _NOT_SECRET_TAILS:
        return False
    if any(p in _SECRET_WORDS for p in parts):
        return True
    if parts[-1] in {"token", "apikey"}:
        return True
    return parts[-1] == "key" and len(parts) > 1 and parts[-2] in _KEY_QUALIFIERS


def plausible_secret(value: str, *, setting: bool = False) -> bool:
    """A literal that could be a secret: not empty, not a name, template, path or sentence.

    ``setting``: the value is bound to an upper-case setting (``EMAIL_HOST_PASSWORD``), where a
    single lower-case word is a password someone chose, not a label.
    """
    stripped = value.strip()
    if len(stripped) < 4 or any(ch.isspace() for ch in stripped) or not stripped.isascii():
        return False
    if _FILE_NAME.search(stripped) or _NOT_SECRET_SHAPES.search(stripped):
        return False
    if _ENV_NAME.match(stripped) or _TEMPLATE.search(stripped):
        return False
    lowered = stripped.lower()
    if lowered in _NOT_VALUES or not stripped.isprintable() or len(set(stripped)) <= 2:
        return False
    if _REGEX.search(stripped):
        return False
    # An elided value (``"eyJhbGciOi..."``) is a sample in documentation; no working secret has one.
    if "..." in stripped:
        return False
    # A lowercase word naming the secret (``"_password_reset_token"``) is a key, not a value.
    if _IDENTIFIER.match(stripped) and set(re.split(r"[_.-]", lowered)) & _NAMING_WORDS:
        return False
    # A single lowercase word ("members", "string") is a label, unless it is a known stand-in.
    if stripped.isalpha() and stripped.islower():
        return setting or any(part in lowered for part in _PLACEHOLDER_PARTS)
    return not stripped.startswith(("/", "./", "http://", "https://", "%s", "{"))


def names_itself(name: str, value: str) -> bool:
    """A constant whose value spells its own name (``RESET_PASSWORD = "resetPassword"``, an action type)."""
    name_words = words(name)
    return bool(name_words) and set(name_words) <= set(words(value))


_STAND_INS = re.compile(
    r"change.?(me|this)|replace|your[-_]|yourkey|xxx|placeholder|example|dummy|todo|fixme|<|\.\.\.",
    re.IGNORECASE,
)


def is_stand_in(value: str) -> bool:
    """A value written to be replaced (``changethis``, ``your-secret-key``, ``<token>``).

    Narrower than ``is_placeholder``: a weak real value such as ``supersecret123`` is not one.
    """
    return bool(_STAND_INS.search(value))


def is_placeholder(value: str) -> bool:
    """Obvious stand-ins (``changeme``, ``<your key>``, short or repetitive) rather than real secrets."""
    lowered = value.lower()
    if any(part in lowered for part in _PLACEHOLDER_PARTS):
        return not lowered.startswith("django-insecure-")
    return len(value) < 8 or entropy(value) < 2.5


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def known_token(value: str) -> str | None:
    """What kind of well-known credential ``value`` contains, if any."""
    if not _TOKEN_MARKS.search(value):
        return None
    for label, pattern in KNOWN_TOKENS:
        if pattern.search(value):
            return label
    return None

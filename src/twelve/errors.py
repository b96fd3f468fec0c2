"""The exception tree of twelve.

Every error a user can cause or meet is a ``TwelveError``. Each carries a one-line ``message`` and an
optional ``hint`` saying what to do; the CLI prints both on one line, the API maps each class to one
HTTP status and a stable ``code`` in ``api/errors.py``. Foreign exceptions (OSError, sqlite3, httpx)
are translated into these at the module that meets them.

    TwelveError
    ├── ConfigError          a TWELVE_* variable is malformed
    ├── UsageError           bad input from a user: a name, KEY=VALUE, a formation
    │   ├── TooLarge         a request body over the API's limit, refused while it is read (413)
    │   └── SpecError        a user-written file (Procfile, .env, app.json) is invalid, with file:line
    ├── NotFound             an app, release, process type or add-on does not exist
    ├── Conflict             the thing exists already, or the state forbids the change
    ├── AuthError            missing or wrong API token
    ├── Forbidden            the token is valid, but its user's role does not allow the request
    ├── BuildError           a build failed; the running release is untouched
    ├── ReleasePhaseError    the release phase failed; the running release is untouched
    ├── DeployError          new processes never became healthy; the old release keeps serving
    ├── ServiceError         a backing service (PostgreSQL, Redis) could not be reached or provisioned
    └── ServerUnavailable    the CLI cannot reach the twelve server
"""

from __future__ import annotations


class TwelveError(Exception):
    """Base of every error twelve reports to a user."""

    code = "error"

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(TwelveError):
    """A TWELVE_* environment variable has a value twelve cannot use."""

    code = "config_invalid"


class UsageError(TwelveError):
    """A user gave input twelve cannot accept."""

    code = "invalid_input"


class TooLarge(UsageError):
    """A request body is larger than the API takes; it is refused before it is read whole."""

    code = "too_large"


class SpecError(UsageError):
    """A user-written file is invalid; the message names the file, the line and the key."""

    code = "invalid_file"


class NotFound(TwelveError):
    """The named thing does not exist."""

    code = "not_found"


class Conflict(TwelveError):
    """The thing exists already, or its current state forbids the change."""

    code = "conflict"


class AuthError(TwelveError):
    """The API token is missing or wrong."""

    code = "unauthorized"


class Forbidden(TwelveError):
    """The caller is known, but their role on the app (or the token's scope) does not allow it."""

    code = "forbidden"


class BuildError(TwelveError):
    """A build failed. Nothing that runs was changed."""

    code = "build_failed"


class ReleasePhaseError(TwelveError):
    """The release phase exited non-zero or timed out. Nothing that runs was changed."""

    code = "release_phase_failed"


class DeployError(TwelveError):
    """New processes never became healthy. The previous release keeps serving."""

    code = "deploy_failed"


class ServiceError(TwelveError):
    """A backing service could not be reached or provisioned."""

    code = "service_error"


class ServerUnavailable(TwelveError):
    """The CLI could not reach the twelve server."""

    code = "server_unavailable"

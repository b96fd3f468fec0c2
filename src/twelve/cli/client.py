"""The CLI's HTTP client: finds the API and token, maps HTTP errors back to twelve's errors."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx

from twelve import errors
from twelve.cli.credentials import Login, resolve_api
from twelve.settings import Settings

_BY_CODE: dict[str, type[errors.TwelveError]] = {
    cls.code: cls
    for cls in (
        errors.NotFound,
        errors.Conflict,
        errors.UsageError,
        errors.SpecError,
        errors.AuthError,
        errors.Forbidden,
        errors.BuildError,
        errors.ReleasePhaseError,
        errors.DeployError,
        errors.ServiceError,
        errors.ConfigError,
    )
}
NOT_RUNNING_HINT = "start it with 'twelve server' (or set TWELVE_API_URL)"


def error_from_payload(payload: dict[str, Any]) -> errors.TwelveError:
    cls = _BY_CODE.get(str(payload.get("code")), errors.TwelveError)
    return cls(str(payload.get("message", "request failed")), payload.get("hint"))


class Client:
    """One API connection for one CLI invocation."""

    def __init__(self, settings: Settings, login: Login | None = None) -> None:
        url, token = resolve_api(
            settings.api_url,
            settings.api_token,
            login,
            settings.endpoints_path,
            settings.token_path,
        )
        if not url:
            raise errors.ServerUnavailable("the twelve server is not running", NOT_RUNNING_HINT)
        self.base_url = url.rstrip("/")
        self.token = token or ""
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=httpx.Timeout(30.0, read=None),
        )

    def close(self) -> None:
        self._http.close()

    def _check(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            payload = json.loads(response.read()).get("error", {})
        except ValueError:
            payload = {"message": f"HTTP {response.status_code} from {self.base_url}"}
        if response.status_code == 401:
            raise errors.AuthError(
                f"the API refused the token: {payload.get('message', 'unknown token')}",
                "log in with 'twelve login', or set TWELVE_API_TOKEN",
            )
        raise error_from_payload(payload)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request; the decoded JSON reply, or the matching TwelveError."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError:
            raise errors.ServerUnavailable(
                f"cannot reach the twelve server at {self.base_url}", NOT_RUNNING_HINT
            ) from None
        self._check(response)
        return response.json()

    @contextlib.contextmanager
    def download(self, path: str) -> Iterator[httpx.Response]:
        """A GET whose body is bytes to save; the response, checked, to read as it arrives."""
        with self._http.stream("GET", path) as response:
            self._check(response)
            yield response

    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Send a request whose reply is NDJSON; yield each event as it arrives."""
        try:
            with self._http.stream(method, path, **kwargs) as response:
                self._check(response)
                for line in response.iter_lines():
                    if line.strip():
                        yield json.loads(line)
        except httpx.TransportError:
            raise errors.ServerUnavailable(
                f"lost the connection to the twelve server at {self.base_url}", NOT_RUNNING_HINT
            ) from None


def _read_json(path: Any) -> dict[str, Any]:
    try:
        with open(path) as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}

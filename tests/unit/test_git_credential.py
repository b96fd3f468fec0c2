"""git's credential helper answers 'get' with the API token, and nothing else."""

import io
import json
from pathlib import Path

import pytest

from twelve import git_credential


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    monkeypatch.setattr("sys.stdin", io.StringIO("protocol=http\nhost=127.0.0.1:5000\n\n"))
    assert git_credential.main(["git_credential", *argv]) == 0
    return capsys.readouterr().out


def test_get_answers_with_the_token_the_cli_would_use(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    monkeypatch.setenv("TWELVE_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("TWELVE_API_TOKEN", raising=False)
    (home / "run" / "endpoints.json").write_text(json.dumps({"api_url": "http://127.0.0.1:1"}))
    (home / "api-token").write_text("server-token\n")
    assert run(monkeypatch, capsys, "get") == "username=twelve\npassword=server-token\n"
    monkeypatch.setenv("TWELVE_API_TOKEN", "from-env")
    assert run(monkeypatch, capsys, "get") == "username=twelve\npassword=from-env\n"
    assert run(monkeypatch, capsys, "store") == ""
    assert run(monkeypatch, capsys, "erase") == ""

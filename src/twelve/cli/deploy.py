"""``deploy``, ``releases``, ``rollback``."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import click

from twelve.cli import output
from twelve.cli.archive import looks_like_git_url, pack_directory
from twelve.cli.common import app_option, client, follow_operation, format_age, json_option
from twelve.errors import UsageError


@click.command("deploy")
@app_option
@click.argument("source", default=".")
@click.option("--ref", help="Branch, tag or commit to deploy (default: the working tree / HEAD).")
@json_option
def deploy(app: str, source: str, ref: str | None, as_json: bool) -> None:
    """Build SOURCE (a directory or a git URL) and release it."""
    api = client()
    if looks_like_git_url(source):
        events = api.stream("POST", f"/apps/{app}/deploys", json={"git_url": source, "ref": ref})
    else:
        archive = pack_directory(Path(source), ref)
        if not as_json:
            note = " (uncommitted changes included)" if archive.dirty else ""
            commit = archive.commit[:7] if archive.commit else "no commit"
            output.emit(f"-----> Uploading {archive.files} files at {commit}{note}")
        headers = {"Content-Type": "application/x-tar"}
        if archive.commit:
            headers["X-Twelve-Commit"] = archive.commit
        events = api.stream("POST", f"/apps/{app}/deploys", content=archive.data, headers=headers)
    done = follow_operation(events, echo=not as_json)
    if as_json:
        output.emit_json(done)


@click.command("releases")
@app_option
@json_option
def releases(app: str, as_json: bool) -> None:
    """List an app's releases, newest first."""
    data = client().request("GET", f"/apps/{app}/releases")
    headers = ("VERSION", "DESCRIPTION", "COMMIT", "CREATED", "BY")
    output.emit_rows(data, as_json, headers, partial(_release_row, now=time.time()))


def _release_row(r: dict[str, Any], now: float) -> tuple[str, ...]:
    return (
        f"v{r['version']}",
        r["description"],
        (r["commit"] or "")[:7],
        format_age(now - r["created_at"]) + " ago",
        r.get("by") or "",
    )


@click.command("rollback")
@app_option
@click.argument("version", required=False)
@json_option
def rollback(app: str, version: str | None, as_json: bool) -> None:
    """Make a new release with VERSION's build and config (default: the one before the current)."""
    body: dict[str, int] = {}
    if version is not None:
        text = version.lower().removeprefix("v")
        if not text.isdigit():
            raise UsageError(f"{version!r} is not a release", "for example: twelve rollback v3")
        body["version"] = int(text)
    data = client().request("POST", f"/apps/{app}/rollback", json=body)
    output.emit_answer(data, as_json, lambda d: _emit_rolled_back(app, d))


def _emit_rolled_back(app: str, release: dict[str, Any]) -> None:
    output.emit(f"Rolled back {app}: v{release['version']} ({release['description']})")
    if "release" in release.get("process_types", []):
        output.emit("The release command ran again, in the rolled-back release's environment.")
    if release.get("addons_notice"):
        output.emit(f"Note: {release['addons_notice']}")


commands = [deploy, releases, rollback]

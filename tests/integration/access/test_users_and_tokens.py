"""Invitations, tokens and the audit trail on a real store, with a clock the test moves."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from access_support import ADMIN_TOKEN, APP, Api, call, make_access_api
from twelve.logs.syslog_format import parse_frames


def invite(api: Api, name: str, admin: bool = False) -> str:
    made = call(api, "POST", "/users", ADMIN_TOKEN, json={"name": name, "admin": admin})
    assert made.status_code == 201, made.text
    return str(made.json()["invitation"])


def test_an_invitation_works_once_and_only_for_24_hours(fresh_api: Api) -> None:
    code = invite(fresh_api, "alice")
    fresh_api.clock.now += 24 * 3600 - 1
    first = call(fresh_api, "POST", "/auth/login", None, json={"invitation": code})
    assert first.status_code == 201 and first.json()["user"] == "alice"
    again = call(fresh_api, "POST", "/auth/login", None, json={"invitation": code})
    assert again.status_code == 401

    late = invite(fresh_api, "bob")
    fresh_api.clock.now += 24 * 3600
    expired = call(fresh_api, "POST", "/auth/login", None, json={"invitation": late})
    assert expired.status_code == 401
    assert "wrong, used or expired" in expired.json()["error"]["message"]


def test_tokens_are_stored_only_as_hashes(fresh_api: Api) -> None:
    code = invite(fresh_api, "alice")
    token = call(fresh_api, "POST", "/auth/login", None, json={"invitation": code}).json()["token"]
    made = call(fresh_api, "POST", "/auth/tokens", token, json={"description": "ci"}).json()
    store_path = fresh_api.app.state.platform.store.db.path
    raw = b"".join(p.read_bytes() for p in Path(store_path).parent.glob("twelve.db*"))
    for secret in (token, made["token"], code):
        assert secret.encode() not in raw


def test_an_expired_token_is_refused_on_the_next_request(fresh_api: Api) -> None:
    owner = fresh_api.token("owner")
    made = call(
        fresh_api, "POST", "/auth/tokens", owner, json={"description": "d", "expires_in": "1h"}
    )
    short = made.json()["token"]
    assert call(fresh_api, "GET", f"/apps/{APP}", short).status_code == 200
    fresh_api.clock.now += 3600
    refused = call(fresh_api, "GET", f"/apps/{APP}", short)
    assert refused.status_code == 401
    assert "has expired" in refused.json()["error"]["message"]


def test_a_read_token_may_read_but_not_mint_a_wider_token(fresh_api: Api) -> None:
    read = fresh_api.token("owner", "read")
    assert call(fresh_api, "GET", f"/apps/{APP}/config", read).json() == {}
    minted = call(fresh_api, "POST", "/auth/tokens", read, json={"description": "x"})
    assert minted.status_code == 403
    changed = call(fresh_api, "PATCH", f"/apps/{APP}/config", read, json={"K": "v"})
    assert changed.status_code == 403
    assert "read token acts as a viewer at most" in changed.json()["error"]["message"]


def test_the_platform_token_acts_as_the_platform_admin(fresh_api: Api) -> None:
    me = call(fresh_api, "GET", "/auth/whoami", ADMIN_TOKEN).json()
    assert me["user"] == "admin" and me["admin"] and me["scope"] == "write"


def test_a_destroyed_app_takes_its_roles_with_it(fresh_api: Api) -> None:
    owner = fresh_api.token("owner")
    gone = call(fresh_api, "DELETE", f"/apps/{APP}", owner, params={"confirm": APP})
    assert gone.status_code == 200, gone.text
    fresh_api.app.state.platform.store.apps.create(APP)
    assert call(fresh_api, "GET", f"/apps/{APP}", owner).status_code == 403


def test_an_edited_audit_row_is_named_by_verify(fresh_api: Api) -> None:
    owner = fresh_api.token("owner")
    for key in ("A", "B", "C"):
        call(fresh_api, "PATCH", f"/apps/{APP}/config", owner, json={key: "value-not-kept"})
    entries = call(fresh_api, "GET", f"/apps/{APP}/audit", owner).json()
    assert [e["details"]["set"] for e in entries] == [["A"], ["B"], ["C"]]
    assert "value-not-kept" not in str(entries)
    assert call(fresh_api, "GET", "/audit/verify", ADMIN_TOKEN).json()["intact"]
    with sqlite3.connect(fresh_api.app.state.platform.store.db.path) as db:
        try:
            db.execute("UPDATE audit SET result = 'ok' WHERE seq = 1")
            raise AssertionError("the audit trail took an UPDATE")
        except sqlite3.IntegrityError as refused:
            assert "append-only" in str(refused)
        db.execute("DROP TRIGGER audit_no_update")
        db.execute(
            "UPDATE audit SET details = ? WHERE seq = ?", ('{"set":["Z"]}', entries[1]["seq"])
        )
    report = call(fresh_api, "GET", "/audit/verify", ADMIN_TOKEN).json()
    assert report["intact"] is False and report["first_broken"] == entries[1]["seq"]


def test_audit_entries_reach_a_syslog_drain_as_they_are_written(tmp_path: Path) -> None:
    """TWELVE_AUDIT_DRAIN: each entry arrives as one RFC 5424 frame holding the entry's JSON."""

    async def scenario() -> list[bytes]:
        received: list[bytes] = []
        arrived = asyncio.Event()

        async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            buffer = b""
            while chunk := await reader.read(65536):
                frames, buffer = parse_frames(buffer + chunk)
                received.extend(frames)
                arrived.set()
            writer.close()

        server = await asyncio.start_server(receive, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        api = make_access_api(
            tmp_path / "home", TWELVE_AUDIT_DRAIN=f"syslog+tcp://127.0.0.1:{port}"
        )
        try:
            import httpx  # noqa: PLC0415

            transport = httpx.ASGITransport(app=api.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                headers = {"Authorization": f"Bearer {api.token('owner')}"}
                answer = await client.patch(
                    f"/apps/{APP}/config", json={"DRAINED": "secret-xyz"}, headers=headers
                )
                assert answer.status_code == 200
            await asyncio.wait_for(arrived.wait(), 10)
        finally:
            if api.app.state.guard.drain is not None:
                await api.app.state.guard.drain.stop()
            server.close()
            api.app.state.platform.store.close()
        return received

    frames = asyncio.run(scenario())
    text = b"".join(frames).decode()
    assert "twelve-audit" in text and '"action": "config"' in text and "DRAINED" in text
    assert "secret-xyz" not in text

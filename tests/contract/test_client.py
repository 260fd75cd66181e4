"""cmms_tui.client and cmms_tui.live against the real server: what the console relies on."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from cmms_tui.client import ApiClient
from cmms_tui.client_errors import ApiError, SessionExpired
from cmms_tui.live import Backoff, ConnState, LiveEvent, LiveEvents, Phase
from cmms_tui.session import SessionFile
from tests.tui.server import PASSWORD, TENANT, USERS, Server


async def client(server: Server, who: str = "technician", keeper: SessionFile | None = None) -> ApiClient:
    api = ApiClient(server.base, keeper=keeper)
    await api.login(TENANT, USERS[who][0], PASSWORD)
    return api


async def test_problem_documents_name_their_fields(server: Server) -> None:
    api = await client(server)
    try:
        with pytest.raises(ApiError) as caught:
            await api.create_order({"title": "", "priority": "urgent"})
        assert caught.value.status == 422
        assert set(caught.value.by_field()) >= {"title", "priority"}
    finally:
        await api.close()


async def test_concurrent_refreshes_spend_the_refresh_token_once(server: Server, tmp_path: Path) -> None:
    keeper = SessionFile(tmp_path)
    keeper.bind(server.base, TENANT, USERS["technician"][0])
    api = await client(server, keeper=keeper)
    try:
        stale = api.tokens.access_token
        await asyncio.gather(*(api.refresh(stale=stale) for _ in range(5)))
        assert keeper.load_refresh_token() == api.tokens.refresh_token
        assert (await api.me())["user"]["email"] == USERS["technician"][0]

        other = ApiClient(server.base, keeper=keeper)  # a second console of the same user
        other.tokens.refresh_token = "1.stale-token-from-an-old-file-xxxxxxxx"
        await other.refresh(force=False, stale="")  # adopts the file's newer token instead of the stale one
        assert (await other.me())["role"] == "technician"
        await other.close()
    finally:
        await api.close()


async def test_logout_revokes_the_refresh_token(server: Server) -> None:
    api = await client(server)
    token = api.tokens.refresh_token
    await api.logout()
    again = ApiClient(server.base)
    try:
        with pytest.raises(SessionExpired):
            await again.resume(token)
    finally:
        await again.close()
        await api.close()


async def test_replay_pages_deduplicates_and_reports_gone(server: Server) -> None:
    api = await client(server)
    manager = await client(server, "manager")
    events: list[LiveEvent] = []
    states: list[ConnState] = []
    reloads: list[int] = []
    try:
        start = await api.current_seq()
        titles = [f"replayed {i} {uuid.uuid4().hex[:4]}" for i in range(5)]
        for title in titles:
            await manager.create_order({"title": title})
        live = LiveEvents(
            api,
            on_event=events.append,
            on_state=states.append,
            on_reload=lambda: reloads.append(1),
            last_seq=start,
            backoff=Backoff(first=0.1, cap=0.5),
            page_size=2,  # several pages: next_cursor is followed
        )
        task = asyncio.create_task(live.run())
        for _ in range(100):
            if live.state.live:
                break
            await asyncio.sleep(0.05)
        created = [e.data["title"] for e in events if e.type == "order:created"]
        assert created == titles  # every one, once, in order
        assert all(e.replayed for e in events)
        assert [s.phase for s in states][:3] == [Phase.CONNECTING, Phase.SYNCING, Phase.CONNECTED]
        seqs = [e.seq for e in events if e.seq is not None]
        assert seqs == sorted(set(seqs))

        await manager.create_order({"title": "live one"})
        for _ in range(100):
            if any(e.data.get("title") == "live one" for e in events):
                break
            await asyncio.sleep(0.05)
        assert [e.replayed for e in events if e.data.get("title") == "live one"] == [False]

        server.sql("DELETE FROM outbox WHERE tenant_id = (SELECT id FROM tenants WHERE name = %s)", (TENANT,))
        with pytest.raises(ApiError) as gone:
            await api.events(after=start)
        assert gone.value.status == 410
        live.last_seq = start  # as if this console had been away since `start`
        assert live._sio is not None
        await live._sio.disconnect()  # the next connect replays from `start`: 410, so a reload
        for _ in range(100):
            if reloads and live.state.live:
                break
            await asyncio.sleep(0.05)
        assert reloads == [1]
        await live.stop()
        await task
        assert live.state.phase == Phase.OFFLINE
    finally:
        await api.close()
        await manager.close()

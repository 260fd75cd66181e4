"""People by name, not by id: the Orders table, the order detail (requester, assignee, note authors,
history actors), for staff and requesters alike, and colleagues added after login."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from textual.widgets import Static

from cmms_tui.app import CmmsApp
from tests.tui.server import PASSWORD, TENANT, USERS, Server, http
from tests.tui.support import SIZE, console_app, log_in, open_order, screen_text, view, wait_for


def user_id(server: Server, who: str) -> int:
    if who not in server.ids:
        server.login(who)
    return server.ids[who]


def handled_request(server: Server) -> dict[str, Any]:
    """Rita's request, approved by Max and assigned to Theo, with a note from each of them."""
    title = f"Leaking valve {uuid.uuid4().hex[:6]}"
    order = server.call("requester", "POST", "/api/v1/orders", {"title": title})
    server.call("manager", "POST", f"/api/v1/orders/{order['id']}/transition", {"to": "open"})
    server.call("manager", "PATCH", f"/api/v1/orders/{order['id']}", {"assignee_id": user_id(server, "technician2")})
    server.call("manager", "POST", f"/api/v1/orders/{order['id']}/notes", {"body": "Parts ordered"})
    server.call("technician2", "POST", f"/api/v1/orders/{order['id']}/notes", {"body": "Seal replaced"})
    return dict(server.call("manager", "GET", f"/api/v1/orders/{order['id']}"))


def row_line(app: CmmsApp, title: str) -> str:
    return next((line for line in screen_text(app).splitlines() if title[:30] in line), "")


def ids_shown(server: Server, text: str, *who: str) -> list[str]:
    return [f"#{user_id(server, w)}" for w in who if f"#{user_id(server, w)}" in text]


async def test_a_technician_reads_colleagues_and_the_requester_by_name(server: Server, tmp_path: Path) -> None:
    order = handled_request(server)
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await wait_for(pilot, lambda: order["id"] in view(app, "orders").table.models, what="the order row")
        await wait_for(pilot, lambda: "Theo Technic" in row_line(app, order["title"]), what="the assignee by name")

        screen = await open_order(pilot, app, order["id"])
        await wait_for(pilot, lambda: len(screen.notes) == 2 and screen.history, what="notes and history")
        facts = screen_text(app)
        assert "Requested by  Rita Requester" in facts and "Assignee      Theo Technician" in facts
        notes = str(screen.query_one("#notes", Static).render())
        assert "Max Manager" in notes and "Theo Technician" in notes
        history = str(screen.query_one("#history", Static).render())
        assert "Rita Requester  create" in history and "Max Manager  transition" in history
        assert "requested_by: Rita Requester" in history and "assignee_id: — → Theo Technician" in history
        assert ids_shown(server, f"{facts}\n{notes}\n{history}", "requester", "manager", "technician2") == []


async def test_a_requester_reads_who_handles_the_request(server: Server, tmp_path: Path) -> None:
    order = handled_request(server)
    app = console_app(server, tmp_path, "requester")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        await wait_for(pilot, lambda: "Theo Technic" in row_line(app, order["title"]), what="the assignee by name")
        screen = await open_order(pilot, app, order["id"])
        await wait_for(pilot, lambda: len(screen.notes) == 2 and screen.history, what="notes and history")
        notes = str(screen.query_one("#notes", Static).render())
        history = str(screen.query_one("#history", Static).render())
        assert "Max Manager" in notes and "Theo Technician" in notes
        assert "Max Manager" in history
        assert ids_shown(server, f"{notes}\n{history}", "manager", "technician2") == []
        assert app.directory is not None
        assert all("email" not in p for p in app.directory.users.values() if p["id"] != app.directory.my_id)


async def test_a_colleague_added_after_login_is_named_once_work_reaches_them(server: Server, tmp_path: Path) -> None:
    """Technicians receive no user events: an unknown id on an order makes the console look again."""
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        email = f"nina-{uuid.uuid4().hex[:6]}@tui.test"
        server.cli("user", "create", "--tenant", TENANT, "--email", email, "--role", "technician",
                   "--name", "Nina Newcomer", "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        status, login = http(
            "POST", server.base + "/api/v1/auth/login", {"tenant": TENANT, "email": email, "password": PASSWORD}
        )
        assert status == 200
        title = f"For Nina {uuid.uuid4().hex[:6]}"
        order = server.call("manager", "POST", "/api/v1/orders", {"title": title, "assignee_id": login["user"]["id"]})
        await wait_for(pilot, lambda: order["id"] in view(app, "orders").table.models, what="the new order")
        await wait_for(pilot, lambda: "Nina Newcomer" in row_line(app, title), what="the newcomer by name")
        assert f"#{login['user']['id']}" not in row_line(app, title)


async def test_a_supervisor_learns_new_colleagues_from_user_events(server: Server, tmp_path: Path) -> None:
    app = console_app(server, tmp_path, "manager")
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        email = f"nils-{uuid.uuid4().hex[:6]}@tui.test"
        server.cli("user", "create", "--tenant", TENANT, "--email", email, "--role", "technician",
                   "--name", "Nils Newcomer", "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        directory = app.directory
        assert directory is not None
        await wait_for(pilot, lambda: any(p["name"] == "Nils Newcomer" for p in directory.technicians()), what="Nils")
        assert USERS["manager"][1] not in {p["name"] for p in directory.technicians()}


def test_an_unknown_id_shows_as_hash_id_and_a_nameless_one_by_email() -> None:
    from cmms_tui.directory import Directory
    from cmms_tui.models import Me, Person

    me: Me = {
        "user": {"id": 1, "email": "me@x.test", "name": "Me", "role": "manager", "active": True},
        "tenant": {"id": 1, "name": "t"},
        "role": "manager",
    }
    directory = Directory(me)
    directory.users = {
        2: Person(id=2, name=None, role="technician", active=True, email="anon@x.test"),
        3: Person(id=3, name=None, role="requester", active=False),
        4: Person(id=4, name="Gone", role="technician", active=False),
    }
    assert directory.person_name(99) == "#99"
    assert directory.person_name(2) == "anon@x.test"
    assert directory.person_name(3) == "#3"  # no name, and no e-mail for this viewer
    assert directory.person(4).plain == "Gone" and directory.person(4).style == "dim"  # deactivated
    assert directory.person_name(1) == "me"
    assert directory.unknown([None, 2, 5, True, "7"]) == {5}
    assert [p["id"] for p in directory.technicians()] == [2]

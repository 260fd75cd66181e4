"""Files from the console against the real daemon: an order's and an asset's attachments listed
with size and who attached them, a download with its progress bar into the downloads folder, a
file attached from a typed path and one picked in the directory tree, and a removal seen live."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from textual.widgets import DirectoryTree, Input, ProgressBar

from cmms_tui.app import CmmsApp
from cmms_tui.screens.asset_detail import AssetDetailScreen
from cmms_tui.screens.attachments import AttachmentsScreen
from cmms_tui.widgets.file_picker import FilePicker
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, open_order, screen_text, wait_for


def attach_as(server: Server, who: str, parent: str, name: str, data: bytes) -> dict[str, Any]:
    """A multipart upload over the daemon's own port, as another user."""
    token = server.tokens.get(who) or server.login(who)
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'.encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(f"{server.base}/api/v1/{parent}/attachments", data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


async def open_files(pilot: Any, app: CmmsApp) -> AttachmentsScreen:
    await pilot.press("u")
    await wait_for(pilot, lambda: isinstance(app.screen, AttachmentsScreen), what="the files screen")
    screen = app.screen
    assert isinstance(screen, AttachmentsScreen)
    return screen


async def test_an_orders_files_are_listed_downloaded_and_attached(server: Server, tmp_path: Path) -> None:
    if "technician" not in server.ids:
        server.login("technician")
    me = server.ids["technician"]
    body = {"title": f"Seal {uuid.uuid4().hex[:5]}", "assignee_id": me}
    order = server.call("manager", "POST", "/api/v1/orders", body)
    manual = b"%PDF-1.7\n" + os.urandom(300_000)
    attach_as(server, "manager", f"orders/{order['id']}", "Pump manual.pdf", manual)
    app = console_app(server, tmp_path)
    app_downloads = tmp_path / "downloads"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.downloads = app_downloads
        await log_in(pilot)
        await open_order(pilot, app, order["id"])
        screen = await open_files(pilot, app)
        await wait_for(pilot, lambda: "Pump manual.pdf" in screen_text(app), what="the file's row")
        row = next(line for line in screen_text(app).splitlines() if "Pump manual.pdf" in line)
        assert "293.0 KiB" in row and "Max Manager" in row, row

        await pilot.press("d")
        await wait_for(pilot, lambda: screen.saved, 15, "the download")
        saved = next(iter(screen.saved.values()))
        assert saved.parent == app_downloads and saved.name == "Pump manual.pdf"
        assert hashlib.sha256(saved.read_bytes()).digest() == hashlib.sha256(manual).digest()
        bar = screen.query_one("#transfer", ProgressBar)
        assert bar.total == len(manual) and bar.progress == len(manual)

        photo = tmp_path / "photo of the seal.png"
        photo.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(50_000))
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), what="the file picker")
        app.screen.query_one("#picker-path", Input).value = str(photo)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.uploaded, 15, "the upload")
        assert (screen.uploaded[0]["name"], screen.uploaded[0]["content_type"]) == (photo.name, "image/png")
        await wait_for(pilot, lambda: photo.name in screen_text(app), what="the new row")
        listed = server.call("manager", "GET", f"/api/v1/orders/{order['id']}/attachments")["items"]
        assert {f["name"] for f in listed} == {"Pump manual.pdf", photo.name}

        server.call("manager", "DELETE", f"/api/v1/files/{screen.uploaded[0]['id']}")
        await wait_for(pilot, lambda: photo.name not in screen_text(app), what="the removal, live")


async def test_an_assets_file_is_picked_in_the_directory_tree(server: Server, tmp_path: Path) -> None:
    plant = server.call("manager", "POST", "/api/v1/plants", {"name": f"Plant {uuid.uuid4().hex[:5]}"})
    asset = server.call("manager", "POST", "/api/v1/assets", {"name": "Filler 7", "plant_id": plant["id"]})
    folder = tmp_path / "pick"
    folder.mkdir()
    (folder / "drawing.txt").write_text("flange drawing, rev C\n")
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        app.push_screen(AssetDetailScreen(asset["id"]))
        await wait_for(pilot, lambda: isinstance(app.screen, AssetDetailScreen), what="the asset")
        screen = await open_files(pilot, app)
        await wait_for(pilot, lambda: "No files yet" in screen_text(app), what="the empty list")
        screen.pick_from = folder
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, FilePicker), what="the file picker")
        tree = app.screen.query_one(DirectoryTree)
        await wait_for(pilot, lambda: tree.root.children, what="the folder's entries")
        tree.focus()
        await pilot.press("down", "enter")  # the one file under the root, picked
        field = app.screen.query_one("#picker-path", Input)
        await wait_for(pilot, lambda: field.value.endswith("drawing.txt"), what="the picked path")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.uploaded, 15, "the upload")
        await wait_for(pilot, lambda: "drawing.txt" in screen_text(app), what="the asset's file row")
        row = next(line for line in screen_text(app).splitlines() if "drawing.txt" in line)
        assert "22 B" in row and "me" in row, row

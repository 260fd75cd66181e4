"""The files of one work order or asset: name, size, who attached them and when; download into
the downloads folder and attach from a path, each with a progress bar. Live: a file added or
removed elsewhere appears or goes at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static

from cmms_tui.client_files import Attachment
from cmms_tui.failures import ReportsFailures
from cmms_tui.format import short_time
from cmms_tui.live import LiveEvent
from cmms_tui.widgets.file_picker import FilePicker
from cmms_tui.widgets.header import AppHeader

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


class AttachmentsScreen(ReportsFailures, Screen[None]):
    """`parent` is the API collection ("orders" or "assets"); `label` what the header calls it."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("enter,d", "download", "Download"),
        Binding("a", "attach", "Attach"),
        Binding("r", "refresh", "Refresh"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
    DEFAULT_CSS = """
    AttachmentsScreen DataTable { height: 1fr; }
    AttachmentsScreen #transfer { height: 1; padding: 0 1; }
    AttachmentsScreen #files-status { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, parent: str, parent_id: int, label: str) -> None:
        super().__init__()
        self.collection, self.parent_id, self.label = parent, parent_id, label
        self.files: list[Attachment] = []
        self.saved: dict[int, Path] = {}
        self.uploaded: list[Attachment] = []
        self.pick_from = Path.home()  # where the file dialog's tree starts

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        yield AppHeader()
        table: DataTable[Text] = DataTable(id="files", cursor_type="row", zebra_stripes=True)
        yield table
        yield ProgressBar(id="transfer", show_eta=False)
        yield Static("", id="files-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(AppHeader).crumb = self.cmms.title_text(self.label, "Files")
        self.query_one("#transfer", ProgressBar).display = False
        self.cmms.live_signal.subscribe(self, self._live)
        self.load()

    def _live(self, event: LiveEvent) -> None:
        if event.type in ("attachment:added", "attachment:removed") and self._ours(event.data):
            self.load()

    def _ours(self, data: dict[str, object]) -> bool:
        kind = "order" if self.collection == "orders" else "asset"
        return data.get("parent_type") == kind and data.get("parent_id") == self.parent_id

    def status(self, text: str) -> None:
        self.query_one("#files-status", Static).update(Text(text))

    @work(exclusive=True, group="load", exit_on_error=False, name="loading the files")
    async def load(self) -> None:
        api = self.cmms.api
        assert api is not None
        self.files = await api.attachments(self.collection, self.parent_id)
        directory = self.cmms.directory
        if directory is not None and directory.unknown(f["created_by"] for f in self.files):
            await directory.load_people(api)
        now = self.cmms.now()
        table = self.query_one("#files", DataTable)
        row = table.cursor_row
        table.clear(columns=True)  # columns again, so the name column fits the names
        width = max(16, self.app.size.width - 66)
        for name, size in (("Name", width), ("Size", 10), ("By", 18), ("When", 12), ("Type", 18)):
            table.add_column(name, key=name.lower(), width=size)
        for f in self.files:
            who = directory.person(f["created_by"]) if directory else Text(str(f["created_by"] or "—"))
            table.add_row(
                Text(f["name"]),
                Text(human_size(f["size"]), justify="right"),
                who,
                Text(short_time(f["created_at"], now)),
                Text(f["content_type"], style="dim"),
                key=str(f["id"]),
            )
        if self.files:
            table.move_cursor(row=min(max(row, 0), len(self.files) - 1))
        if not self.files:
            self.status("No files yet. a attaches one.")
        else:
            self.status(f"{len(self.files)} files · d downloads into {self.cmms.downloads} · a attaches")

    def _progress(self, done: int, total: int | None) -> None:
        bar = self.query_one("#transfer", ProgressBar)
        bar.display = True
        bar.update(total=total, progress=done)

    def _selected(self) -> Attachment | None:
        table = self.query_one("#files", DataTable)
        if not self.files or table.cursor_row < 0 or table.cursor_row >= len(self.files):
            return None
        return self.files[table.cursor_row]

    def action_download(self) -> None:
        chosen = self._selected()
        if chosen is not None:
            self.download(chosen)

    @work(exclusive=True, group="transfer", exit_on_error=False, name="downloading the file")
    async def download(self, chosen: Attachment) -> None:
        api = self.cmms.api
        assert api is not None
        self.status(f"downloading {chosen['name']} …")
        path = await api.download_file(chosen["id"], self.cmms.downloads, self._progress)
        self.saved[chosen["id"]] = path
        self.status(f"saved {chosen['name']} as {path}")
        self.notify(str(path), title="File saved")

    def action_attach(self) -> None:
        self.app.push_screen(FilePicker(self.pick_from), self._picked)

    def _picked(self, path: Path | None) -> None:
        if path is not None:
            self.upload(path)

    @work(exclusive=True, group="transfer", exit_on_error=False, name="attaching the file")
    async def upload(self, path: Path) -> None:
        api = self.cmms.api
        assert api is not None
        self.status(f"attaching {path.name} …")
        row = await api.upload_attachment(self.collection, self.parent_id, path, self._progress)
        self.uploaded.append(row)
        self.status(f"attached {row['name']} ({human_size(row['size'])})")
        self.load()

    def action_refresh(self) -> None:
        self.load()

    def action_cursor_down(self) -> None:
        self.query_one("#files", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#files", DataTable).action_cursor_up()

    def action_back(self) -> None:
        self.dismiss()

"""A small dialog to choose a file to attach: type a path, or pick one in a directory tree."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Label, Static


class FilePicker(ModalScreen[Path | None]):
    """Dismissed with the chosen file, or None on escape. Enter in the path field attaches it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > Vertical { width: 80%; max-width: 100; height: 80%; border: round $accent; background: $panel; }
    FilePicker DirectoryTree { height: 1fr; }
    FilePicker #picker-error { color: $error; height: auto; }
    """

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start if start.is_dir() else Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Attach a file: type its path, or pick it below (enter attaches, esc cancels)")
            yield Input(placeholder=str(self.start / "photo.jpg"), id="picker-path")
            yield DirectoryTree(self.start, id="picker-tree")
            yield Static("", id="picker-error")

    def on_mount(self) -> None:
        self.query_one("#picker-path", Input).focus()

    @on(DirectoryTree.FileSelected)
    def _picked(self, event: DirectoryTree.FileSelected) -> None:
        field = self.query_one("#picker-path", Input)
        field.value = str(event.path)
        field.focus()

    @on(Input.Submitted, "#picker-path")
    def _submitted(self, event: Input.Submitted) -> None:
        raw = event.value.strip()
        path = Path(raw).expanduser() if raw else None
        if path is None or not path.is_file():
            self.query_one("#picker-error", Static).update(f"not a file: {raw or '(empty)'}")
            return
        self.dismiss(path.resolve())

    def action_cancel(self) -> None:
        self.dismiss(None)

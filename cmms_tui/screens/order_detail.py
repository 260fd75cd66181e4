"""One work order: its fields, the transitions the server says this user may take (and only those),
editing what the role may change, assignment for supervisors, notes and history. Changes made
elsewhere appear while it is open."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static, TabbedContent, TabPane

from cmms_tui.failures import ReportsFailures
from cmms_tui.format import plain, status_label, transition_verb
from cmms_tui.live import LiveEvent
from cmms_tui.models import AuditEntry, Note, Order
from cmms_tui.permissions import editable_fields
from cmms_tui.screens.order_work import WORK_ACTIONS, WORK_BINDINGS, OrderWork
from cmms_tui.widgets.header import AppHeader
from cmms_tui.widgets.order_parts import OrderPartsPanel
from cmms_tui.widgets.order_text import facts, history_text, notes_text

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp
    from cmms_tui.directory import Directory

NARROW = 100


class OrderDetailScreen(OrderWork, ReportsFailures, Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("t", "transition", "Transition"),
        Binding("e", "edit", "Edit"),
        Binding("n", "note", "Add note"),
        Binding("a", "assign", "Assign"),
        Binding("r", "refresh", "Refresh"),
        Binding("u", "files", "Files"),
        *WORK_BINDINGS,
        Binding("j", "scroll_fields(1)", "Down", show=False),
        Binding("k", "scroll_fields(-1)", "Up", show=False),
    ]
    DEFAULT_CSS = """
    OrderDetailScreen #body { height: 1fr; }
    OrderDetailScreen #fields { width: 1fr; padding: 0 1; }
    OrderDetailScreen #side { width: 1fr; }
    OrderDetailScreen.-narrow #body { layout: vertical; }
    OrderDetailScreen.-narrow #fields { height: 1fr; width: 100%; }
    OrderDetailScreen.-narrow #side { height: 1fr; width: 100%; }
    OrderDetailScreen #title { text-style: bold; }
    OrderDetailScreen #description { margin-top: 1; }
    OrderDetailScreen #changed { color: $warning; height: auto; display: none; }
    OrderDetailScreen #changed.-shown { display: block; }
    OrderDetailScreen #actions { height: auto; margin: 1 0; }
    OrderDetailScreen #actions Button { margin-right: 1; min-width: 10; }
    OrderDetailScreen #note-bar { height: auto; display: none; padding: 0 1; }
    OrderDetailScreen.-noting #note-bar { display: block; }
    """

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id
        self.order: Order | None = None
        self.notes: list[Note] = []
        self.history: list[AuditEntry] = []
        self._actions_lock = asyncio.Lock()
        self._actions_shown: list[tuple[str, str, str]] | None = None

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    @property
    def directory(self) -> Directory:
        assert self.cmms.directory is not None
        return self.cmms.directory

    @property
    def dirty(self) -> bool:
        return bool(self.query_one("#note-input", Input).value.strip())

    def compose(self) -> ComposeResult:
        yield AppHeader()
        with Horizontal(id="body"):
            with VerticalScroll(id="fields"):
                yield Static(id="title")
                yield Static(id="changed")
                yield Horizontal(id="actions")
                yield Static(id="facts")
                yield Static(id="description")
                yield from self.work_panels()
            with TabbedContent(id="side"):
                with TabPane("Notes", id="notes-tab"), VerticalScroll():
                    yield Static(id="notes")
                with TabPane("History", id="history-tab"), VerticalScroll():
                    yield Static(id="history")
                if self.directory.is_staff:
                    with TabPane("Parts", id="parts-tab"):
                        yield OrderPartsPanel(self.order_id)
        with Vertical(id="note-bar"):
            yield Input(placeholder="Note (enter to add, esc to cancel)", id="note-input")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(AppHeader).crumb = Text(f"Work order #{self.order_id}")
        self.cmms.live_signal.subscribe(self, self._live)
        self.cmms.names_signal.subscribe(self, lambda _: self._redraw())
        self.set_class(self.app.size.width < NARROW, "-narrow")
        self.load()

    def on_resize(self) -> None:
        self.set_class(self.app.size.width < NARROW, "-narrow")

    # ---- loading and showing ------------------------------------------------------------------

    @work(exclusive=True, group="load", exit_on_error=False, name="loading the order")
    async def load(self, *, notes: bool = True) -> None:
        api = self.cmms.api
        assert api is not None
        if notes:
            order, note_page, history_page = await asyncio.gather(
                api.order(self.order_id), api.notes(self.order_id), api.history(self.order_id)
            )
            self.notes, self.history = note_page.items, history_page.items
        else:
            order, history_page = await asyncio.gather(api.order(self.order_id), api.history(self.order_id))
            self.history = history_page.items
        self.call_later(self.show_order, order)  # rendered by the screen, never cancelled halfway

    def _redraw(self) -> None:
        if self.order is not None:
            self.call_later(self.show_order, self.order)

    async def show_order(self, order: Order) -> None:
        self.order = order
        d = self.directory
        people = [order["assignee_id"], order["requested_by"], *(n["author_id"] for n in self.notes)]
        self.cmms.learn_people([*people, *(e["actor_id"] for e in self.history)])
        header = self.query_one(AppHeader)
        header.crumb = self.cmms.title_text("Orders", order["number"])
        self.query_one("#title", Static).update(
            Text.assemble((order["number"], "bold"), "  ", plain(order["title"], "bold"))
        )
        self.query_one("#facts", Static).update(facts(order, d, self.cmms.now()))
        description = order["description"] or ""
        self.query_one("#description", Static).update(
            Text.assemble(("Description\n", "dim"), description or Text("—", style="dim"))
        )
        self.query_one("#notes", Static).update(notes_text(self.notes, d))
        self.query_one("#history", Static).update(history_text(self.history, d))
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("notes-tab").label = f"Notes ({len(self.notes)})"
        tabs.get_tab("history-tab").label = f"History ({len(self.history)})"
        await self._show_actions(order)
        self.refresh_bindings()

    async def _show_actions(self, order: Order) -> None:
        """Rebuild the action buttons only when they change (one rebuild at a time)."""
        wanted: list[tuple[str, str, str]] = []
        for to in order.get("allowed_transitions", []):
            variant = "error" if to == "cancelled" else "primary"
            wanted.append((f"to-{to}", transition_verb(order["status"], to), variant))
        if self.editable():
            wanted.append(("edit", "Edit…", "default"))
        if self.directory.is_supervisor and order["status"] not in ("closed", "cancelled"):
            wanted.append(("assign", "Assign…", "default"))
        async with self._actions_lock:
            if wanted == self._actions_shown:
                return
            actions = self.query_one("#actions", Horizontal)
            focused_id = self.focused.id if self.focused is not None else None
            self._actions_shown = None
            await actions.remove_children()
            if wanted:
                buttons = [Button(label, id=wid, variant=variant) for wid, label, variant in wanted]  # type: ignore[arg-type]
                await actions.mount_all(buttons)
            else:
                await actions.mount(Static(Text("No status change is open to you on this order.", style="dim")))
            self._actions_shown = wanted
            if focused_id and focused_id.startswith(("to-", "assign", "edit")):
                self._refocus(focused_id)

    def _refocus(self, widget_id: str) -> None:
        found = self.query(f"#{widget_id}")
        if found:
            found.first().focus()

    def _live(self, event: LiveEvent) -> None:
        if not event.type.startswith("order:") or event.data.get("id") != self.order_id:
            return
        changed = event.data.get("changed") or []
        who = event.data.get("by")
        by = f" by {self.directory.person_name(int(who))}" if who else ""
        if event.type == "order:status-changed":
            note = f"Status changed to {status_label(str(event.data.get('to')))}{by}."
        elif changed == ["notes"]:
            note = "A note was added."
        else:
            note = f"Changed: {', '.join(changed) or 'fields'}."
        banner = self.query_one("#changed", Static)
        banner.update(Text(f"↻ {note}", style="bold"))
        banner.add_class("-shown")
        self.set_timer(6, lambda: banner.remove_class("-shown"))
        self.load(notes=changed == ["notes"] or event.type == "order:status-changed")

    # ---- actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "assign":
            return self.directory.is_supervisor if self.cmms.directory is not None else False
        if action == "transition":
            return bool(self.order and self.order.get("allowed_transitions"))
        if action == "edit":
            return bool(self.editable())
        if action in WORK_ACTIONS:
            return self.work_allowed(action)
        return True

    def editable(self) -> frozenset[str]:
        if self.order is None or self.cmms.directory is None:
            return frozenset()
        return editable_fields(self.directory.role, self.directory.my_id, self.order)

    def action_edit(self) -> None:
        from cmms_tui.screens.order_form import OrderFormScreen

        def saved(order: Order | None) -> None:
            if order is not None:
                self.call_later(self.show_order, order)
                self.load(notes=False)  # the history gains the edit

        if self.order is not None and self.editable():
            self.app.push_screen(OrderFormScreen(self.order), saved)

    def action_files(self) -> None:
        from cmms_tui.screens.attachments import AttachmentsScreen

        label = str(self.order["number"]) if self.order else f"#{self.order_id}"
        self.app.push_screen(AttachmentsScreen("orders", self.order_id, label))

    async def action_back(self) -> None:
        if self.has_class("-noting"):
            self._close_note()
            return
        self.dismiss()

    def action_refresh(self) -> None:
        self.load()
        self.refresh_work()

    def action_scroll_fields(self, delta: int) -> None:
        self.query_one("#fields", VerticalScroll).scroll_relative(y=delta, animate=False)

    def action_transition(self, preselect: str | None = None) -> None:
        from cmms_tui.screens.dialogs import TransitionDialog

        order = self.order
        if order is None or not order.get("allowed_transitions"):
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.transition(result[0], result[1])

        self.app.push_screen(TransitionDialog(order, preselect), chosen)

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        if button_id.startswith("to-"):
            self.action_transition(button_id.removeprefix("to-"))
        elif button_id == "assign":
            self.action_assign()
        elif button_id == "edit":
            self.action_edit()

    @work(exclusive=True, group="write", exit_on_error=False, name="changing the status")
    async def transition(self, to: str, note: str) -> None:
        api, order = self.cmms.api, self.order
        assert api is not None and order is not None
        updated = await api.transition(order["id"], to, note or None, version=order["version"])
        self.notify(f"{updated['number']} is now {status_label(updated['status'])}.", timeout=3, markup=False)
        self.load()

    def action_assign(self) -> None:
        from cmms_tui.screens.dialogs import AssignDialog

        order = self.order
        if order is None or not self.directory.is_supervisor:
            return

        def chosen(user_id: int | None) -> None:
            if user_id is not None:
                self.assign(user_id or None)

        self.app.push_screen(AssignDialog(order["assignee_id"]), chosen)

    @work(exclusive=True, group="write", exit_on_error=False, name="assigning")
    async def assign(self, user_id: int | None) -> None:
        api, order = self.cmms.api, self.order
        assert api is not None and order is not None
        updated = await api.update_order(order["id"], {"assignee_id": user_id}, version=order["version"])
        self.notify(f"{updated['number']} assigned to {self.directory.person_name(user_id)}.", timeout=3, markup=False)
        self.load(notes=False)

    def action_note(self) -> None:
        self.add_class("-noting")
        self.query_one("#note-input", Input).focus()

    def _close_note(self) -> None:
        self.remove_class("-noting")
        self.query_one("#fields", VerticalScroll).focus()

    @on(Input.Submitted, "#note-input")
    def _submit_note(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.add_note(event.value.strip())

    @work(exclusive=True, group="note", exit_on_error=False, name="adding the note")
    async def add_note(self, body: str) -> None:
        api = self.cmms.api
        assert api is not None
        note = await api.add_note(self.order_id, body)  # a failure keeps the text in the field
        self.query_one("#note-input", Input).value = ""
        self._close_note()
        self.notes = [note, *self.notes]
        if self.order is not None:
            self.call_later(self.show_order, self.order)

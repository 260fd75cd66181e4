"""Search from anywhere (`/`): results as you type, Enter opens the item.

The server's full-text GET /api/v1/search is used when it exists (results carry <mark> highlights);
otherwise the list filters GET /api/v1/orders?q= and /api/v1/assets?q= stand in, and the screen
says which one is answering.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cmms_tui.client_errors import ApiError
from cmms_tui.failures import ReportsFailures
from cmms_tui.format import highlighted, marked, status_badge

if TYPE_CHECKING:
    from cmms_tui.app import CmmsApp

DEBOUNCE_S = 0.15
LIMIT = 10
FALLBACK_FETCH = 50


class SearchScreen(ReportsFailures, ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("down", "results", "Results", show=False),
    ]
    DEFAULT_CSS = """
    SearchScreen { align: center top; }
    SearchScreen > Vertical { width: 100; max-width: 100%; height: auto; max-height: 90%; margin-top: 2;
        border: round $accent; background: $surface; padding: 0 1; }
    SearchScreen #mode { color: $text-muted; height: auto; }
    SearchScreen OptionList { height: auto; max-height: 24; border: none; }
    SearchScreen #count { color: $text-muted; height: 1; }
    """

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial = query
        self._debounce: Timer | None = None
        self._targets: dict[str, tuple[str, int]] = {}

    @property
    def cmms(self) -> CmmsApp:
        return cast("CmmsApp", self.app)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="mode")
            yield Input(value=self.initial, placeholder="Search orders and assets", id="q")
            yield Static(id="count")
            yield OptionList(id="results")

    def on_mount(self) -> None:
        self._show_mode()
        self.query_one("#q", Input).focus()
        if self.initial:
            self.run_search(self.initial)

    def _show_mode(self) -> None:
        if self.cmms.search_mode == "server":
            mode = Text.assemble(("Full-text search", "bold"), " · server /api/v1/search")
        else:
            mode = Text.assemble(
                ("Title and code match", "bold"),
                " · no /api/v1/search on this server: orders?q= and assets?q=",
            )
        self.query_one("#mode", Static).update(mode)

    @on(Input.Changed, "#q")
    def _changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        # The raw text goes to the server: a trailing space there means "this word is finished".
        query = event.value if event.value.strip() else ""
        self._debounce = self.set_timer(DEBOUNCE_S, lambda: self.run_search(query))

    @on(Input.Submitted, "#q")
    def _submitted(self) -> None:
        results = self.query_one(OptionList)
        if results.option_count:
            self._open(results.get_option_at_index(results.highlighted or 0).id or "")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id or "")

    def action_results(self) -> None:
        results = self.query_one(OptionList)
        if results.option_count and not results.has_focus:
            results.focus()
            results.highlighted = results.highlighted or 0

    def action_close(self) -> None:
        self.dismiss()

    def _open(self, option_id: str) -> None:
        target = self._targets.get(option_id)
        if target is None:
            return
        kind, item_id = target
        self.dismiss()
        if kind == "order":
            from cmms_tui.screens.order_detail import OrderDetailScreen

            self.app.push_screen(OrderDetailScreen(item_id))
        else:
            from cmms_tui.screens.asset_detail import AssetDetailScreen

            self.app.push_screen(AssetDetailScreen(item_id))

    @work(exclusive=True, group="search", exit_on_error=False, name="searching")
    async def run_search(self, query: str) -> None:
        results = self.query_one(OptionList)
        if not query:
            results.clear_options()
            self._targets = {}
            self.query_one("#count", Static).update("")
            return
        if self.cmms.search_mode == "server":
            try:
                options = await self._server(query)
            except ApiError as exc:
                if exc.status not in (404, 405):
                    raise
                self.cmms.search_mode = "fallback"  # the route went away: say so and carry on
                self._show_mode()
                options = await self._fallback(query.strip())
        else:
            options = await self._fallback(query.strip())
        results.clear_options()
        results.add_options(options)
        if options:
            results.highlighted = 0
        self.query_one("#count", Static).update(
            Text(f"{len(options)} result{'s' if len(options) != 1 else ''} · enter opens · ↓ to the list")
            if options
            else Text("No results.", style="dim")
        )

    async def _server(self, query: str) -> list[Option]:
        api = self.cmms.api
        assert api is not None
        hits = await api.search(query)
        self._targets = {}
        options: list[Option] = []
        for hit in hits:
            kind = (
                "order" if hit["type"] in ("order", "orders") else "asset" if hit["type"] in ("asset", "assets") else ""
            )
            if not kind:
                continue
            key = f"{kind}:{hit['id']}"
            self._targets[key] = (kind, int(hit["id"]))
            prompt = Text.assemble((f"{kind:<6} ", "dim"))
            label = hit.get("number") if kind == "order" else hit.get("code")
            if label:
                prompt.append(f"{label}  ", style="bold")
            prompt.append(str(hit.get("title") or ""), style="bold")
            if kind == "order" and hit.get("status"):
                prompt.append("  ")
                prompt.append_text(status_badge(str(hit.get("status"))))
            snippet = hit.get("snippet") or ""
            if snippet:
                prompt.append("\n       ")
                prompt.append_text(marked(snippet))
            options.append(Option(prompt, id=key))
        return options

    async def _fallback(self, query: str) -> list[Option]:
        api = self.cmms.api
        directory = self.cmms.directory
        assert api is not None and directory is not None
        # The list filters match one substring; ask for the longest word, keep rows with every word.
        words = [w.lower() for w in query.split()]
        probe = max(words, key=len) if words else query
        orders, assets = await asyncio.gather(
            api.orders({"q": probe, "limit": FALLBACK_FETCH}), api.assets({"q": probe, "limit": FALLBACK_FETCH})
        )

        def every_word(*texts: str | None) -> bool:
            haystack = " ".join(t or "" for t in texts).lower()
            return all(w in haystack for w in words)

        self._targets = {}
        options: list[Option] = []
        for order in [o for o in orders.items if len(words) < 2 or every_word(o["number"], o["title"])][:LIMIT]:
            key = f"order:{order['id']}"
            self._targets[key] = ("order", int(order["id"]))
            prompt = Text.assemble(("order  ", "dim"), (order["number"], "bold"), "  ")
            prompt.append_text(highlighted(order["title"], query))
            prompt.append("  ")
            prompt.append_text(status_badge(order["status"]))
            options.append(Option(prompt, id=key))
        for asset in [a for a in assets.items if len(words) < 2 or every_word(a["code"], a["name"])][:LIMIT]:
            key = f"asset:{asset['id']}"
            self._targets[key] = ("asset", int(asset["id"]))
            prompt = Text.assemble(("asset  ", "dim"))
            prompt.append_text(highlighted(asset["code"] or "—", query))
            prompt.append("  ")
            prompt.append_text(highlighted(asset["name"], query))
            prompt.append(f"  {directory.plant_name(asset['plant_id'])}", style="dim")
            options.append(Option(prompt, id=key))
        return options

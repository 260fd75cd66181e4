"""Integrations (admins and managers): the tenant's webhooks, whether each delivers, and a way in
to each one's delivery log; `k` opens the tenant's API keys (cmms_tui/screens/api_keys.py).

Webhook changes arrive live (`webhook:*` events to supervisors), including a webhook switched
off by the server after a day of failures.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding

from cmms_tui.client import Page
from cmms_tui.client_session import Params
from cmms_tui.client_webhooks import Webhook, set_active, webhooks
from cmms_tui.format import plain, short_time
from cmms_tui.live import LiveEvent
from cmms_tui.views.base import RecordsView
from cmms_tui.widgets.table_lines import Column

HOOK_EVENTS = ("webhook:created", "webhook:updated")


def state_text(hook: Webhook) -> Text:
    if not hook["active"]:
        return plain("off" + (f": {hook['disabled_reason']}" if hook["disabled_reason"] else ""), "dim")
    if hook["failing_since"]:
        return plain("failing", "bold red")
    return plain("delivering", "green")


class IntegrationsView(RecordsView[Webhook]):
    TITLE = "Integrations · webhooks"
    BINDINGS = [Binding("o", "toggle", "On/off"), Binding("k", "api_keys", "API keys", priority=True)]

    def __init__(self, *, id: str = "integrations") -> None:
        super().__init__(id=id)

    def columns(self) -> list[Column[Webhook]]:
        return [
            Column("url", "URL", lambda h: plain(h["url"])),
            Column("events", "Events", lambda h: plain(", ".join(h["events"])), width=28),
            Column("state", "State", state_text, width=18),
            Column("since", "Failing since", lambda h: plain(short_time(h["failing_since"], self.cmms.now()) or "—"),
                   width=13, min_table_width=100),
            Column("note", "Description", lambda h: plain(h["description"], "dim"), width=20, min_table_width=130),
        ]  # fmt: skip

    async def fetch(self, params: Params) -> Page[Webhook]:
        assert self.cmms.api is not None
        return await webhooks(self.cmms.api, params)

    def describe_filter(self) -> Text:
        return Text("every webhook  ·  enter: deliveries  ·  o: switch on or off  ·  k: API keys")

    def on_live(self, event: LiveEvent) -> None:
        if event.type in HOOK_EVENTS and "id" in event.data:
            self.place({k: v for k, v in event.data.items() if k != "changed"})  # type: ignore[arg-type]
        elif event.type == "webhook:deleted" and "id" in event.data:
            self.table.discard(int(event.data["id"]))

    def open(self, row: Webhook) -> None:
        from cmms_tui.screens.webhook_deliveries import DeliveriesScreen

        self.app.push_screen(DeliveriesScreen(row))

    def action_api_keys(self) -> None:
        """Priority, because the focused table binds `k` to "up": here it opens the keys (arrows still move)."""
        from cmms_tui.screens.api_keys import ApiKeysScreen

        self.app.push_screen(ApiKeysScreen())

    def action_toggle(self) -> None:
        row_id = self.table.selected_id()
        if row_id is not None and row_id in self.table.models:
            self._toggle(self.table.models[row_id])

    @work(exclusive=True, group="toggle", exit_on_error=False, name="switching the webhook")
    async def _toggle(self, hook: Webhook) -> None:
        assert self.cmms.api is not None
        self.place(await set_active(self.cmms.api, hook, not hook["active"]))

    def empty_text(self) -> str:
        return "No webhooks yet. Subscribe one with POST /api/v1/webhooks (see the README, Integrations)."

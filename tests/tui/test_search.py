"""Search from anywhere: as-you-type results with highlights, the source named, Enter opens the item."""

from __future__ import annotations

import uuid
from pathlib import Path

from textual.widgets import OptionList

from cmms_tui.format import MARK_STYLE, marked
from cmms_tui.screens.asset_detail import AssetDetailScreen
from cmms_tui.screens.order_detail import OrderDetailScreen
from cmms_tui.screens.search import SearchScreen
from tests.tui.server import Server
from tests.tui.support import SIZE, console_app, log_in, screen_text, wait_for


async def test_search_finds_orders_and_assets_and_opens_them(server: Server, tmp_path: Path) -> None:
    word = f"zq{uuid.uuid4().hex[:5]}"
    order = server.call("manager", "POST", "/api/v1/orders", {"title": f"Replace {word} seal [x]"})
    plant = server.call("manager", "POST", "/api/v1/plants", {"name": f"Plant {word}"})
    asset = server.call("manager", "POST", "/api/v1/assets", {"name": f"Mixer {word}", "plant_id": plant["id"]})
    app = console_app(server, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await log_in(pilot)
        assert app.search_mode in ("server", "fallback")
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen), what="the search screen")
        expected = "Full-text search" if app.search_mode == "server" else "no /api/v1/search on this server"
        assert expected in screen_text(app)
        await pilot.press(*word)
        results = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: results.option_count >= 2, what="results")
        text = screen_text(app)
        assert f"Replace {word} seal [x]" in text and f"Mixer {word}" in text
        prompts = [results.get_option_at_index(i).prompt for i in range(results.option_count)]
        assert any(span.style == "bold black on yellow" for span in prompts[0].spans)  # type: ignore[union-attr]
        # Full-text search may rank the asset first: move to the order, then open it.
        order_at = next(i for i, p in enumerate(prompts) if "Replace" in str(p))
        results.highlighted = order_at
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, OrderDetailScreen), what="the order")
        assert isinstance(app.screen, OrderDetailScreen) and app.screen.order_id == order["id"]
        await wait_for(pilot, lambda: order["number"] in screen_text(app), what="the order's number")

        await pilot.press("escape")
        await pilot.press("slash")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))
        await pilot.press(*f"Mixer {word}")
        results = app.screen.query_one(OptionList)
        await wait_for(pilot, lambda: results.option_count == 1, what="one asset")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AssetDetailScreen), what="the asset")
        assert isinstance(app.screen, AssetDetailScreen) and app.screen.asset_id == asset["id"]


def test_server_snippets_keep_their_highlights_and_nothing_else() -> None:
    text = marked("Leaking <mark>pump</mark> seal &amp; <b>[red]gasket</b>")
    assert text.plain == "Leaking pump seal & [red]gasket"
    assert [text.plain[s.start : s.end] for s in text.spans if s.style == MARK_STYLE] == ["pump"]

"""Full-text search: one behavioural suite over both backends, then PostgreSQL specifics and HTTP.

The `searcher` fixture runs every behavioural test twice: on PostgreSQL (the real database) and on
the Elasticsearch adapter talking to the HTTP double of tests/integration/es_double.py, which is
a double, not a real Elasticsearch (no server can be installed here). Where the double cannot
judge (ranking subtleties), the test says so and checks PostgreSQL only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pydantic
import pytest
from aiohttp.test_utils import TestClient

from cmms.db.pool import fetchall, transaction
from cmms.domain.errors import DomainError, Forbidden, ValidationFailed
from cmms.domain.model import NoteIn, OrderIn
from cmms.runtime import Runtime
from cmms.services import orders
from tests.integration.search_support import BACKENDS, Corpus, Searcher, actor, build_corpus, open_backend
from tests.integration.support import assert_problem, ok

ODD_QUERIES = [
    "",
    " ",
    "x" * 2000,
    "gasket " * 140,
    '"unbalanced quote',
    'gasket "',
    '""',
    "%",
    "%%_",
    "\\",
    "\\\\'\\",
    "'",
    "<script>alert(1)</script>",
    "<b>gasket</b>",
    "-",
    "- or",
    "or or or",
    '- "" or -',
    "!!! & | ( ) :* <-> <1>",
    "gasket:*",
    "a & b | !c",
    "\x00nul",
    "tab\there",
    "émoji 🔧 ü",
    "WO-",
    "WO-0000000000000000000001",
    "99999999999999999999999",
    "-gasket",
    "\ud800",
]


@pytest.fixture(scope="module")
async def corpus(rt: Runtime, client: TestClient) -> Corpus:
    return await build_corpus(rt, client)


@pytest.fixture(scope="module")
async def twin(rt: Runtime, client: TestClient) -> Corpus:
    return await build_corpus(rt, client, twin=True)


@pytest.fixture(scope="module", params=BACKENDS)
async def searcher(
    request: pytest.FixtureRequest, rt: Runtime, corpus: Corpus, twin: Corpus
) -> AsyncIterator[Searcher]:
    async with open_backend(request.param, rt, [corpus.tenant.id, twin.tenant.id]) as found:
        yield found


def kinds(result: dict[str, Any], kind: str = "orders") -> set[int]:
    return {item["id"] for item in result["items"] if item["type"] == kind}


def item(result: dict[str, Any], kind: str, id_: int) -> dict[str, Any]:
    return next(i for i in result["items"] if i["type"] == kind and i["id"] == id_)


async def find(searcher: Searcher, corpus: Corpus, q: str, key: str = "manager", **params: Any) -> dict[str, Any]:
    return await searcher.search(corpus.tenant, key, q=q, limit=100, **params)


# ---- the behavioural suite (both backends) ----------------------------------------------------


async def test_stemming_finds_other_forms_of_a_word(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    for q in ("leaks ", "leak ", "gaskets ", "drip "):
        found = kinds(await find(searcher, corpus, q))
        assert ids["gasket"] in found, q
    assert ids["valve"] in kinds(await find(searcher, corpus, "leaked "))


async def test_the_word_being_typed_matches_as_a_prefix(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    assert ids["gasket"] in kinds(await find(searcher, corpus, "gask"))
    assert ids["gasket"] in kinds(await find(searcher, corpus, "leaking gas"))
    assert ids["bearing_title"] in kinds(await find(searcher, corpus, "bearin"))
    assert ids["compressor"] in kinds(await find(searcher, corpus, "compre"), "assets")


async def test_typos_are_forgiven_when_little_matches(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    result = await find(searcher, corpus, "compresor ")
    assert result["mode"] == "fuzzy", result
    assert ids["compressor"] in kinds(result, "assets")
    assert ids["bearing_title"] in kinds(result)
    result = await find(searcher, corpus, "vibraton alarm ")
    assert ids["bearing_body"] in kinds(result)
    exact = await find(searcher, corpus, "gasket ")
    assert exact["mode"] == "fulltext"


async def test_phrases_need_adjacent_words(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    phrase = kinds(await find(searcher, corpus, '"leaking gasket"'))
    assert ids["gasket"] in phrase
    assert ids["valve"] not in phrase  # "leaking badly ... gasket": the words, not the phrase
    assert ids["valve"] in kinds(await find(searcher, corpus, "leaking gasket "))


async def test_excluded_words_and_alternatives(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    found = kinds(await find(searcher, corpus, "gasket -filler "))
    assert ids["gasket_pump"] in found and ids["valve"] in found
    assert ids["gasket"] not in found
    either = kinds(await find(searcher, corpus, "latch or chatter "))
    assert {ids["script"], ids["requested"]} <= either


async def test_snippets_highlight_matches_and_escape_markup(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    result = await find(searcher, corpus, "hisses ")
    hit = item(result, "orders", ids["script"])
    assert "<mark>hisses</mark>" in hit["snippet"]
    assert "<script" not in hit["snippet"] and "<b>" not in hit["snippet"]
    assert hit["title"] == "Valve chatter"  # titles are plain text
    title_hit = item(await find(searcher, corpus, "descale "), "orders", ids["cafe"])
    assert title_hit["snippet"].count("<mark>Descale</mark>") == 1


async def test_facets_count_every_match(searcher: Searcher, corpus: Corpus) -> None:
    result = await find(searcher, corpus, "gasket ", type="orders")
    facets = result["facets"]
    assert result["total"] == 3 and result["total_relation"] == "eq"
    assert facets["type"] == {"orders": 3}
    assert facets["status"] == {"open": 2, "in_progress": 1}
    assert facets["priority"] == {"high": 1, "medium": 1, "low": 1}
    assert facets["plant_id"] == {str(corpus.ids["north"]): 2}
    assets_only = await find(searcher, corpus, "compressor ", type="assets")
    assert assets_only["facets"]["criticality"] == {"critical": 1}


async def test_title_outranks_description_outranks_notes(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    ranked = [i["id"] for i in (await find(searcher, corpus, "bearing ", type="orders"))["items"]]
    assert ranked.index(ids["bearing_title"]) < ranked.index(ids["bearing_body"]) < ranked.index(ids["bearing_note"])


async def test_notes_are_searchable_once_written(searcher: Searcher, corpus: Corpus) -> None:
    ids, manager = corpus.ids, actor(corpus.tenant, "manager")
    word = {"postgres": "limescale", "elasticsearch": "verdigris"}[searcher.name]  # a new word per backend
    assert ids["cafe"] not in kinds(await find(searcher, corpus, f"{word} "))
    await orders.add_note(searcher.rt.deps, manager, ids["cafe"], NoteIn(body=f"Heavy {word} in the boiler."))
    await searcher.refresh()
    assert ids["cafe"] in kinds(await find(searcher, corpus, f"{word} "))


async def test_accents_are_folded(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    assert ids["roaster"] in kinds(await find(searcher, corpus, "cafe "), "assets")
    assert ids["roaster"] in kinds(await find(searcher, corpus, "buhler "), "assets")
    assert ids["cafe"] in kinds(await find(searcher, corpus, "CAFÉ roaster "))


async def test_filters(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    in_progress = kinds(await find(searcher, corpus, "gasket ", status="in_progress"))
    assert in_progress == {ids["gasket_pump"]}
    high = await find(searcher, corpus, "gasket ", priority="high,critical")
    assert kinds(high) == {ids["gasket"]} and not kinds(high, "assets") and not kinds(high, "audit")
    south = await find(searcher, corpus, "compressor ", plant_id=ids["south"])
    assert ids["compressor"] in kinds(south, "assets")
    assert all(i.get("plant_id") == ids["south"] for i in south["items"])
    critical = await find(searcher, corpus, "", criticality="critical", type="assets")
    assert kinds(critical, "assets") == {ids["compressor"]}


async def test_codes_and_numbers(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    code = f"RIV-FIL-{corpus.code_prefix}"
    assert ids["filler"] in kinds(await find(searcher, corpus, code), "assets")
    assert ids["filler"] in kinds(await find(searcher, corpus, code[:-2]), "assets")
    number = (await orders.get(searcher.rt.deps, actor(corpus.tenant, "manager"), ids["valve"]))["number"]
    found = await find(searcher, corpus, number)
    assert found["items"][0]["type"] == "orders" and found["items"][0]["id"] == ids["valve"]


async def test_a_tenant_never_sees_another(searcher: Searcher, corpus: Corpus, twin: Corpus) -> None:
    mine = await find(searcher, corpus, "gasket ")
    theirs = await find(searcher, twin, "gasket ")
    assert kinds(theirs) == {twin.ids["gasket"]}
    assert twin.ids["gasket"] not in kinds(mine)
    assert all(i["id"] != twin.ids["filler"] for i in mine["items"] if i["type"] == "assets")


async def test_requesters_find_their_own_requests_and_no_audit(searcher: Searcher, corpus: Corpus) -> None:
    ids = corpus.ids
    mine = await find(searcher, corpus, "broken ", key="requester")
    assert kinds(mine) == {ids["requested"]}
    assert kinds(await find(searcher, corpus, "broken ", key="requester2")) == {ids["requested2"]}
    assert kinds(await find(searcher, corpus, "broken ", key="technician")) == {ids["requested"], ids["requested2"]}
    assert mine["facets"]["type"].get("audit") is None
    assert kinds(await find(searcher, corpus, "gasket ", key="requester")) == set()
    assert ids["pump"] in kinds(await find(searcher, corpus, "pump ", key="requester"), "assets")
    for key in ("requester", "technician"):
        with pytest.raises(Forbidden):
            await find(searcher, corpus, "gasket", key=key, type="audit")
        assert not kinds(await find(searcher, corpus, "gasket ", key=key), "audit")


async def test_supervisors_search_the_audit_trail(searcher: Searcher, corpus: Corpus) -> None:
    for key in ("manager", "admin"):
        audit = await find(searcher, corpus, "latch ", key=key, type="audit")
        assert audit["items"] and all(i["type"] == "audit" for i in audit["items"])
        assert audit["items"][0]["entity"] == "order"
    assert not kinds(await find(searcher, corpus, "latch ", key="technician"), "audit")


async def test_pages_walk_every_hit_once(searcher: Searcher, corpus: Corpus) -> None:
    everything = await find(searcher, corpus, "gasket ")
    seen: list[tuple[str, int]] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"q": "gasket ", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await searcher.search(corpus.tenant, "manager", **params)
        seen += [(i["type"], i["id"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == everything["total"]
    with pytest.raises(ValidationFailed):
        await searcher.search(corpus.tenant, "manager", q="gasket", cursor="bm90LWEtY3Vyc29y")


async def test_an_empty_query_lists_the_newest(searcher: Searcher, corpus: Corpus) -> None:
    result = await searcher.search(corpus.tenant, "manager", q="", type="orders", limit=3)
    assert result["mode"] == "browse"
    assert [i["id"] for i in result["items"]] == sorted((i["id"] for i in result["items"]), reverse=True)
    assert result["facets"]["type"]["orders"] >= 10


async def test_odd_queries_answer_or_refuse(searcher: Searcher, corpus: Corpus) -> None:
    for q in ODD_QUERIES:
        try:
            params = {"q": q, "type": "orders,assets,audit"}
            result = await searcher.search(corpus.tenant, "admin", **params)
        except (pydantic.ValidationError, DomainError):
            continue
        assert isinstance(result["items"], list), q
        for hit in result["items"]:
            assert "<script" not in hit["snippet"], (q, hit)


async def test_odd_queries_over_http_are_never_a_500(searcher: Searcher, corpus: Corpus) -> None:
    api = searcher.api(corpus.tenant, "admin")
    for q in ODD_QUERIES:
        reply = await api.get("/api/v1/search", params={"q": q.replace("\ud800", "\ufffd")})
        assert reply.status in (200, 422), (q, reply)
        if reply.status == 200:
            assert reply.content_type == "application/json"
        else:
            assert_problem(reply, 422)
    raw = await api.request("GET", "/api/v1/search?q=%00%ff%fe%25&type=orders")
    assert raw.status == 200 or (400 <= raw.status < 500 and raw.content_type == "application/problem+json"), raw
    too_long = await api.get("/api/v1/search", params={"q": "x" * 2000})
    assert_problem(too_long, 422, field="q")


async def test_the_route(searcher: Searcher, corpus: Corpus) -> None:
    api = searcher.api(corpus.tenant, "manager")
    body = ok(await api.get("/api/v1/search", params={"q": "gasket", "type": "orders,assets", "limit": 2}))
    assert set(body) >= {"items", "facets", "total", "total_relation", "next_cursor", "mode", "backend"}
    assert body["backend"] == searcher.name
    assert len(body["items"]) == 2 and body["next_cursor"]
    first = body["items"][0]
    assert {"type", "id", "title", "snippet", "score", "number", "status"} <= set(first)
    assert first["updated_at"].endswith("Z")
    assert_problem(await api.get("/api/v1/search", params={"type": "orders,bogus"}), 422, field="type.1")
    assert_problem(await api.get("/api/v1/search", params={"limit": "0"}), 422, field="limit")
    assert_problem(await api.get("/api/v1/search", params={"status": "open,nope"}), 422)
    technician = searcher.api(corpus.tenant, "technician")
    assert_problem(await technician.get("/api/v1/search", params={"q": "x", "type": "audit"}), 403)
    anonymous = searcher.api(corpus.tenant, "technician").with_token(None)
    assert_problem(await anonymous.get("/api/v1/search", params={"q": "x"}), 401)


async def test_new_orders_are_found(searcher: Searcher, corpus: Corpus) -> None:
    manager = actor(corpus.tenant, "manager")
    created = await orders.create(searcher.rt.deps, manager, OrderIn(title="Snapped conveyor chain", description=""))
    await searcher.refresh()
    assert created["id"] in kinds(await find(searcher, corpus, "snapped chain "))


# ---- PostgreSQL specifics ---------------------------------------------------------------------


async def test_candidate_functions_are_scoped_to_the_tenant(rt: Runtime, corpus: Corpus, twin: Corpus) -> None:
    """The SECURITY DEFINER functions bypass row-level security; they must scope themselves."""
    statement = (
        "SELECT id FROM cmms_search_orders(websearch_to_tsquery('cmms_english', 'gasket'), NULL, NULL, NULL,"
        " NULL, NULL, 100)"
    )
    async with transaction(rt.deps.pool, None) as cur:
        assert await fetchall(cur, statement) == []
    async with transaction(rt.deps.pool, corpus.tenant.id) as cur:
        found = {r["id"] for r in await fetchall(cur, statement)}
        planner = await fetchall(
            cur, "SELECT current_setting('enable_indexscan') AS i, current_setting('enable_seqscan') AS s"
        )
    assert corpus.ids["gasket"] in found and twin.ids["gasket"] not in found
    assert planner == [{"i": "on", "s": "on"}]  # the function restores what it switched off for its query
    async with transaction(rt.deps.pool, corpus.tenant.id) as cur:
        words = await fetchall(cur, "SELECT word, near FROM cmms_search_similar_words(ARRAY['gaskte'], 0.4)")
        leaked = await fetchall(cur, "SELECT count(*) AS n FROM search_words WHERE tenant_id = %s", (twin.tenant.id,))
    assert words[0]["near"][0] == "gasket"
    assert leaked[0]["n"] == 0  # row-level security still guards the table itself


async def test_documents_follow_edits_and_notes(rt: Runtime, corpus: Corpus) -> None:
    ids, manager = corpus.ids, actor(corpus.tenant, "manager")
    async with transaction(rt.deps.pool, corpus.tenant.id) as cur:
        before = await fetchall(
            cur, "SELECT document::text AS d FROM work_order_search WHERE order_id = %s", (ids["bearing_note"],)
        )
    assert "'bear':" in before[0]["d"] and ":" in before[0]["d"]  # the note's word, weight C (no letter)
    await orders.add_note(rt.deps, manager, ids["bearing_note"], NoteIn(body="Impeller replaced as well."))
    async with transaction(rt.deps.pool, corpus.tenant.id) as cur:
        after = await fetchall(
            cur,
            "SELECT document::text AS d, status FROM work_order_search WHERE order_id = %s",
            (ids["bearing_note"],),
        )
        words = await fetchall(cur, "SELECT word FROM search_words WHERE word = 'impeller'")
    assert "'impel'" in after[0]["d"] and words


async def test_the_readiness_of_each_backend(searcher: Searcher) -> None:
    health = await searcher.backend.health()
    assert health["ok"] is True and health["backend"] == searcher.name

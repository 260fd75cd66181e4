"""Attachments on orders, assets and checklist items: upload, list, download, delete.

Who sees a file is who sees its parent: an order's files follow the order (a requester sees only
those of their own requests), a checklist item's follow the checklist (staff), an asset's follow
the asset (the tenant). Another tenant's ids, or ones the caller may not see, are 404.

An upload streams into the store first, outside any transaction, with the limit checked per
chunk; only then does one transaction attach it (blob, attachment, audit row, event). Identical
content in a tenant is one blob: a second upload of the same bytes points at the first copy and
its own is deleted again. A failure at any point deletes what was stored, so no file is left
that nothing points at.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cmms.db import crud
from cmms.db.pool import Cursor, transaction
from cmms.db.repos import assets as asset_repo
from cmms.db.repos import attachments as repo
from cmms.db.repos import orders as order_repo
from cmms.domain import events as ev
from cmms.domain import files as rules
from cmms.domain import workflow
from cmms.domain.errors import Forbidden, NotFound, TooLarge, ValidationFailed
from cmms.domain.model_queries import PageQuery
from cmms.domain.roles import STAFF, Actor
from cmms.domain.workflow import OrderRef, Status
from cmms.files.base import FileTooLarge
from cmms.services import order_work
from cmms.services.common import mutation, record, require
from cmms.services.deps import Deps

log = logging.getLogger(__name__)
Page = tuple[list[dict[str, Any]], str | None]


@dataclass(frozen=True)
class ParentRef:
    """What the URL names: `order` 7, `asset` 3, or `checklist_item` 12 of order 7."""

    type: str
    id: int
    order_id: int | None = None


@dataclass(frozen=True)
class Download:
    name: str
    content_type: str  # what the response says: never HTML or SVG
    size: int
    range: rules.ByteRange | None
    chunks: AsyncIterator[bytes]


async def _parent(cur: Cursor, actor: Actor, ref: ParentRef, *, write: bool = False) -> list[str]:
    """404 unless the caller sees the parent (403 where seeing is allowed but adding is not);
    returns the audience of the parent's events."""
    tenant = actor.tenant_id
    if ref.type == "order":
        row = await order_repo.get(cur, tenant, ref.id)
        if not workflow.may_see(actor, OrderRef(Status(row["status"]), row["assignee_id"], row["requested_by"])):
            raise NotFound(f"work order {ref.id} not found")
        return ev.order_audience(row)
    if ref.type == "asset":
        await asset_repo.get(cur, tenant, ref.id)
        if write:
            require(actor, STAFF, "attach files to assets")
        return list(ev.TENANT)
    assert ref.order_id is not None
    await order_work.readable(cur, actor, ref.order_id)
    if not await repo.checklist_item_exists(cur, tenant, ref.order_id, ref.id):
        raise NotFound(f"checklist item {ref.id} not found on work order {ref.order_id}")
    return list(ev.STAFF_ROOMS)


def _ref(row: dict[str, Any]) -> ParentRef:
    return ParentRef(row["parent_type"], int(row["parent_id"]), row["order_id"])


@dataclass(frozen=True)
class Incoming:
    """The uploaded part as the client described it: nothing here is trusted yet."""

    filename: str | None
    declared_type: str | None
    chunks: AsyncIterable[bytes]


async def upload(
    deps: Deps, actor: Actor, ref: ParentRef, receive: Callable[[], Awaitable[Incoming]]
) -> dict[str, Any]:
    """`receive` opens the request body only once the parent is known to be visible, so another
    tenant's id is 404 whatever was sent."""
    settings = deps.settings.files
    tenant = actor.tenant_id
    async with transaction(deps.pool, tenant) as cur:
        await _parent(cur, actor, ref, write=True)
        used = await repo.used_bytes(cur, tenant) if settings.tenant_quota_bytes else 0
    incoming = await receive()
    name = rules.sanitise_name(incoming.filename)
    declared_type, chunks = incoming.declared_type, incoming.chunks
    limit = settings.max_bytes
    quota = settings.tenant_quota_bytes
    if quota and used >= quota:
        raise TooLarge(f"the tenant's file quota ({quota} bytes) is used up")
    sniffed: list[str] = []
    try:
        stored = await deps.files.put(tenant, _checked(chunks, declared_type, sniffed), limit=limit)
    except FileTooLarge:
        raise TooLarge(f"the file is larger than the limit of {limit} bytes ([files] max_bytes)") from None
    try:
        async with mutation(deps, actor) as cur:
            audience = await _parent(cur, actor, ref, write=True)
            blob = await repo.claim_blob(cur, tenant, stored.sha256, stored.size, sniffed[0], stored.key)
            if quota and blob["store_key"] == stored.key and await repo.used_bytes(cur, tenant, lock=True) > quota:
                raise TooLarge(f"the file would exceed the tenant's quota ({quota} bytes; identical files count once)")
            row = await repo.insert(
                cur,
                {
                    "tenant_id": tenant,
                    "blob_id": blob["id"],
                    "parent_type": ref.type,
                    "parent_id": ref.id,
                    "order_id": ref.order_id if ref.type != "order" else ref.id,
                    "name": name,
                    "content_type": blob["content_type"],
                    "size": stored.size,
                    "sha256": stored.sha256,
                    "created_by": actor.user_id,
                },
            )
            await record(
                cur,
                actor,
                action="create",
                entity="attachment",
                entity_id=row["id"],
                changes={"name": name, "size": stored.size, "sha256": stored.sha256, "parent": _label(ref)},
                event=ev.Event(ev.ATTACHMENT_ADDED, row, audience),
            )
    except BaseException:
        await deps.files.delete(tenant, stored.key)
        raise
    if blob["store_key"] != stored.key:
        await deps.files.delete(tenant, stored.key)  # the same bytes were stored before: keep one copy
    return row


async def _checked(chunks: AsyncIterable[bytes], declared: str | None, sniffed: list[str]) -> AsyncIterator[bytes]:
    """The upload's bytes, refused as soon as their head contradicts the declared type; refused
    at the end when there were none."""
    head = bytearray()
    async for chunk in chunks:
        if not sniffed:
            head += chunk[: rules.SNIFF_BYTES - len(head)]
            if len(head) >= rules.SNIFF_BYTES:
                sniffed.append(rules.sniff(bytes(head)))
                rules.check_declared(declared, sniffed[0])
        yield chunk
    if not head:
        raise ValidationFailed("the file is empty", field="file")
    if not sniffed:
        sniffed.append(rules.sniff(bytes(head)))
        rules.check_declared(declared, sniffed[0])


def _label(ref: ParentRef) -> str:
    if ref.type == "checklist_item":
        return f"{ref.type}:{ref.id}@order:{ref.order_id}"
    return f"{ref.type}:{ref.id}"


async def list_for(deps: Deps, actor: Actor, ref: ParentRef, query: PageQuery) -> Page:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        await _parent(cur, actor, ref)
        return await repo.list_page(cur, actor.tenant_id, ref.type, ref.id, query.limit, query.cursor)


async def _visible(cur: Cursor, actor: Actor, attachment_id: int) -> tuple[dict[str, Any], list[str]]:
    row = await repo.get(cur, actor.tenant_id, attachment_id)
    if row is None:
        raise NotFound(f"file {attachment_id} not found")
    try:
        audience = await _parent(cur, actor, _ref(row))
    except (NotFound, Forbidden):
        raise NotFound(f"file {attachment_id} not found") from None
    return row, audience


async def get(deps: Deps, actor: Actor, attachment_id: int) -> dict[str, Any]:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        row, _ = await _visible(cur, actor, attachment_id)
    return {k: row[k] for k in repo.PUBLIC.split(", ")}


async def download(deps: Deps, actor: Actor, attachment_id: int, range_header: str | None) -> Download:
    async with transaction(deps.pool, actor.tenant_id) as cur:
        row, _ = await _visible(cur, actor, attachment_id)
    size = int(row["size"])
    if await deps.files.size(actor.tenant_id, row["store_key"]) != size:
        log.error("file %s: its bytes are missing from the %s store", attachment_id, deps.files.name)
        raise NotFound(f"the content of file {attachment_id} is missing from the store")
    byte_range = rules.parse_range(range_header, size)
    start, end = (byte_range.start, byte_range.end) if byte_range else (0, size)
    return Download(
        name=row["name"],
        content_type=rules.served_type(row["content_type"]),
        size=size,
        range=byte_range,
        chunks=deps.files.read(actor.tenant_id, row["store_key"], start, end),
    )


async def delete(deps: Deps, actor: Actor, attachment_id: int, version: int | None) -> None:
    """The uploader or a supervisor removes a file; its bytes go when no attachment shares them."""
    async with mutation(deps, actor) as cur:
        row, audience = await _visible(cur, actor, attachment_id)
        if row["created_by"] != actor.user_id and not actor.is_supervisor:
            raise Forbidden("only the uploader or a manager or admin may delete a file")
        crud.check_version(row, version)
        await repo.delete(cur, actor.tenant_id, attachment_id)
        orphan = await repo.release_blob(cur, actor.tenant_id, int(row["blob_id"]))
        public = {k: row[k] for k in repo.PUBLIC.split(", ")}
        await record(
            cur,
            actor,
            action="delete",
            entity="attachment",
            entity_id=attachment_id,
            changes={"name": row["name"], "sha256": row["sha256"], "parent": _label(_ref(row))},
            event=ev.Event(ev.ATTACHMENT_REMOVED, public, audience),
        )
    if orphan is not None:
        try:
            await deps.files.delete(actor.tenant_id, orphan)
        except Exception:
            log.warning("file %s: bytes not deleted from the store; the orphan sweep will", attachment_id)

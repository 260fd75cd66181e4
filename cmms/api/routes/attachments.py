"""Attachments: multipart upload (field `file`) onto orders, assets and checklist items; list;
download with ranges; delete.

Uploads stream from `request.multipart()` into the file store chunk by chunk; the size limit is
enforced as bytes arrive (and at once from Content-Length when the client sends one), never after
reading everything. Downloads are always `Content-Disposition: attachment` with `nosniff`, and
HTML or SVG is served as opaque bytes, so a file can never run in the API's origin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from pydantic import BaseModel

from cmms.api.keys import DEPS
from cmms.api.routing import ACTOR, RouteTable, if_match, json, page, path_id, read_query, streamed
from cmms.domain.errors import TooLarge, UnsupportedMedia, ValidationFailed
from cmms.domain.files import content_disposition
from cmms.domain.model_outputs import Page
from cmms.domain.model_queries import PageQuery
from cmms.services import attachments
from cmms.services.attachments import Incoming, ParentRef

routes = RouteTable("attachments")
READ = 256 * 1024  # bytes per read from the request body
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and part headers beside the file itself
UPLOAD_ERRORS = (403, 413, 415, 422)
ANY = ("*/*",)  # downloads keep the type sniffed at upload (HTML and SVG: application/octet-stream)


class Attachment(BaseModel):
    id: int
    parent_type: str
    parent_id: int
    order_id: int | None
    name: str
    content_type: str
    size: int
    sha256: str
    created_by: int | None
    created_at: str
    version: int


async def _upload(request: web.Request, ref: ParentRef) -> web.Response:
    deps = request.app[DEPS]
    limit = deps.settings.files.max_bytes
    if request.content_length is not None and request.content_length > limit + FORM_OVERHEAD:
        raise TooLarge(f"the file is larger than the limit of {limit} bytes ([files] max_bytes)")

    async def receive() -> Incoming:
        if request.content_type != "multipart/form-data":
            raise UnsupportedMedia("send multipart/form-data with the file in a part named `file`")
        part = await _file_part(request)
        return Incoming(part.filename, part.headers.get("Content-Type"), _chunks(part))

    row = await attachments.upload(deps, request[ACTOR], ref, receive)
    response = json(row, status=201, etag=row["version"])
    response.headers["Location"] = f"/api/v1/files/{row['id']}"
    return response


async def _file_part(request: web.Request) -> BodyPartReader:
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "file":
                if part.filename is None:
                    raise ValidationFailed("the `file` part needs a filename", field="file")
                return part
            skipped = 0
            while chunk := await part.read_chunk(READ) if isinstance(part, BodyPartReader) else b"":
                skipped += len(chunk)
                if skipped > FORM_OVERHEAD:
                    raise ValidationFailed("only a `file` field is read; other fields must be small", field="file")
    except (ValueError, AssertionError, HttpProcessingError) as exc:  # a malformed multipart body
        raise ValidationFailed(f"not a valid multipart body: {exc}", field="file") from None
    raise ValidationFailed("the form has no `file` field", field="file")


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(READ):
        yield chunk


def _page_query(request: web.Request) -> PageQuery:
    return read_query(request, PageQuery)


@routes.route(
    "POST",
    "/api/v1/orders/{id}/attachments",
    summary="Attach a file to a work order (multipart/form-data, the file in part `file`)",
    response=Attachment,
    status=201,
    errors=UPLOAD_ERRORS,
    headers=("Location",),
)
async def upload_order_file(request: web.Request) -> web.Response:
    return await _upload(request, ParentRef("order", path_id(request)))


@routes.route(
    "GET",
    "/api/v1/orders/{id}/attachments",
    summary="The files of a work order, newest first",
    query=PageQuery,
    response=Page[Attachment],
)
async def list_order_files(request: web.Request) -> web.Response:
    ref = ParentRef("order", path_id(request))
    return page(*await attachments.list_for(request.app[DEPS], request[ACTOR], ref, _page_query(request)))


@routes.route(
    "POST",
    "/api/v1/assets/{id}/attachments",
    summary="Attach a file to an asset: manuals, drawings, photos (staff; multipart part `file`)",
    response=Attachment,
    status=201,
    errors=UPLOAD_ERRORS,
    headers=("Location",),
)
async def upload_asset_file(request: web.Request) -> web.Response:
    return await _upload(request, ParentRef("asset", path_id(request)))


@routes.route(
    "GET",
    "/api/v1/assets/{id}/attachments",
    summary="The files of an asset, newest first",
    query=PageQuery,
    response=Page[Attachment],
)
async def list_asset_files(request: web.Request) -> web.Response:
    ref = ParentRef("asset", path_id(request))
    return page(*await attachments.list_for(request.app[DEPS], request[ACTOR], ref, _page_query(request)))


@routes.route(
    "POST",
    "/api/v1/orders/{id}/checklist/items/{item_id}/attachments",
    summary="Attach a file to a checklist item, e.g. the photo of a failed check (staff; part `file`)",
    response=Attachment,
    status=201,
    errors=UPLOAD_ERRORS,
    headers=("Location",),
)
async def upload_item_file(request: web.Request) -> web.Response:
    return await _upload(request, ParentRef("checklist_item", path_id(request, "item_id"), path_id(request)))


@routes.route(
    "GET",
    "/api/v1/orders/{id}/checklist/items/{item_id}/attachments",
    summary="The files of a checklist item, newest first (staff)",
    query=PageQuery,
    response=Page[Attachment],
    errors=(403,),
)
async def list_item_files(request: web.Request) -> web.Response:
    ref = ParentRef("checklist_item", path_id(request, "item_id"), path_id(request))
    return page(*await attachments.list_for(request.app[DEPS], request[ACTOR], ref, _page_query(request)))


@routes.route(
    "GET",
    "/api/v1/files/{id}",
    summary="Download a file (Content-Disposition: attachment; Range for a part of it)",
    content_types=ANY,
    headers=("Content-Disposition",),
)
async def download_file(request: web.Request) -> web.StreamResponse:
    d = await attachments.download(request.app[DEPS], request[ACTOR], path_id(request), request.headers.get("Range"))
    response = streamed(request, status=206 if d.range else 200)
    response.content_type = d.content_type
    response.content_length = d.range.length if d.range else d.size
    response.headers["Content-Disposition"] = content_disposition(d.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Accept-Ranges"] = "bytes"
    if d.range:
        response.headers["Content-Range"] = f"bytes {d.range.start}-{d.range.end - 1}/{d.size}"
    await response.prepare(request)
    sent = 0
    async for chunk in d.chunks:
        sent += len(chunk)
        await response.write(chunk)
    if sent != response.content_length:  # deleted while being sent: cut the connection, never pad
        raise ConnectionResetError(f"file {path_id(request)}: {sent} of {response.content_length} bytes sent")
    await response.write_eof()
    return response


@routes.route(
    "GET",
    "/api/v1/files/{id}/info",
    summary="A file's name, type, size, hash, uploader and parent",
    response=Attachment,
)
async def file_info(request: web.Request) -> web.Response:
    row = await attachments.get(request.app[DEPS], request[ACTOR], path_id(request))
    return json(row, etag=row["version"])


@routes.route(
    "DELETE",
    "/api/v1/files/{id}",
    summary="Delete a file (its uploader, or a manager or admin)",
    status=204,
    errors=(403,),
)
async def delete_file(request: web.Request) -> web.Response:
    await attachments.delete(request.app[DEPS], request[ACTOR], path_id(request), if_match(request))
    return web.Response(status=204)

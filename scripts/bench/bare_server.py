"""The bare baseline for scripts/bench_events.py: python-socketio on aiohttp and nothing else.

Every socket joins room "r" on connect (any auth is accepted). Each `POST /api/v1/orders` builds an
envelope shaped like the product's `order:created` and does only
`await sio.emit("order:created", envelope, room="r")`, then answers 201 with the order.
This is the measurement of LIBRARY-NOTES.md (p50 138 ms / p99 422 ms at 1,000 sockets).

    python scripts/bench/bare_server.py --port 8099 [--redis-url redis://127.0.0.1:6379/9]

--redis-url puts an AsyncRedisManager in front of the emit (the product's cross-node fan-out hop),
to separate the cost of Redis from the cost of python-socketio itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web


def make_app(redis_url: str | None) -> web.Application:
    manager = socketio.AsyncRedisManager(redis_url, channel="bench-bare") if redis_url else None
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager, cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app, socketio_path="socket.io")
    ids = itertools.count(1)

    @sio.on("connect")
    async def connect(sid: str, environ: dict[str, Any], auth: Any) -> None:
        await sio.enter_room(sid, "r")

    async def create(request: web.Request) -> web.Response:
        body = await request.json()
        n = next(ids)
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        order = {
            "id": n,
            "tenant_id": 1,
            "number": f"WO-{n:06d}",
            "title": body.get("title", ""),
            "description": "",
            "type": "corrective",
            "priority": "medium",
            "status": "open",
            "plan_id": None,
            "closed_at": None,
            "asset_id": None,
            "plant_id": None,
            "assignee_id": None,
            "requested_by": 2,
            "due_at": None,
            "started_at": None,
            "completed_at": None,
            "downtime_minutes": 0,
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        envelope = {"seq": n, "type": "order:created", "at": now, "tenant_id": 1, "data": order}
        await sio.emit("order:created", envelope, room="r")
        return web.Response(status=201, text=json.dumps(order), content_type="application/json")

    async def live(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_post("/api/v1/orders", create)
    app.router.add_get("/health/live", live)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", help="fan out through AsyncRedisManager on this Redis")
    args = parser.parse_args()
    web.run_app(make_app(args.redis_url), host=args.host, port=args.port, print=None, shutdown_timeout=1.0)


if __name__ == "__main__":
    main()

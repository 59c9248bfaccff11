"""Seed 004: the ``wish-list-service`` function, ported from Node to Python, stored in SQLite.

The seed's Lambda switches on ``event.requestContext.http.method`` (payload 2.0):

* ``GET``  → ``ddb.scan`` of the WishList table, returned as 200 ``{"Items": [...], "Count": n,
  "ScannedCount": n}`` (the DocumentClient's scan shape, ``JSON.stringify``'d: compact);
* ``POST`` → ``JSON.parse(event.body)`` for ``{name, url, description}``, ``put`` with
  ``id = context.awsRequestId``, → 201 ``{"id": <request id>}``;
* anything else → ``break``: the function returns nothing (``null``), which an HTTP API turns into
  its inferred 200 response.

The table is a SQLite database at ``$WISHLIST_DB`` (WAL journal, created with its directory if
missing), so items survive a restart. Items keep only the attributes the client sent, as the
DocumentClient drops ``undefined`` ones. A body that is not JSON raises, as ``JSON.parse`` does (→ 500).
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS wish_list (id TEXT PRIMARY KEY, item TEXT NOT NULL)"
_local = threading.local()


def _table() -> sqlite3.Connection:
    """This thread's connection to ``$WISHLIST_DB`` (opened once per thread and path)."""
    path = os.environ["WISHLIST_DB"]
    connections: dict[str, sqlite3.Connection] = _local.__dict__.setdefault("connections", {})
    conn = connections.get(path)
    if conn is None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        connections[path] = conn
    return conn


def _json(status: int, data: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "body": json.dumps(data, separators=(",", ":")),
        "headers": {"Content-Type": "application/json"},
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    method = event["requestContext"]["http"]["method"]
    if method == "GET":
        rows = _table().execute("SELECT item FROM wish_list ORDER BY rowid").fetchall()
        items = [json.loads(item) for (item,) in rows]
        return _json(200, {"Items": items, "Count": len(items), "ScannedCount": len(items)})
    if method == "POST":
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8")
        fields = json.loads(body)
        item = {"id": context.aws_request_id}
        for key in ("name", "url", "description"):
            if fields.get(key) is not None:
                item[key] = fields[key]
        _table().execute(
            "INSERT OR REPLACE INTO wish_list (id, item) VALUES (?, ?)", (item["id"], json.dumps(item))
        )
        return _json(201, {"id": context.aws_request_id})
    return None

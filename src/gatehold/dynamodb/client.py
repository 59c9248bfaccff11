"""DynamoDB's JSON protocol (``POST /`` with ``X-Amz-Target: DynamoDB_20120810.<Action>``) over httpx:
the few calls start-up makes (ListTables, DescribeTable, CreateTable). Handlers use the AWS SDKs.

The local engine does not check signatures, but DynamoDB's API needs an ``Authorization`` header of
SigV4's shape; a fixed one is sent.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

API_VERSION = "DynamoDB_20120810"
_HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request,"
    " SignedHeaders=host;x-amz-date, Signature=0",
    "X-Amz-Date": "20240101T000000Z",
}


class DynamoDBError(Exception):
    """An error answer: ``code`` is the exception's name (``ResourceNotFoundException``)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class Client:
    """Calls to the endpoint at ``url`` (``http://127.0.0.1:8001``)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout)

    async def call(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            "/",
            content=orjson.dumps(payload),
            headers={**_HEADERS, "X-Amz-Target": f"{API_VERSION}.{action}"},
        )
        body: dict[str, Any] = orjson.loads(response.content) if response.content else {}
        if response.status_code != 200:
            code = str(body.get("__type", "")).rpartition("#")[2] or f"HTTP {response.status_code}"
            message = str(body.get("message") or body.get("Message") or "")
            raise DynamoDBError(code, message, response.status_code)
        return body

    async def table_names(self) -> list[str]:
        names: list[str] = []
        start: str | None = None
        while True:
            page = await self.call("ListTables", {"ExclusiveStartTableName": start} if start else {})
            names += page.get("TableNames", [])
            start = page.get("LastEvaluatedTableName")
            if not start:
                return names

    async def describe(self, name: str) -> dict[str, Any]:
        table: dict[str, Any] = (await self.call("DescribeTable", {"TableName": name}))["Table"]
        return table

    async def aclose(self) -> None:
        await self.http.aclose()

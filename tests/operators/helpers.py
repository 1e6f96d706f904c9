"""Helpers for the operator tests: real loopback HTTP servers, real image files, DAG snippets.

``RequestRecorder`` is a ``tests.loopback.LoopbackServer`` that records every request it receives; with
``upstream`` set it also forwards each request unchanged to that base URL (the emulator), so a test can see
the exact bodies the operator sent while Kling's side still validates and answers them.
"""

from __future__ import annotations

import asyncio
import json
import re
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from tests.loopback import LoopbackServer

# Tests wait on emulator tasks that take about a second, not on the task types' realistic first delay.
DAG_HEADER = (
    "with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2026, 1, 1),"
    " default_args={'initial_delay': 0}) as dag:\n"
)
IMPORTS = (
    "from airflow_provider_kling.operators.kling import (\n"
    "    KlingCreateTaskOperator, KlingExtendVideoOperator, KlingImageGenerationOperator,\n"
    "    KlingImageToVideoOperator, KlingMultiImageToVideoOperator, KlingTextToVideoOperator,\n"
    "    KlingVirtualTryOnOperator,\n"
    ")\n"
)


def dag_body(*lines: str, imports: str = IMPORTS) -> str:
    """A DAG file body for ``run_dag``: the operator imports, the DAG header and indented task lines."""
    return imports + DAG_HEADER + "".join(f"    {line}\n" for line in lines)


def output_of(capfd: Any) -> str:
    """Everything the DAG run printed (task logs included), for checking failure messages."""
    captured = capfd.readouterr()
    return captured.out + captured.err


def task_error(output: str) -> str:
    """The exception lines of a failed task's log (``SomeError: message``), joined."""
    return "\n".join(
        line for line in output.splitlines() if re.match(r"^[\w.]+(Error|Exception|Timeout): ", line)
    )


class RequestRecorder:
    """``with RequestRecorder(upstream=emulator.url) as server: ... server.url ... server.requests``."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None  # created on the server's loop, on first use
        self._server: LoopbackServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def __enter__(self) -> RequestRecorder:
        self._server = LoopbackServer(self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        if self._session is not None:
            asyncio.run_coroutine_threadsafe(self._session.close(), self._server.loop).result(10)
        self._server.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        record = {
            "t": time.time(),
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "body": body,
            "user_agent": request.headers.get("User-Agent", ""),
        }
        with self._lock:
            self.requests.append(record)
        if self.upstream is None:
            return web.json_response({"ok": True})
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {k: v for k, v in request.headers.items() if k in ("Authorization", "Content-Type")}
        async with self._session.request(
            request.method, self.upstream + request.rel_url.raw_path_qs, data=raw or None, headers=headers
        ) as answer:
            content = await answer.read()
            keep = {k: v for k, v in answer.headers.items() if k in ("Content-Type", "Retry-After")}
            return web.Response(status=answer.status, body=content, headers=keep)

    def matching(self, method: str, path_part: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["method"] == method and path_part in r["path"]]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate(requests)`` holds (callbacks arrive asynchronously)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                if predicate(list(self.requests)):
                    return True
            time.sleep(0.05)
        return False


def make_jpeg_header(width: int, height: int) -> bytes:
    """The marker structure of a baseline JPEG (SOI, APP0/JFIF, SOF0 with the size, EOI).

    Enough for every check that reads a JPEG's header (the provider's, and Kling's Base64 check); it
    carries no scan data, so it is not a picture a decoder would render.
    """
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x01\x03\x11\x01"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xc0"
        + struct.pack(">H", len(sof0) + 2)
        + sof0
        + b"\xff\xd9"
    )

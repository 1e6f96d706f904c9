"""Helpers for the operator tests: real loopback HTTP servers, real image files, DAG snippets.

``LoopbackServer`` is an ``aiohttp.web`` app on 127.0.0.1 in its own thread. It records every request it
receives; with ``upstream`` set it also forwards each request unchanged to that base URL (the emulator), so a
test can see the exact bodies the operator sent while Kling's side still validates and answers them.
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


class LoopbackServer:
    """``with LoopbackServer(upstream=emulator.url) as server: ... server.url ... server.requests``."""

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self.requests: list[dict[str, Any]] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self._run, name="loopback-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30) or not self.port:
            raise RuntimeError("loopback server did not start")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            runner = loop.run_until_complete(self._start())
        finally:
            self._ready.set()
        try:
            loop.run_forever()
        finally:
            if self._session is not None:
                loop.run_until_complete(self._session.close())
            loop.run_until_complete(runner.cleanup())
            loop.close()

    async def _start(self) -> web.AppRunner:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, shutdown_timeout=0.5).start()
        self.port = int(runner.addresses[0][1])
        self._session = aiohttp.ClientSession() if self.upstream else None
        return runner

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
        assert self._session is not None
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

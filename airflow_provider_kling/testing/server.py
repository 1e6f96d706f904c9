"""Run a KlingEmulator on its own event loop in a daemon thread, for synchronous tests and scripts."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from airflow_provider_kling.testing.config import EmulatorConfig
from airflow_provider_kling.testing.emulator import KlingEmulator

T = TypeVar("T")


async def start_site(
    emulator: KlingEmulator, host: str, port: int, ssl_context: ssl.SSLContext | None
) -> tuple[web.AppRunner, int]:
    """Start listening; returns the runner (for cleanup) and the port actually bound."""
    runner = web.AppRunner(emulator.make_app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context, shutdown_timeout=0.5)
    await site.start()
    return runner, int(runner.addresses[0][1])


class EmulatorServer:
    """``with EmulatorServer() as server: ... server.url ...``; state calls run on the server's loop."""

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.emulator = KlingEmulator(config)
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> EmulatorServer:
        """Return once the socket is listening (raises what the start-up raised)."""
        if self._thread is not None:
            return self
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="kling-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("Kling emulator did not start within 30 s")
        if self._error is not None:
            self._thread = None
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            self._runner, self.port = loop.run_until_complete(
                start_site(self.emulator, self.host, self.port, self.ssl_context)
            )
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._thread = None
        self._loop = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop (the emulator is not thread-safe) and return its result."""
        if self._loop is None:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    def configure(self, **updates: Any) -> dict[str, Any]:
        """Shallow-merge config fields (``fail_requests=[...]``, ``clock_offset=60``); returns the config."""
        return self.call(lambda: self.emulator.update_config(updates))

    def reset(self) -> None:
        self.call(self.emulator.reset)

    def stats(self) -> dict[str, Any]:
        return self.call(self.emulator.stats_dict)

    def task(self, task_id: str) -> dict[str, Any] | None:
        """The task object as a query would return it now, or None."""
        return self.call(lambda: self.emulator.task_snapshot(task_id, self.url))

"""Run one aiohttp handler on 127.0.0.1 in a daemon thread: a real server for tests that script answers."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LoopbackServer:
    """``LoopbackServer(handler)``: every path and method goes to ``handler``; ``.url``, ``.stop()``."""

    def __init__(self, handler: Handler) -> None:
        self.loop = asyncio.new_event_loop()
        self.url = ""
        ready = threading.Event()

        async def start() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handler)
            self.runner = web.AppRunner(app)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", 0).start()
            self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
            ready.set()

        def run() -> None:
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("loopback server did not start")

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """``RawServer(handler)``: a TCP server on 127.0.0.1 whose handler writes raw bytes (for answers no HTTP
    library would send: cut or dribbled headers, bad ``Content-Length``); ``.url``, ``.stop()``."""

    def __init__(self, handler: RawHandler, ssl_context: ssl.SSLContext | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.url = ""
        ready = threading.Event()

        async def start() -> None:
            self.server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
            scheme = "https" if ssl_context else "http"
            self.url = f"{scheme}://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
            ready.set()

        def run() -> None:
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        if not ready.wait(10):
            raise RuntimeError("raw loopback server did not start")

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)

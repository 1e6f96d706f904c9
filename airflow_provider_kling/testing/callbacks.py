"""Status-change callbacks (kling-api.md §7) from a single background loop, not one timer per task.

The loop sleeps on an event while no task with a ``callback_url`` is unfinished; otherwise it wakes every
``callback_interval`` seconds and POSTs, in order, each transition that has happened since the last tick
(submitted, processing, succeed/failed), as the bare task object seen at that transition. A failed delivery
is counted and not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from airflow_provider_kling.testing.config import EmulatorConfig
from airflow_provider_kling.testing.tasks import TERMINAL, Task, render_task


class CallbackDispatcher:
    def __init__(
        self,
        settings: Callable[[], EmulatorConfig],
        now: Callable[[], float],
        record: Callable[[bool], None],
    ) -> None:
        self._settings = settings
        self._now = now
        self._record = record  # called with True per delivered callback, False per failed one
        self.pending: dict[str, Task] = {}
        self._wakeup: asyncio.Event | None = None

    def add(self, task: Task) -> None:
        self.pending[task.task_id] = task
        if self._wakeup is not None:
            self._wakeup.set()

    def clear(self) -> None:
        self.pending.clear()

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp ``cleanup_ctx``: run the loop (and its client session) for the app's lifetime."""
        self._wakeup = wakeup = asyncio.Event()
        if self.pending:
            wakeup.set()
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=50))
        loop_task = asyncio.create_task(self._loop(session, wakeup))
        yield
        loop_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop_task
        await session.close()
        self._wakeup = None

    async def _loop(self, session: aiohttp.ClientSession, wakeup: asyncio.Event) -> None:
        while True:
            await wakeup.wait()
            while self.pending:
                await asyncio.sleep(self._settings().callback_interval)
                now = self._now()
                jobs = []
                for task in list(self.pending.values()):
                    due = [t for t in task.transitions() if t[1] <= now][task.callbacks_sent :]
                    if due:
                        jobs.append(self._send(session, task, due))
                await asyncio.gather(*jobs)
            wakeup.clear()

    async def _send(self, session: aiohttp.ClientSession, task: Task, due: list[tuple[str, float]]) -> None:
        for status, at in due:
            body = render_task(task, at, task.base_url)
            task.callbacks_sent += 1
            try:
                timeout = aiohttp.ClientTimeout(total=self._settings().callback_timeout)
                async with session.post(str(task.callback_url), json=body, timeout=timeout) as response:
                    delivered = 200 <= response.status < 300
            except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
                delivered = False
            self._record(delivered)
            if status in TERMINAL:
                self.pending.pop(task.task_id, None)

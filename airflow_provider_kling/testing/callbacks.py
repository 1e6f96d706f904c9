"""Status-change callbacks (kling-api.md §7) from a single background loop, not one timer per task.

The loop sleeps on an event while no task with a ``callback_url`` is unfinished; otherwise it wakes every
``callback_interval`` seconds and POSTs, in order, each transition that has happened since the last tick
(submitted, processing, succeed/failed), as the bare task object seen at that transition. A failed delivery
is counted and not retried (Kling documents no retries).

Config knobs: ``webhook_secret`` signs each delivery (``webhooks.py``); ``callback_wrapped`` sends the task
inside ``{code, message, request_id, data}`` (one source shows that form); ``callback_drop_rate`` and
``callback_duplicate_rate`` lose or repeat deliveries; each (task, status) draws from a generator seeded with
``seed``, the task's creation rank and the status, so a seed always yields the same faults however the ticks
fall.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web

from airflow_provider_kling.testing.config import EmulatorConfig
from airflow_provider_kling.testing.tasks import TERMINAL, Task, render_task
from airflow_provider_kling.testing.webhooks import signature_headers

Delivery = tuple[str, float, int]  # (status, time of the transition, number of copies to send: 0, 1 or 2)


class CallbackDispatcher:
    def __init__(
        self,
        settings: Callable[[], EmulatorConfig],
        now: Callable[[], float],
        record: Callable[[str], None],
    ) -> None:
        self._settings = settings
        self._now = now
        self._record = record  # called with "sent", "failed", "dropped" or "duplicated"
        self.pending: dict[str, Task] = {}
        self._wakeup: asyncio.Event | None = None
        self._rank: dict[str, int] = {}  # task id -> creation rank among tasks with a callback_url

    def add(self, task: Task) -> None:
        self._rank[task.task_id] = len(self._rank)
        self.pending[task.task_id] = task
        if self._wakeup is not None:
            self._wakeup.set()

    def clear(self) -> None:
        self.pending.clear()
        self._rank.clear()

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
                        task.callbacks_sent += len(due)
                        if due[-1][0] in TERMINAL:
                            self.pending.pop(task.task_id, None)
                        deliveries = [(status, at, self._copies(task, status)) for status, at in due]
                        jobs.append(self._send(session, task, deliveries))
                await asyncio.gather(*jobs)
            wakeup.clear()

    def _copies(self, task: Task, status: str) -> int:
        """How many times to deliver one transition: 0 (dropped), 1, or 2 (duplicated)."""
        cfg = self._settings()
        if not cfg.callback_drop_rate and not cfg.callback_duplicate_rate:
            return 1
        draw = random.Random(f"{cfg.seed}/{self._rank[task.task_id]}/{status}").random()
        if draw < cfg.callback_drop_rate:
            return 0
        return 2 if draw < cfg.callback_drop_rate + cfg.callback_duplicate_rate else 1

    async def _send(self, session: aiohttp.ClientSession, task: Task, due: list[Delivery]) -> None:
        cfg = self._settings()
        for status, at, copies in due:
            if copies == 0:
                self._record("dropped")
                continue
            data = render_task(task, at, task.base_url)
            payload = (
                {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()), "data": data}
                if cfg.callback_wrapped
                else data
            )
            body = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json"}
            if cfg.webhook_secret:
                message_id = "msg_" + uuid.uuid5(uuid.NAMESPACE_URL, f"{task.task_id}/{status}").hex
                headers |= signature_headers(cfg.webhook_secret, message_id, int(self._now()), body)
            if copies == 2:
                self._record("duplicated")
            for _ in range(copies):
                self._record(
                    "sent" if await self._post(session, str(task.callback_url), body, headers) else "failed"
                )

    async def _post(
        self, session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
    ) -> bool:
        try:
            timeout = aiohttp.ClientTimeout(total=self._settings().callback_timeout)
            async with session.post(url, data=body, headers=headers, timeout=timeout) as response:
                return 200 <= response.status < 300
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError):
            return False

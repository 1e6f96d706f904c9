"""``KlingResubmitTrigger``: wait in the triggerer while the account's concurrency is full, then hand back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class KlingResubmitTrigger(BaseTrigger):
    """Sleep until ``moment`` (epoch seconds, so a restart keeps it), then fire with ``state`` as the event.

    The operator's submission state travels in the event rather than in ``defer(kwargs=...)``, because
    ``dag.test()`` resumes with the event alone. No request is made here: resubmitting is the worker's job.
    """

    def __init__(self, moment: float, state: dict[str, Any]) -> None:
        super().__init__()
        self.moment = float(moment)
        self.state = dict(state)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "moment": self.moment,
            "state": self.state,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(max(0.0, self.moment - time.time()))
        yield TriggerEvent({"status": "resubmit", **self.state})

"""``KlingTaskTrigger``: wait for a Kling task in the triggerer, polling its query endpoint."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.common.compat.sdk import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

from airflow_provider_kling.exceptions import KlingError
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.outcomes import record_success
from airflow_provider_kling.protocol import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    DEFAULT_POLL_INTERVAL,
    event_for_task,
    make_event,
)
from airflow_provider_kling.results import AudioFormat
from airflow_provider_kling.retry import RetryPolicy

#: Wake-ups are rounded up to a multiple of a tick of the loop clock: a tenth of the poll interval, at most
#: this many seconds. A triggerer running thousands of waits then wakes once per tick for all the polls due in
#: it, instead of once per poll: about half the CPU per poll (benchmarks/README.md), for detection at most one
#: tick later.
MAX_WAKE_TICK = 0.5


async def sleep_until_tick(seconds: float, tick: float) -> None:
    """Sleep at least ``seconds``, until the next multiple of ``tick``; ``0`` does not sleep."""
    if seconds <= 0:
        return
    loop = asyncio.get_running_loop()
    now = loop.time()
    await asyncio.sleep(math.ceil((now + seconds) / tick) * tick - now)


class KlingTaskTrigger(BaseTrigger):
    """Poll ``GET {base}/v1/{action}/{action2}/{task_id}`` until the task ends, then yield one event.

    Only idempotent GETs, so running twice (triggerer restart, HA) is harmless. ``deadline`` is absolute
    (epoch seconds) so a re-created trigger keeps it. Transient failures back off (jittered, capped,
    ``Retry-After`` honoured) up to ``max_consecutive_failures``; every path that does not end the wait
    sleeps, so no error can turn this into a busy loop.

    :param task_type: Kling task type, e.g. ``text2video``.
    :param task_id: the Kling task id.
    :param kling_conn_id: the ``kling`` connection id (resolved here, never serialized as secrets).
    :param poll_interval: seconds between polls while the task runs (wake-ups are rounded up to a tick of
        ``min(poll_interval / 10, MAX_WAKE_TICK)``).
    :param deadline: epoch seconds after which the wait ends with a ``timeout`` event; ``None`` = no limit.
    :param initial_delay: seconds before the first poll (generations take minutes).
    :param max_consecutive_failures: transient failures in a row before giving up with ``error``.
    :param backoff_base: first backoff ceiling in seconds, doubled per consecutive failure.
    :param backoff_max: largest backoff in seconds.
    :param end_from_trigger: on success, end the task here (Airflow marks it successful and stores the
        XComs) instead of resuming it on a worker; any other outcome still resumes it, to fail or retry there.
    :param audio_format: which audio URL ``return_value`` lists when the task ends here.
    :param push_return_value: whether the task ended here gets ``return_value`` (its ``do_xcom_push``).
    """

    def __init__(
        self,
        task_type: str,
        task_id: str,
        kling_conn_id: str = "kling_default",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        deadline: float | None = None,
        initial_delay: float = 0.0,
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        end_from_trigger: bool = False,
        audio_format: AudioFormat = "mp3",
        push_return_value: bool = True,
    ) -> None:
        super().__init__()
        if not (math.isfinite(poll_interval) and poll_interval > 0):
            raise ValueError(f"poll_interval must be a finite number > 0; got {poll_interval}")
        if deadline is not None and not math.isfinite(deadline):
            raise ValueError(f"deadline must be finite epoch seconds or None; got {deadline}")
        if max_consecutive_failures < 1:
            raise ValueError(f"max_consecutive_failures must be >= 1; got {max_consecutive_failures}")
        self.task_type = task_type
        # BaseTrigger.task_id is the Airflow task id (set by the triggerer), so ours lives elsewhere.
        self.kling_task_id = task_id
        self.kling_conn_id = kling_conn_id
        self.poll_interval = float(poll_interval)
        self.deadline = None if deadline is None else float(deadline)
        self.initial_delay = float(initial_delay)
        self.max_consecutive_failures = int(max_consecutive_failures)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.end_from_trigger = bool(end_from_trigger)
        self.audio_format: AudioFormat = audio_format
        self.push_return_value = bool(push_return_value)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "task_type": self.task_type,
                "task_id": self.kling_task_id,
                "kling_conn_id": self.kling_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "initial_delay": self.initial_delay,
                "max_consecutive_failures": self.max_consecutive_failures,
                "backoff_base": self.backoff_base,
                "backoff_max": self.backoff_max,
                "end_from_trigger": self.end_from_trigger,
                "audio_format": self.audio_format,
                "push_return_value": self.push_return_value,
            },
        )

    def _seconds_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.time()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self._wait()
        if self.end_from_trigger and event["status"] == "success":
            urls, xcoms = record_success(event, self.audio_format, self.log)
            if self.push_return_value:
                xcoms = {"return_value": urls, **xcoms}
            yield await self._end_task(xcoms)
        else:
            yield TriggerEvent(event)

    async def _end_task(self, xcoms: dict[str, Any]) -> TaskSuccessEvent:
        """The event that ends the task with ``xcoms``.

        Airflow 3 (3.3 at least) stores the ``xcoms`` of a ``TaskSuccessEvent`` JSON-encoded twice: a list
        reaches the next task as its text. So on Airflow 3 they are stored first through the task SDK's XCom
        (its configured backend, as a worker stores them) and the event carries none; Airflow 2 stores the
        event's own correctly. Without a task instance (``dag.test()`` runs triggers inline and resumes the
        task, which then looks the result up itself) they stay in the event.
        """
        ti = getattr(self, "task_instance", None)
        try:
            from airflow.sdk.execution_time.xcom import XCom
        except ImportError:  # Airflow 2
            return TaskSuccessEvent(xcoms=xcoms)
        if ti is None:
            return TaskSuccessEvent(xcoms=xcoms)
        for key, value in xcoms.items():
            await XCom.aset(
                key, value, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index
            )
        return TaskSuccessEvent()

    async def _wait(self) -> dict[str, Any]:
        # The hook makes one attempt per poll; this loop owns the backoff and the failure budget.
        hook = KlingHook(self.kling_conn_id, retry_policy=RetryPolicy(max_retries=0))
        backoff = RetryPolicy(base_delay=self.backoff_base, max_delay=self.backoff_max)
        tick = min(self.poll_interval / 10, MAX_WAKE_TICK)
        failures = 0
        last_status = "not yet polled"
        try:
            await sleep_until_tick(min(self.initial_delay, self._seconds_left()), tick)
            while True:
                if self._seconds_left() <= 0:
                    return make_event(
                        "timeout",
                        self.task_type,
                        self.kling_task_id,
                        f"Kling task {self.kling_task_id} did not finish before the deadline (last status: "
                        f"{last_status})",
                    )
                try:
                    task = await hook.aget_task(self.task_type, self.kling_task_id)
                except (KlingError, ValueError, AirflowNotFoundException) as err:
                    if not backoff.is_retryable(err):
                        return make_event("error", self.task_type, self.kling_task_id, f"{err}")
                    failures += 1
                    if failures >= self.max_consecutive_failures:
                        return make_event(
                            "error",
                            self.task_type,
                            self.kling_task_id,
                            f"Gave up polling Kling task {self.kling_task_id} after {failures} consecutive "
                            f"failures; last: {err}",
                        )
                    wait = backoff.delay(failures - 1, err)
                    self.log.warning(
                        "Polling Kling task %s failed (%s); next poll in %.1fs", self.kling_task_id, err, wait
                    )
                else:
                    failures = 0
                    last_status = str(task.get("task_status"))
                    event = event_for_task(self.task_type, task)
                    if event is not None:
                        return event
                    wait = self.poll_interval
                await sleep_until_tick(min(wait, self._seconds_left()), tick)
        finally:
            await hook.aclose()

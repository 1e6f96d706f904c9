"""How the operators and the sensor wait for a Kling task, and how a wait's event becomes the task's outcome.

The event itself is defined in ``protocol.py``. The outcome is made on the worker, except for a success that
the trigger ends itself (``end_from_trigger``); both record a success with ``outcomes.record_success``. Light
on purpose: DAG files import it through the operator and sensor modules."""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

from airflow_provider_kling import metrics
from airflow_provider_kling.exceptions import KlingError
from airflow_provider_kling.outcomes import record_success
from airflow_provider_kling.protocol import (
    ENDED_IN_TRIGGERER,
    EVENT_STATUSES,
    KLING_TASK_XCOM_KEY,
    event_for_task,
)
from airflow_provider_kling.results import AudioFormat
from airflow_provider_kling.spec import get_task_type

if TYPE_CHECKING:
    from airflow_provider_kling.hooks.kling import KlingHook
    from airflow_provider_kling.triggers.kling import KlingTaskTrigger


def complete_wait(
    context: Any,
    event: Any,
    *,
    soft_fail: bool = False,
    audio_format: AudioFormat = "mp3",
    log: Any = None,
) -> list[str]:
    """Turn a wait's event into the task result: the result URLs (with the ``kling_task`` and ``kling_units``
    XComs, ``record_success``), or raise (a failed generation pushes ``kling_task`` first).

    ``failed`` raises ``AirflowFailException`` (an Airflow retry cannot change a failed generation),
    ``timeout`` raises ``AirflowSensorTimeout``; with ``soft_fail`` both skip instead. ``error`` raises a
    ``KlingError`` carrying Kling's code and message. Anything else is rejected loudly. Outcomes, units and
    times go to Airflow's metrics (``metrics.py``)."""
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise KlingError(f"Unexpected event from the Kling trigger: {event!r}")
    status, message = event["status"], str(event.get("message") or "")
    task: dict[str, Any] = event["task"] if isinstance(event.get("task"), dict) else {}
    if status == "success":
        urls, xcoms = record_success(event, audio_format, log)
        for key, value in xcoms.items():
            context["ti"].xcom_push(key=key, value=value)
        return urls
    if status == "failed":
        metrics.task_finished(str(event.get("task_type")), task, succeeded=False)
        if task:
            # The failed task object too: Kling's task_status_msg is the reason people look for (the gallery).
            context["ti"].xcom_push(key=KLING_TASK_XCOM_KEY, value=task)
    if soft_fail and status in ("failed", "timeout"):
        raise AirflowSkipException(f"{message} (soft_fail is set, so the task is skipped)")
    if status == "failed":
        raise AirflowFailException(message)
    if status == "timeout":
        raise AirflowSensorTimeout(message)
    raise KlingError(message)


class KlingWaitMixin:
    """What the sensor and the operators share about waiting: timing, the trigger they defer to, the resume.

    ``poll_interval``/``initial_delay`` of ``None`` mean the task type's defaults (see
    ``spec.KlingTaskType``).
    """

    kling_task_type: str
    kling_conn_id: str
    poll_interval: float | None
    initial_delay: float | None
    max_consecutive_failures: int
    soft_fail: bool = False
    audio_format: AudioFormat = "mp3"
    end_from_trigger: bool = False
    do_xcom_push: bool
    #: The Kling task object the wait ended with (for OpenLineage), once it ended.
    finished_task: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> KlingHook:
        """The ``kling`` connection's hook, made on first use (never while the DAG file is parsed)."""
        from airflow_provider_kling.hooks.kling import KlingHook

        return KlingHook(self.kling_conn_id)

    def wait_timing(self, task: dict[str, Any]) -> tuple[float, float]:
        """``(poll_interval, first_wait)`` for a task the worker has just created or checked.

        ``initial_delay`` counts from the task's ``created_at``, so a sensor attached to an older task does
        not wait it out again; and the first poll waits at least one interval, since the worker just asked.
        """
        defaults = get_task_type(self.kling_task_type)
        poll = float(defaults.poll_interval if self.poll_interval is None else self.poll_interval)
        initial = float(defaults.initial_delay if self.initial_delay is None else self.initial_delay)
        created_ms = task.get("created_at")
        age = time.time() - created_ms / 1000 if isinstance(created_ms, int | float) else 0.0
        return poll, max(poll, initial - max(0.0, age))

    def wait_trigger(self, task: dict[str, Any], *, timeout: float) -> KlingTaskTrigger:
        """A trigger for this task whose absolute deadline is ``timeout`` seconds from now."""
        from airflow_provider_kling.triggers.kling import KlingTaskTrigger

        poll, first_wait = self.wait_timing(task)
        return KlingTaskTrigger(
            task_type=self.kling_task_type,
            task_id=str(task["task_id"]),
            kling_conn_id=self.kling_conn_id,
            poll_interval=poll,
            deadline=time.time() + float(timeout),
            initial_delay=first_wait,
            max_consecutive_failures=int(self.max_consecutive_failures),
            end_from_trigger=self.end_from_trigger,
            audio_format=self.audio_format,
            push_return_value=self.do_xcom_push,
        )

    def complete(self, context: Any, event: Any) -> list[str]:
        """End the wait with ``event`` (``complete_wait``), keeping the task object for lineage."""
        if isinstance(event, dict) and isinstance(event.get("task"), dict):
            self.finished_task = event["task"]
        log = getattr(self, "log", None)
        return complete_wait(
            context, event, soft_fail=self.soft_fail, audio_format=self.audio_format, log=log
        )

    def execute_complete(self, context: Any, event: Any = None) -> list[str]:
        """Resume after the trigger fired: URLs on success, the matching exception otherwise."""
        if self.end_from_trigger and event == ENDED_IN_TRIGGERER:
            event = self.look_up_ended_task(context)
        return self.complete(context, event)

    def waited_task_id(self, context: Any) -> str:
        """The id of the Kling task this wait was on (after a resume, from what the task left)."""
        raise NotImplementedError

    def look_up_ended_task(self, context: Any) -> dict[str, Any]:
        """The event for a wait whose trigger ended the task itself (``end_from_trigger``) and yet resumed it
        here: ``dag.test()`` runs triggers inline and hands every event back to the task. One query."""
        task_id = self.waited_task_id(context)
        task = self.hook.get_task(self.kling_task_type, task_id)
        event = event_for_task(self.kling_task_type, task)
        if event is None:
            raise KlingError(f"Kling task {task_id} is still {task.get('task_status')} after its wait ended")
        return event

"""How a wait on a Kling task ends, shared by the trigger, the sensor (all modes) and the operators.

A wait ends in exactly one event ``{"status", "task_type", "task_id", "task", "message"}`` whose status is
one of ``EVENT_STATUSES``; ``complete_wait`` turns it into the Airflow outcome. Light on purpose: DAG files
import it through the operator and sensor modules.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

from airflow_provider_kling.exceptions import KlingError
from airflow_provider_kling.task_types import get_task_type, result_urls

if TYPE_CHECKING:
    from airflow_provider_kling.triggers.kling import KlingTaskTrigger

DEFAULT_WAIT_TIMEOUT = 2 * 60 * 60
DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_MAX_CONSECUTIVE_FAILURES = 10
RUNNING_STATUSES = frozenset({"submitted", "processing"})
EVENT_STATUSES = frozenset({"success", "failed", "timeout", "error"})
KLING_TASK_XCOM_KEY = "kling_task"


def make_event(
    status: str, task_type: str, task_id: str, message: str, task: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An event payload: plain JSON, no secrets."""
    return {"status": status, "task_type": task_type, "task_id": task_id, "task": task, "message": message}


def event_for_task(task_type: str, task: dict[str, Any]) -> dict[str, Any] | None:
    """The terminal event for a polled task object, or ``None`` while Kling is still working on it."""
    task_id = str(task.get("task_id"))
    status = task.get("task_status")
    if status in RUNNING_STATUSES:
        return None
    if status == "succeed":
        return make_event("success", task_type, task_id, f"Kling task {task_id} succeeded", task)
    if status == "failed":
        reason = task.get("task_status_msg") or "(Kling gave no reason)"
        return make_event("failed", task_type, task_id, f"Kling task {task_id} failed: {reason}", task)
    return make_event(
        "error",
        task_type,
        task_id,
        f"Kling task {task_id} has an unknown task_status {status!r} (expected submitted, processing, "
        "succeed or failed)",
        task,
    )


def complete_wait(context: Any, event: Any, *, soft_fail: bool = False) -> list[str]:
    """Turn a wait's event into the task result: the result URLs (and the ``kling_task`` XCom), or raise.

    ``failed`` raises ``AirflowFailException`` (an Airflow retry cannot change a failed generation),
    ``timeout`` raises ``AirflowSensorTimeout``; with ``soft_fail`` both skip instead. ``error`` raises a
    ``KlingError`` carrying Kling's code and message. Anything else is rejected loudly.
    """
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise KlingError(f"Unexpected event from the Kling trigger: {event!r}")
    status, message = event["status"], str(event.get("message") or "")
    if status == "success":
        task = event.get("task") or {}
        context["ti"].xcom_push(key=KLING_TASK_XCOM_KEY, value=task)
        return result_urls(event["task_type"], task)
    if soft_fail and status in ("failed", "timeout"):
        raise AirflowSkipException(f"{message} (soft_fail is set, so the task is skipped)")
    if status == "failed":
        raise AirflowFailException(message)
    if status == "timeout":
        raise AirflowSensorTimeout(message)
    raise KlingError(message)


class KlingWaitMixin:
    """What the sensor and the operators share about waiting: timing, the trigger they defer to, the resume.

    ``poll_interval``/``initial_delay`` of ``None`` mean the task type's defaults (see ``KlingTaskType``).
    """

    kling_task_type: str
    kling_conn_id: str
    poll_interval: float | None
    initial_delay: float | None
    max_consecutive_failures: int
    soft_fail: bool = False

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
        )

    def execute_complete(self, context: Any, event: Any = None) -> list[str]:
        """Resume after the trigger fired: URLs on success, the matching exception otherwise."""
        return complete_wait(context, event, soft_fail=self.soft_fail)

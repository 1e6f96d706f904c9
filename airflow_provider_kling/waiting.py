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
from airflow_provider_kling.task_types import result_urls

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
    """What the sensor and the operators share about waiting: the trigger they defer to and the resume."""

    kling_task_type: str
    kling_conn_id: str
    initial_delay: float
    max_consecutive_failures: int
    soft_fail: bool = False

    def wait_trigger(self, kling_task_id: str, *, poll_interval: float, timeout: float) -> KlingTaskTrigger:
        """A trigger for this task whose absolute deadline is ``timeout`` seconds from now.

        The worker has just created or checked the task, so the trigger's first poll waits at least one
        ``poll_interval`` (longer when ``initial_delay`` says so) instead of asking again at once.
        """
        from airflow_provider_kling.triggers.kling import KlingTaskTrigger

        return KlingTaskTrigger(
            task_type=self.kling_task_type,
            task_id=kling_task_id,
            kling_conn_id=self.kling_conn_id,
            poll_interval=float(poll_interval),
            deadline=time.time() + float(timeout),
            initial_delay=max(float(self.initial_delay), float(poll_interval)),
            max_consecutive_failures=int(self.max_consecutive_failures),
        )

    def execute_complete(self, context: Any, event: Any = None) -> list[str]:
        """Resume after the trigger fired: URLs on success, the matching exception otherwise."""
        return complete_wait(context, event, soft_fail=self.soft_fail)

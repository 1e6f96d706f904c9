"""How a wait on a Kling task ends: the event both the triggerer and the worker side speak.

A wait ends in exactly one event ``{"status", "task_type", "task_id", "task", "message"}`` whose status is one
of ``EVENT_STATUSES``. The trigger produces it, the operators and the sensor consume it (``waiting.py``); this
module imports nothing else of the package, so neither side depends on the other.
"""

from __future__ import annotations

from typing import Any

#: XCom keys, part of the public contract: DAGs pull them by name.
KLING_TASK_ID_XCOM_KEY = "kling_task_id"
KLING_TASK_XCOM_KEY = "kling_task"
KLING_UNITS_XCOM_KEY = "kling_units"

DEFAULT_WAIT_TIMEOUT = 2 * 60 * 60
DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_MAX_CONSECUTIVE_FAILURES = 10

#: The payload of the event a trigger ends a task with (``end_from_trigger``): Airflow marks the task
#: successful and pushes the trigger's XComs, and only ``dag.test()`` hands this back to the task.
ENDED_IN_TRIGGERER = "success"

RUNNING_STATUSES = frozenset({"submitted", "processing"})
EVENT_STATUSES = frozenset({"success", "failed", "timeout", "error"})


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

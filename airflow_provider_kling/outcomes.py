"""What a succeeded wait leaves behind, wherever the task ends: the result URLs, the ``kling_task`` and
``kling_units`` XComs, one INFO line of what it cost, and the metrics.

Shared by the worker (``waiting.complete_wait``) and by a trigger that ends the task itself
(``end_from_trigger``), so that both end a generation the same way; it imports neither of them.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_kling import metrics
from airflow_provider_kling.protocol import KLING_TASK_XCOM_KEY, KLING_UNITS_XCOM_KEY
from airflow_provider_kling.results import AudioFormat, charged_units, generation_seconds, result_urls


def record_success(
    event: dict[str, Any], audio_format: AudioFormat = "mp3", log: Any = None
) -> tuple[list[str], dict[str, Any]]:
    """A succeeded wait's result URLs and its other XComs (``kling_task``, ``kling_units``); logs one INFO
    line of what it cost and counts it in the metrics. Shared by the worker and by a trigger that ends the
    task."""
    task: dict[str, Any] = event["task"] if isinstance(event.get("task"), dict) else {}
    task_type = str(event.get("task_type"))
    metrics.task_finished(task_type, task, succeeded=True)
    units, seconds = charged_units(task), generation_seconds(task)
    if log is not None:
        log.info(
            "Kling %s task %s succeeded: %s units, generated in %s",
            task_type,
            event.get("task_id"),
            "unknown" if units is None else f"{units:g}",
            "unknown time" if seconds is None else f"{seconds:.1f} s",
        )
    return result_urls(task, audio_format), {KLING_TASK_XCOM_KEY: task, KLING_UNITS_XCOM_KEY: units}

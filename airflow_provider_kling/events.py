"""Completion events: the Asset event recorded when a Kling task submitted with ``completion_asset`` ends.

The plugin (``plugins/``) records one event per Kling task on the completion asset, once Kling's own API says
the task ended; its ``extra`` is ``completion_extra`` below. A downstream DAG scheduled on the asset reads
them with ``kling_results_from_events(context)``. The operators use the rest: the parse-time checks of
``completion_asset`` and the target its callback URL names. Light on purpose: DAG files import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_provider_kling.callbacks import CallbackTarget
from airflow_provider_kling.checks import is_unset
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.results import result_urls

#: ``extra["kling_event"]``: marks (and versions) the events this provider records.
EVENT_VERSION = 1
TERMINAL_STATUSES = ("succeed", "failed")


def event_driven_supported() -> bool:
    """Whether this Airflow can serve the callback plugin (3.1 or newer)."""
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

    return AIRFLOW_V_3_1_PLUS


def completion_asset(value: Any, payload: Any) -> Any:
    """``completion_asset`` checked when the DAG file is parsed, as an ``Asset`` (a string is its name).

    Refused: an Airflow older than 3.1 (no API server plugin could record the event), a value that is not an
    asset or a non-empty name, and a literal ``callback_url`` (the operator builds that URL itself).
    """
    from airflow.providers.common.compat.sdk import Asset

    if not event_driven_supported():
        from airflow import __version__

        raise KlingValidationError(
            "completion_asset needs Airflow 3.1 or newer, whose API server serves the Kling callback "
            f"plugin; this is Airflow {__version__}. Wait for the task instead (wait_for_completion=True, "
            "deferrable) or use KlingTaskSensor."
        )
    if isinstance(value, str) and value.strip():
        value = Asset(value.strip())
    if not isinstance(value, Asset):
        raise KlingValidationError(f"completion_asset must be an Asset or an asset name; got {value!r}")
    if isinstance(payload, Mapping) and not is_unset(payload.get("callback_url")):
        raise KlingValidationError(
            "callback_url cannot be set together with completion_asset: the operator points Kling's "
            "callbacks at the Airflow API server itself"
        )
    return value


def task_external_id(task: Mapping[str, Any]) -> str | None:
    info = task.get("task_info")
    value = info.get("external_task_id") if isinstance(info, Mapping) else None
    return value if isinstance(value, str) and value else None


def completion_target(
    conn_id: str, asset: Any, task_type: str, external_task_id: str, ti: Any
) -> CallbackTarget:
    """The target of a submission's callback URL: what to record, on which asset, for which task instance."""
    return CallbackTarget(
        conn_id=conn_id,
        asset_name=asset.name,
        asset_uri=asset.uri,
        task_type=task_type,
        external_task_id=external_task_id,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        map_index=int(getattr(ti, "map_index", -1)),
    )


def completion_extra(target: CallbackTarget, task: Mapping[str, Any]) -> dict[str, Any]:
    """The event's ``extra`` for a task Kling reports ended: plain JSON, no secrets, nothing from a callback
    body (the plugin builds it from its own query of the task)."""
    status = task.get("task_status")
    units = task.get("final_unit_deduction")
    return {
        "kling_event": EVENT_VERSION,
        "task_id": str(task.get("task_id")),
        "task_type": target.task_type,
        "status": status,
        "task_status_msg": str(task.get("task_status_msg") or "") if status == "failed" else "",
        "urls": result_urls(dict(task)),
        "external_task_id": target.external_task_id,
        "units": None if units is None else str(units),
        "dag_id": target.dag_id,
        "run_id": target.run_id,
        "airflow_task_id": target.task_id,
        "map_index": target.map_index,
    }


def is_completion_extra(extra: Any) -> bool:
    return (
        isinstance(extra, Mapping)
        and extra.get("kling_event") == EVENT_VERSION
        and extra.get("status") in TERMINAL_STATUSES
        and isinstance(extra.get("task_id"), str)
    )


def kling_results_from_events(
    context: Mapping[str, Any], *, status: str | None = None
) -> list[dict[str, Any]]:
    """The Kling tasks whose completion triggered this DAG run, oldest event first, each once.

    Each item is the event's ``extra``: ``task_id`` (Kling's), ``task_type``, ``status`` (``succeed`` or
    ``failed``), ``task_status_msg`` (Kling's reason for a failure), ``urls`` (the result URLs, as the
    operators return them), ``external_task_id``, ``units``, and the submitting ``dag_id``, ``run_id``,
    ``airflow_task_id`` and ``map_index``. ``status="succeed"`` keeps only the finished generations. Events
    of the triggering assets that this provider did not record are left out.

    Use it in a task of a DAG scheduled on the completion asset::

        @task
        def finished(**context):
            return kling_results_from_events(context, status="succeed")
    """
    if status is not None and status not in TERMINAL_STATUSES:
        raise KlingValidationError(f"status must be one of {', '.join(TERMINAL_STATUSES)} or None")
    accessor = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
    events = [event for asset in accessor for event in accessor[asset]]
    events.sort(key=lambda event: str(getattr(event, "timestamp", "")))
    results: dict[str, dict[str, Any]] = {}
    for event in events:
        extra = getattr(event, "extra", None)
        if isinstance(extra, Mapping) and is_completion_extra(extra) and extra["task_id"] not in results:
            results[extra["task_id"]] = dict(extra)
    return [r for r in results.values() if status is None or r["status"] == status]

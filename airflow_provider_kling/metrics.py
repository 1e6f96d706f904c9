"""Kling metrics through Airflow's ``Stats``, so they reach whatever the deployment configured (StatsD or
OpenTelemetry) under Airflow's prefix (``airflow.`` by default).

Counters: ``kling.tasks.created``, ``kling.tasks.succeeded``, ``kling.tasks.failed``,
``kling.api.errors.<class>`` (``auth``, ``account``, ``invalid_request``, ``policy``, ``rate_limit``,
``concurrency``, ``server``, ``response``, ``transport``) and ``kling.units`` in **thousandths** of a
resource-pack unit (StatsD counters are whole numbers: 5.5 units count 5500). Timers:
``kling.generation_time`` (Kling's ``updated_at`` - ``created_at``) and ``kling.wait_time`` (creation to the
moment the wait saw the end). All carry the tag ``task_type`` where the metrics backend keeps tags.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from airflow.providers.common.compat.sdk import Stats

from airflow_provider_kling.exceptions import (
    KlingAccountError,
    KlingAuthError,
    KlingConcurrencyLimitError,
    KlingError,
    KlingInvalidRequestError,
    KlingPolicyError,
    KlingRateLimitError,
    KlingResponseError,
    KlingServerError,
    KlingTransportError,
)
from airflow_provider_kling.results import charged_units, generation_seconds

MILLI_UNITS = 1000
#: The metric suffix of each class of Kling error, most specific first.
ERROR_CLASSES: tuple[tuple[type[KlingError], str], ...] = (
    (KlingAuthError, "auth"),
    (KlingAccountError, "account"),
    (KlingInvalidRequestError, "invalid_request"),
    (KlingPolicyError, "policy"),
    (KlingConcurrencyLimitError, "concurrency"),
    (KlingRateLimitError, "rate_limit"),
    (KlingServerError, "server"),
    (KlingResponseError, "response"),
    (KlingTransportError, "transport"),
)


def error_class(error: KlingError) -> str:
    return next((name for cls, name in ERROR_CLASSES if isinstance(error, cls)), "other")


def _tags(task_type: str) -> dict[str, str]:
    return {"task_type": task_type}


def task_created(task_type: str) -> None:
    Stats.incr("kling.tasks.created", 1, tags=_tags(task_type))


def api_error(error_class: str, task_type: str | None = None) -> None:
    """One error answer (or failed request) of the Kling API, counted per class of business code."""
    Stats.incr(f"kling.api.errors.{error_class}", 1, tags=_tags(task_type or "unknown"))


def task_finished(task_type: str, task: dict[str, Any], succeeded: bool) -> None:
    """A generation ended: its outcome, its charge and how long it took."""
    tags = _tags(task_type)
    Stats.incr("kling.tasks.succeeded" if succeeded else "kling.tasks.failed", 1, tags=tags)
    units = charged_units(task)
    if units:
        Stats.incr("kling.units", round(units * MILLI_UNITS), tags=tags)
    seconds = generation_seconds(task)
    if seconds is not None:
        Stats.timing("kling.generation_time", datetime.timedelta(seconds=seconds), tags=tags)
    created = task.get("created_at")
    if isinstance(created, int | float) and not isinstance(created, bool):
        waited = max(0.0, time.time() - created / 1000)
        Stats.timing("kling.wait_time", datetime.timedelta(seconds=waited), tags=tags)

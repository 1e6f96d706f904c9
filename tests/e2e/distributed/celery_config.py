"""Celery settings of the distributed deployment: Airflow's defaults, and the provider preloaded in workers.

Each try and each resumption of a task runs in a process forked from a Celery pool process. Whatever that pool
process has not imported, every task process imports again: for a Kling task that is the operator module
and, on the submit path, the hook with requests, aiohttp and PyJWT (about half a second of CPU each time).
Celery's ``imports`` are imported by the worker before it forks its pool, so every task process inherits
them. Production workers are configured the same way (docs/production.md).
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOADED = (
    "airflow_provider_kling.operators.kling",
    "airflow_provider_kling.hooks.kling",
    "airflow_provider_kling.triggers.kling",
)
CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG, "imports": PRELOADED}

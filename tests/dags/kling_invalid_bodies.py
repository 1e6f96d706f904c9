"""Every certain mistake of ``tests/validation/cases.py``, rendered from a template at run time (as a body
from ``params`` or ``dag_run.conf`` would be): each task must fail before sending anything."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingCreateTaskOperator
from tests.validation.cases import invalid_cases

MISTAKES = invalid_cases()

with DAG(
    "kling_invalid_bodies",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    params={mistake.id: mistake.body for mistake in MISTAKES},
) as dag:
    for mistake in MISTAKES:
        KlingCreateTaskOperator(
            task_id=mistake.id,
            task_type=mistake.task_type,
            payload="{{ params[" + repr(mistake.id) + "] | tojson }}",
            wait_for_completion=False,
            retries=2,
        )

"""Values Kling may add after this release (``FUTURE`` in ``tests/validation/cases.py``): each is warned
about, sent, and Kling's own answer decides."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators.kling import KlingCreateTaskOperator
from tests.validation.cases import FUTURE

with DAG("kling_future_values", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
    for field, task_type, body in FUTURE:
        KlingCreateTaskOperator(
            task_id=f"future_{field}", task_type=task_type, payload=body, wait_for_completion=False
        )

"""Every valid request body of ``tests/validation/cases.py``, sent once by ``KlingCreateTaskOperator``
and once by the type's typed operator (the body's fields as keyword arguments). Nothing may be refused."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_kling.operators import kling as operators
from airflow_provider_kling.spec import get_task_type
from tests.validation.cases import typed_kwargs, valid_cases, with_video_id

VIDEO_ID = "{{ ti.xcom_pull(task_ids='source_video', key='kling_task')['task_result']['videos'][0]['id'] }}"


with DAG(
    "kling_valid_bodies",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    default_args={"initial_delay": 0, "poll_interval": 0.2},
) as dag:
    source = operators.KlingTextToVideoOperator(task_id="source_video", prompt="A video to extend later")
    for case in valid_cases():
        body = with_video_id(case.body, VIDEO_ID)
        typed = getattr(operators, get_task_type(case.task_type).operator)
        tasks = [
            operators.KlingCreateTaskOperator(
                task_id=f"generic__{case.id}",
                task_type=case.task_type,
                payload=body,
                wait_for_completion=False,
            ),
            typed(
                task_id=f"typed__{case.id}", wait_for_completion=False, **typed_kwargs(case.task_type, body)
            ),
        ]
        if body != case.body:
            source >> tasks

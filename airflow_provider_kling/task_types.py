"""Temporary alias of ``spec`` for modules not yet moved over (removed once the hook imports ``spec``)."""

from airflow_provider_kling.checks import validate_task_id
from airflow_provider_kling.spec import TASK_TYPES, KlingTaskType, get_task_type

__all__ = ["TASK_TYPES", "KlingTaskType", "get_task_type", "validate_task_id"]

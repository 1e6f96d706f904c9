"""``KlingQuotaCheckOperator``: stop a batch the account cannot pay for, before its first paid create.

Put it first in a batch DAG: ``min_remaining = len(prompts) * units_per_generation``. It reads what is left
(``KlingHook.get_quota``: Kling's resource packs or a gateway's billing) and fails, without a retry, when it
is less than ``min_remaining`` - or skips, with ``soft_fail``. Kling's own figure lags by up to ~12 hours, so
keep a margin for what ran since.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException, BaseOperator

from airflow_provider_kling.checks import Findings, Number, fail, is_templated


class KlingQuotaCheckOperator(BaseOperator):
    """Fail (or skip) unless the Kling account has at least ``min_remaining`` left; ``return_value`` is the
    quota: ``{"remaining", "total", "unit", "source", "packs"}`` (``remaining`` is ``None`` when unlimited).

    :param min_remaining: what the batch needs, in the quota's unit (resource-pack units for Kling, the
        gateway's currency or tokens for a gateway; templated).
    :param resource_pack_type: count only Kling packs of this ``resource_pack_type`` or whose name contains it
        (e.g. ``"Video"``; templated).
    :param kling_conn_id: the ``kling`` connection (its ``quota_source`` extra picks Kling or the gateway).
    :param soft_fail: skip instead of failing when the quota is too low.
    """

    template_fields: Sequence[str] = ("min_remaining", "resource_pack_type")
    ui_color = "#fce8e6"

    def __init__(
        self,
        *,
        min_remaining: float | str,
        resource_pack_type: str | None = None,
        kling_conn_id: str = "kling_default",
        soft_fail: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.min_remaining = min_remaining
        self.resource_pack_type = resource_pack_type
        self.kling_conn_id = kling_conn_id
        self.soft_fail = soft_fail
        if not is_templated(min_remaining):
            self.min_remaining = self._needed()
        if resource_pack_type is not None and not isinstance(resource_pack_type, str):
            raise fail("resource_pack_type", resource_pack_type, "a pack type or part of a pack name")

    def _needed(self) -> float:
        return float(Number(0, math.inf).validate("min_remaining", self.min_remaining, Findings()))

    def execute(self, context: Any) -> dict[str, Any]:
        from airflow_provider_kling.hooks.kling import KlingHook

        needed = self._needed()
        quota = KlingHook(self.kling_conn_id).get_quota(self.resource_pack_type or None)
        scope = f" of packs matching {self.resource_pack_type!r}" if self.resource_pack_type else ""
        self.log.info(
            "Kling quota (%s%s): %g %s left of %s; this batch needs %g",
            quota.source,
            scope,
            quota.remaining,
            quota.unit,
            "unlimited" if quota.total is None else f"{quota.total:g}",
            needed,
        )
        if quota.remaining < needed:
            message = (
                f"Not enough Kling quota{scope}: {quota.remaining:g} {quota.unit} left ({quota.source}), "
                f"{needed:g} {quota.unit} needed"
            )
            if self.soft_fail:
                raise AirflowSkipException(f"{message} (soft_fail is set, so the task is skipped)")
            raise AirflowFailException(message)
        result = quota.as_dict()
        if math.isinf(quota.remaining):
            result["remaining"] = None
        return result

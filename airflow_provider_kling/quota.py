"""What the account has left, from Kling's resource packs or a gateway's billing, as one normalized result.

- Kling direct: ``GET /account/costs`` lists resource packs; what is left is the sum of ``remaining_quantity``
  over the packs whose ``status`` is ``online`` (optionally only those matching a pack type or name). Kling
  updates ``remaining_quantity`` with a lag of up to ~12 hours and allows 1 request/s.
- A gateway (APICore and other OpenAI-dashboard style resellers) serves billing at its root:
  ``/v1/dashboard/billing/subscription`` (``hard_limit_usd``) and ``/v1/dashboard/billing/usage``
  (``total_usage`` in hundredths), so left = limit - usage; new-api style gateways serve ``/api/usage/token``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from airflow_provider_kling.exceptions import KlingResponseError

QuotaSource = Literal["kling", "gateway"]


@dataclass(frozen=True)
class Quota:
    """What is left (``remaining``) of ``total``, in ``unit``; ``packs``: Kling's resource packs as sent."""

    remaining: float
    total: float | None
    unit: str
    source: QuotaSource
    packs: list[dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or math.isnan(number):
        raise KlingResponseError(f"{what} is not a number (it is {type(value).__name__})")
    return number


def _matches(pack: dict[str, Any], pack_filter: str | None) -> bool:
    if pack_filter is None:
        return True
    name = str(pack.get("resource_pack_name") or "")
    return pack.get("resource_pack_type") == pack_filter or pack_filter.lower() in name.lower()


def from_kling_packs(data: Any, pack_filter: str | None = None) -> Quota:
    """Kling's ``/account/costs`` data: the online packs (matching ``pack_filter``: a ``resource_pack_type``
    or part of a pack's name), summed."""
    packs = data.get("resource_pack_subscribe_infos") if isinstance(data, dict) else None
    if not isinstance(packs, list) or not all(isinstance(pack, dict) for pack in packs):
        raise KlingResponseError("account costs answer has no list of resource_pack_subscribe_infos")
    chosen = [p for p in packs if p.get("status") == "online" and _matches(p, pack_filter)]
    remaining = sum(_number(p.get("remaining_quantity"), "remaining_quantity") for p in chosen)
    total = sum(_number(p.get("total_quantity"), "total_quantity") for p in chosen)
    return Quota(remaining, total, "units", "kling", packs)


def from_gateway_billing(subscription: Any, usage: Any) -> Quota:
    """OpenAI-dashboard billing: ``hard_limit_usd`` minus ``total_usage`` (which counts hundredths)."""
    limit = _number(subscription.get("hard_limit_usd"), "hard_limit_usd")
    used = _number(usage.get("total_usage"), "total_usage") / 100
    return Quota(limit - used, limit, "USD", "gateway")


def from_gateway_token_usage(document: Any) -> Quota:
    """new-api's ``/api/usage/token``: ``total_available`` of ``total_granted`` (unlimited: infinite)."""
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise KlingResponseError("token usage answer has no data object")
    if data.get("unlimited_quota") is True:
        return Quota(math.inf, None, "quota", "gateway")
    granted = data.get("total_granted")
    total = None if granted is None else _number(granted, "total_granted")
    return Quota(_number(data.get("total_available"), "total_available"), total, "quota", "gateway")

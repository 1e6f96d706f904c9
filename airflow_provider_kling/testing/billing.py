"""What a task costs and what the account owns (kling-api.md §3 cost fields, §8 ``/account/costs``).

Charges come from the config's ``unit_charges`` table (resource-pack units):

- a key equal to a task type (e.g. ``"kolors-virtual-try-on"``) charges that many units per output item;
- otherwise video types charge ``"video.<mode>"`` units per 5 s of requested video (pro-rated per second,
  mode ``std`` when unset; video-extend counts its 4.5 s), image types ``"image"`` units per output image,
  audio types ``"audio"`` units per task.

A succeeded task reports ``final_unit_deduction`` (that charge, as a string) and ``final_balance_deduction``
(``quota`` "0": resource packs paid it all; ``list_price``: units x ``unit_list_price``); a failed task
reports ``final_unit_deduction`` "0". ``remaining_quantity`` of the packs is never decremented: Kling updates
it with a ~12 h lag anyway.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

UNIT_CHARGE_KEYS = ("video.std", "video.pro", "video.4k", "image", "audio")
DAY_MS = 86_400_000


def default_unit_charges() -> dict[str, float]:
    return {
        "video.std": 1.0,
        "video.pro": 3.5,
        "video.4k": 7.0,
        "image": 0.25,
        "kolors-virtual-try-on": 1.0,
        "audio": 0.5,
    }


def charge(
    table: dict[str, float], task_type: str, action: str, mode: str, seconds: float, outputs: int
) -> float:
    """Units charged for a task (see the module docstring for the rule)."""
    if task_type in table:
        return float(table[task_type]) * outputs
    if action == "videos":
        return float(table[f"video.{mode}"]) * seconds / 5
    if action == "images":
        return float(table["image"]) * outputs
    return float(table["audio"])


def units_text(units: float) -> str:
    """Kling's decimal string form: "5", "0.25", never "5.0" or "1e-05"."""
    return f"{units:.4f}".rstrip("0").rstrip(".")


#: (name, type, total, remaining, first day relative to today, days valid) of the default account's packs.
_DEFAULT_PACKS = (
    ("Video Generation - 3,000 units", "decreasing_total", 3000, 2412.5, -20, 365),
    ("Image Generation - 10,000 units", "decreasing_total", 10000, 9871.25, -20, 365),
    ("Audio Generation - 500 units", "constant_period", 500, 500, -3, 30),
    ("Video Generation - 1,000 units", "decreasing_total", 1000, 220, -400, 365),
    ("Image Generation - 1,000 units", "decreasing_total", 1000, 0, -60, 365),
)


def default_resource_packs(now_ms: int | None = None) -> list[dict[str, Any]]:
    """A realistic account: video, image, audio packs online; a video pack expired, an image pack used up."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    packs = []
    for name, kind, total, left, start_day, days in _DEFAULT_PACKS:
        start, end = now + start_day * DAY_MS, now + (start_day + days) * DAY_MS
        status = "runOut" if left <= 0 else "expired" if end <= now else "online"
        packs.append(
            {
                "resource_pack_name": name,
                "resource_pack_id": uuid.uuid5(uuid.NAMESPACE_URL, f"kling-emulator/{name}").hex,
                "resource_pack_type": kind,
                "total_quantity": float(total),
                "remaining_quantity": float(left),
                "purchase_time": start,
                "effective_time": start,
                "invalid_time": end,
                "status": status,
            }
        )
    return packs


def select_packs(
    packs: list[dict[str, Any]], start_ms: int, end_ms: int, name: str | None
) -> list[dict[str, Any]]:
    """Packs valid at some point of [start, end] (and named ``name`` exactly, when given)."""
    return [
        pack
        for pack in packs
        if pack.get("effective_time", 0) <= end_ms
        and pack.get("invalid_time", end_ms) >= start_ms
        and (name is None or pack.get("resource_pack_name") == name)
    ]

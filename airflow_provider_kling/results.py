"""What a finished Kling task delivered, read tolerantly from its task object (docs/kling-api.md §3).

Kling adds fields to the task object over time (``watermark_url``, ``series_images``, cost fields): anything
unknown is ignored, anything malformed is skipped, and nothing here raises.
"""

from __future__ import annotations

import math
from typing import Any, Literal
from urllib.parse import urlsplit

AudioFormat = Literal["mp3", "wav"]
#: The order of ``return_value``: videos, then images, then audio tracks.
RESULT_KINDS = ("videos", "images", "audios")


def is_web_url(value: Any) -> bool:
    """An http(s) URL with a host: the only result URLs passed on (no ``javascript:``, ``file:``, ...)."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def result_urls(task: Any, audio_format: AudioFormat = "mp3") -> list[str]:
    """The result URLs of a finished task in the order videos, images, audios (``url_mp3`` or ``url_wav``)."""
    result = task.get("task_result") if isinstance(task, dict) else None
    if not isinstance(result, dict):
        return []
    urls: list[str] = []
    for kind in RESULT_KINDS:
        items = result.get(kind)
        if not isinstance(items, list):
            continue
        key = f"url_{audio_format}" if kind == "audios" else "url"
        urls.extend(item[key] for item in items if isinstance(item, dict) and is_web_url(item.get(key)))
    return urls


def charged_units(task: Any) -> float | None:
    """The resource-pack units Kling charged (``final_unit_deduction``, a string), or ``None`` when absent."""
    value = task.get("final_unit_deduction") if isinstance(task, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        units = float(value)
    except ValueError:
        return None
    return units if math.isfinite(units) and units >= 0 else None


def generation_seconds(task: Any) -> float | None:
    """How long Kling took: ``updated_at`` - ``created_at`` (Unix milliseconds), or ``None``."""
    if not isinstance(task, dict):
        return None
    created, updated = _millis(task.get("created_at")), _millis(task.get("updated_at"))
    return None if created is None or updated is None else max(0.0, (updated - created) / 1000)


def _millis(value: Any) -> float | None:
    return None if isinstance(value, bool) or not isinstance(value, int | float) else float(value)

"""The one table of Kling task types: which API path each lives under and where its results are."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ResultKind = Literal["videos", "images"]


@dataclass(frozen=True)
class KlingTaskType:
    """A Kling task type (the API's ``action2``), its ``action``, its result list and how to wait for it.

    ``initial_delay`` and ``poll_interval`` are the default wait timing: no generation of that type is
    done sooner than the delay, and the interval bounds how late a finished one is noticed. For videos
    (minutes each) 30 s then every 14 s costs at most 0.4x the requests of 5-second polling for 1-5 minute
    tasks while seeing results within 15 s (``benchmarks/requests_per_task.py``).
    """

    name: str
    action: Literal["videos", "images"]
    result_kind: ResultKind
    initial_delay: float
    poll_interval: float

    @property
    def path(self) -> str:
        """The create/list path relative to the base URL; query paths append ``/{id}``."""
        return f"v1/{self.action}/{self.name}"


TASK_TYPES: dict[str, KlingTaskType] = {
    t.name: t
    for t in (
        KlingTaskType("text2video", "videos", "videos", initial_delay=30, poll_interval=14),
        KlingTaskType("image2video", "videos", "videos", initial_delay=30, poll_interval=14),
        KlingTaskType("multi-image2video", "videos", "videos", initial_delay=30, poll_interval=14),
        KlingTaskType("video-extend", "videos", "videos", initial_delay=30, poll_interval=14),
        KlingTaskType("generations", "images", "images", initial_delay=8, poll_interval=5),
        KlingTaskType("kolors-virtual-try-on", "images", "images", initial_delay=8, poll_interval=5),
    )
}

_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def get_task_type(name: str) -> KlingTaskType:
    """Look a task type up by name; an unknown name is a ``ValueError`` listing the valid ones."""
    try:
        return TASK_TYPES[name]
    except (KeyError, TypeError):
        valid = ", ".join(TASK_TYPES)
        raise ValueError(f"task_type must be one of {valid}; got {name!r}") from None


def validate_task_id(value: str, field: str = "task_id") -> str:
    """Check an id before it goes into a URL path, so no caller can inject ``/``, ``?`` or ``..``."""
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value) or value in {".", ".."}:
        raise ValueError(f"{field} must match [A-Za-z0-9._:-]{{1,128}}; got {value!r}")
    return value


def result_urls(task_type: str, task: dict) -> list[str]:
    """The result URLs of a finished task, in Kling's order (``videos`` or ``images`` by task type)."""
    kind = get_task_type(task_type).result_kind
    items = (task.get("task_result") or {}).get(kind) or []
    return [item["url"] for item in items if isinstance(item, dict) and item.get("url")]

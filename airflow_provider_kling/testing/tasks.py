"""The task model and its wire form (kling-api.md §2-§3).

A task's status is a pure function of the emulator clock: ``submitted`` until ``processing_at``,
``processing`` until ``done_at``, then ``succeed`` or ``failed`` (decided at creation). No timers needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_kling.testing.billing import units_text

#: task type (action2) -> action
TASK_TYPES = {
    "text2video": "videos",
    "image2video": "videos",
    "multi-image2video": "videos",
    "video-extend": "videos",
    "generations": "images",
    "kolors-virtual-try-on": "images",
}
EXTEND_DURATION = "4.5"
WATERMARK_SUFFIX = "-watermarked"
TERMINAL = ("succeed", "failed")


def pool_of(task_type: str) -> str:
    """Resource-pack pool: generations use the image pool, everything else (try-on too) the video one."""
    return "image" if task_type == "generations" else "video"


@dataclass(slots=True, eq=False)
class Task:
    task_id: str
    task_type: str
    created: float
    processing_at: float
    done_at: float
    fail_message: str | None  # None: the task will succeed
    external_task_id: str | None
    callback_url: str | None
    base_url: str  # origin of the create request, used for callback bodies
    outputs: int  # number of videos / images in the result
    duration: str | None  # video duration string; None for images
    video_ids: list[str]
    parent: Task | None = None  # video-extend: the task that produced the extended video
    units: float = 0.0  # resource-pack units charged if the task succeeds
    list_price: float = 0.0  # the same charge at list price
    watermark: bool | None = None  # the create's watermark_info.enabled, None when not sent
    callbacks_sent: int = 0

    @property
    def is_video(self) -> bool:
        return TASK_TYPES[self.task_type] == "videos"

    @property
    def pool(self) -> str:
        return pool_of(self.task_type)

    def status(self, now: float) -> str:
        if now < self.processing_at:
            return "submitted"
        if now < self.done_at:
            return "processing"
        return "failed" if self.fail_message is not None else "succeed"

    def transitions(self) -> list[tuple[str, float]]:
        """Each distinct status the task goes through with the time it starts, in order."""
        out: list[tuple[str, float]] = []
        for at in (self.created, self.processing_at, self.done_at):
            status = self.status(at)
            if not out or out[-1][0] != status:
                out.append((status, at))
        return out

    def updated(self, now: float) -> float:
        return max((at for _, at in self.transitions() if at <= now), default=self.created)


def media_url(base_url: str, task: Task, index: int, watermarked: bool = False) -> str:
    mark = WATERMARK_SUFFIX if watermarked else ""
    return f"{base_url}/media/{task.task_id}/{index}{mark}.{'mp4' if task.is_video else 'png'}"


def render_task(task: Task, now: float, base_url: str) -> dict[str, Any]:
    """The task object of kling-api.md §3 as seen at time ``now``; result URLs start with ``base_url``."""
    status = task.status(now)
    info: dict[str, Any] = {}
    if task.external_task_id is not None:
        info["external_task_id"] = task.external_task_id
    if task.parent is not None:
        parent = task.parent
        info["parent_video"] = {
            "id": parent.video_ids[0],
            "url": media_url(base_url, parent, 0),
            "duration": parent.duration,
        }
    data: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": status,
        "task_status_msg": (task.fail_message or "") if status == "failed" else "",
        "task_info": info,
        "created_at": int(task.created * 1000),
        "updated_at": int(task.updated(now) * 1000),
    }
    if task.watermark is not None:
        data["watermark_info"] = {"enabled": task.watermark}
    if status == "succeed":
        if task.is_video:
            items: list[dict[str, Any]] = [
                {"id": vid, "url": media_url(base_url, task, i), "duration": task.duration}
                for i, vid in enumerate(task.video_ids)
            ]
        else:
            items = [{"index": i, "url": media_url(base_url, task, i)} for i in range(task.outputs)]
        if task.watermark:
            for i, item in enumerate(items):
                item["watermark_url"] = media_url(base_url, task, i, watermarked=True)
        data["task_result"] = {"videos" if task.is_video else "images": items}
        data["final_unit_deduction"] = units_text(task.units)
        data["final_balance_deduction"] = {"quota": "0", "list_price": units_text(task.list_price)}
    elif status == "failed":
        data["task_result"] = {}
        data["final_unit_deduction"] = "0"
    elif status != "submitted":
        data["task_result"] = {}  # absent while submitted, {} afterwards: both forms occur in the wild
    return data

"""The task types of kling-api.md §2, the task model and its wire form (§3).

A task's status is a pure function of the emulator clock: ``submitted`` until ``processing_at``,
``processing`` until ``done_at``, then ``succeed`` or ``failed`` (decided at creation). No timers needed.

Results name real files under ``/media/{task_id}/``: ``{i}.mp4`` for videos, ``{i}.png`` for images,
``{i}.mp3`` / ``{i}.wav`` for audio, and ``{i}-watermarked.{ext}`` when the create asked for watermarks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from airflow_provider_kling.testing.billing import units_text


@dataclass(frozen=True)
class TaskType:
    action: str  # the path segment before the type: videos, images or audio
    results: tuple[str, ...]  # the lists of task_result: videos, images, audios
    pool: str  # the resource pack whose concurrency the task holds (§6)

    @property
    def makes_video(self) -> bool:
        return "videos" in self.results


_VIDEO = TaskType("videos", ("videos",), "video")
_IMAGE = TaskType("images", ("images",), "image")
_AUDIO = TaskType("audio", ("audios",), "audio")

#: task type path -> its action, result lists and pool
TASK_TYPES: dict[str, TaskType] = {
    **dict.fromkeys(
        (
            "text2video",
            "image2video",
            "multi-image2video",
            "video-extend",
            "lip-sync",
            "effects",
            "omni-video",
            "motion-control",
            "avatar/image2video",
            "multi-elements",
            "advanced-lip-sync",
        ),
        _VIDEO,
    ),
    **dict.fromkeys(("generations", "multi-image2image", "editing/expand", "omni-image"), _IMAGE),
    "kolors-virtual-try-on": TaskType("images", ("images",), "try-on"),
    "text-to-audio": _AUDIO,
    "video-to-audio": TaskType("audio", ("videos", "audios"), "audio"),
    "tts": _AUDIO,
}
POOLS = ("video", "image", "try-on", "audio")
#: ``{action}/{path}`` -> task type, for routing (paths may hold a slash: ``videos/avatar/image2video``).
ROUTES = {f"{kind.action}/{path}": path for path, kind in TASK_TYPES.items()}
IMAGE_TYPES_WITH_N = ("generations", "multi-image2image", "editing/expand", "omni-image")
EXTEND_DURATION = "4.5"
WATERMARK_SUFFIX = "-watermarked"
TERMINAL = ("succeed", "failed")


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
    outputs: int  # number of images (n); 1 for the other kinds
    duration: str | None  # result video duration string; None without a video
    video_ids: list[str]
    parent: Task | None = None  # the task that produced the source video (video-extend, lip-sync, ...)
    audio_seconds: str | None = None  # result audio duration string; None without audio
    series: bool = False  # omni-image: the images also form a series (series_images)
    units: float = 0.0  # resource-pack units charged if the task succeeds
    list_price: float = 0.0  # the same charge at list price
    watermark: bool | None = None  # the create's watermark_info.enabled, None when not sent
    callbacks_sent: int = 0

    @property
    def kind(self) -> TaskType:
        return TASK_TYPES[self.task_type]

    @property
    def pool(self) -> str:
        return self.kind.pool

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

    def media_names(self) -> frozenset[str]:
        """The file names this task serves under ``/media/{task_id}/`` once it has succeeded."""
        marks = ("", WATERMARK_SUFFIX) if self.watermark else ("",)
        names = set()
        for kind in self.kind.results:
            count = self.outputs if kind == "images" else 1
            exts = {"videos": ("mp4",), "images": ("png",), "audios": ("mp3", "wav")}[kind]
            names |= {f"{i}{mark}.{ext}" for i in range(count) for mark in marks for ext in exts}
        return frozenset(names)


def media_url(base_url: str, task: Task, name: str) -> str:
    return f"{base_url}/media/{task.task_id}/{name}"


def _videos(task: Task, base_url: str) -> list[dict[str, Any]]:
    return [
        {"id": vid, "url": media_url(base_url, task, f"{i}.mp4"), "duration": task.duration}
        for i, vid in enumerate(task.video_ids)
    ]


def _images(task: Task, base_url: str) -> list[dict[str, Any]]:
    return [{"index": i, "url": media_url(base_url, task, f"{i}.png")} for i in range(task.outputs)]


def _audios(task: Task, base_url: str) -> list[dict[str, Any]]:
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"kling-emulator/{task.task_id}/audio")),
            "url_mp3": media_url(base_url, task, "0.mp3"),
            "url_wav": media_url(base_url, task, "0.wav"),
            "duration_mp3": task.audio_seconds,
            "duration_wav": task.audio_seconds,
        }
    ]


_RESULTS = {"videos": _videos, "images": _images, "audios": _audios}


def task_result(task: Task, base_url: str) -> dict[str, Any]:
    result = {kind: _RESULTS[kind](task, base_url) for kind in task.kind.results}
    if task.watermark:
        for kind in ("videos", "images"):
            for item in result.get(kind, []):
                url = str(item["url"])
                stem, _, ext = url.rpartition(".")
                item["watermark_url"] = f"{stem}{WATERMARK_SUFFIX}.{ext}"
    if task.series:
        result["series_images"] = [dict(image) for image in result["images"]]
    return result


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
            "url": media_url(base_url, parent, "0.mp4"),
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
        data["task_result"] = task_result(task, base_url)
        data["final_unit_deduction"] = units_text(task.units)
        data["final_balance_deduction"] = {"quota": "0", "list_price": units_text(task.list_price)}
    elif status == "failed":
        data["task_result"] = {}
        data["final_unit_deduction"] = "0"
    elif status != "submitted":
        data["task_result"] = {}  # absent while submitted, {} afterwards: both forms occur in the wild
    return data

"""What one gallery card shows, built from the values Airflow stored for a Kling task instance.

The inputs are the ``kling_task`` XCom (Kling's task object), the operator's rendered ``payload`` and
``kling_task_type`` (the rendered-fields table) and ``KlingDownloadOperator`` return values of the same DAG
run. All of them were written by tasks, possibly by older or newer versions of this provider, so everything
is read tolerantly: a malformed part is left out of the card, never an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from airflow_provider_kling.results import charged_units, generation_seconds, is_web_url
from airflow_provider_kling.spec import TASK_TYPES

MediaKind = Literal["video", "image", "audio"]
#: Kling's result lists and the media element that shows each (audio: the MP3 every browser plays).
MEDIA_LISTS: tuple[tuple[str, MediaKind, str], ...] = (
    ("videos", "video", "url"),
    ("images", "image", "url"),
    ("audios", "audio", "url_mp3"),
)
#: Typed operator class name -> its task type, for rows whose rendered fields Airflow has pruned.
TASK_TYPE_BY_OPERATOR = {spec.operator: name for name, spec in TASK_TYPES.items()}
#: Request fields that describe what was asked for, in order of preference.
PROMPT_FIELDS = ("prompt", "text", "sound_effect_prompt", "bgm_prompt")


@dataclass(frozen=True)
class StoredFile:
    """A result file ``KlingDownloadOperator`` kept: entry ``index`` of the return value of its task
    instance ``(task_id, map_index)`` in the same DAG run."""

    path: str
    size: int | None
    sha256: str | None
    task_id: str
    map_index: int
    index: int


@dataclass(frozen=True)
class Media:
    kind: MediaKind
    url: str
    stored: StoredFile | None = None


@dataclass(frozen=True)
class Generation:
    """One finished Kling task as its card shows it; ``None`` where the stored values do not say."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    finished_at: datetime
    kling_task_id: str | None
    status: str
    status_msg: str
    task_type: str | None
    model: str | None
    prompt: str | None
    units: float | None
    seconds: float | None
    created_at: datetime | None
    media: list[Media] = field(default_factory=list)


def decode_json(value: Any) -> Any:
    """A stored JSON value: XComs and rendered fields may come back as JSON text, depending on who wrote
    them; text that is not JSON stays text."""
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def stored_files(task_id: str, map_index: int, value: Any) -> dict[str, StoredFile]:
    """Kling URL -> the file a ``KlingDownloadOperator`` return value says it kept."""
    entries = decode_json(value)
    if not isinstance(entries, list):
        return {}
    files: dict[str, StoredFile] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not is_web_url(entry.get("url")):
            continue
        path, size, digest = entry.get("path"), entry.get("bytes"), entry.get("sha256")
        if not isinstance(path, str) or not path:
            continue
        files[entry["url"]] = StoredFile(
            path=path,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            sha256=digest if isinstance(digest, str) else None,
            task_id=task_id,
            map_index=map_index,
            index=index,
        )
    return files


def media_of(task: Mapping[str, Any], stored: Mapping[str, StoredFile]) -> list[Media]:
    """The result media of a task object in Kling's order (videos, images, audio); http(s) URLs only."""
    result = task.get("task_result")
    if not isinstance(result, dict):
        return []
    media: list[Media] = []
    for list_name, kind, url_key in MEDIA_LISTS:
        items = result.get(list_name)
        if not isinstance(items, list):
            continue
        for item in items:
            url = item.get(url_key) if isinstance(item, dict) else None
            if isinstance(url, str) and is_web_url(url):
                media.append(Media(kind, url, stored.get(url)))
    return media


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def prompt_of(payload: Mapping[str, Any]) -> str | None:
    """What was asked for: the prompt, the text spoken, or a multi-shot's prompts joined."""
    inner = payload.get("input")
    for fields in (payload, inner if isinstance(inner, dict) else {}):
        for name in PROMPT_FIELDS:
            if text := _text(fields.get(name)):
                return text
    shots = payload.get("multi_prompt")
    if isinstance(shots, list):
        prompts = [text for shot in shots if isinstance(shot, dict) and (text := _text(shot.get("prompt")))]
        return " / ".join(prompts) or None
    return None


def from_millis(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def build_generation(
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
    finished_at: datetime,
    kling_task: Any,
    rendered_fields: Any,
    operator: str | None,
    stored: Mapping[str, StoredFile],
) -> Generation:
    """A card from one task instance's stored values (see the module docstring)."""
    task = decode_json(kling_task)
    task = task if isinstance(task, dict) else {}
    rendered = decode_json(rendered_fields)
    rendered = rendered if isinstance(rendered, dict) else {}
    payload = decode_json(rendered.get("payload"))
    payload = payload if isinstance(payload, dict) else {}
    task_type = _text(rendered.get("kling_task_type")) or TASK_TYPE_BY_OPERATOR.get(operator or "")
    kling_task_id = task.get("task_id")
    return Generation(
        dag_id=dag_id,
        run_id=run_id,
        task_id=task_id,
        map_index=map_index,
        try_number=try_number,
        finished_at=finished_at,
        kling_task_id=str(kling_task_id) if isinstance(kling_task_id, str | int) else None,
        status=_text(task.get("task_status")) or "unknown",
        status_msg=_text(task.get("task_status_msg")) or "",
        task_type=task_type,
        model=_text(payload.get("model_name")),
        prompt=prompt_of(payload),
        units=charged_units(task),
        seconds=generation_seconds(task),
        created_at=from_millis(task.get("created_at")),
        media=media_of(task, stored),
    )

"""Kling's two-step flows (kling-api.md §2): sessions answered at once, then a task that names the session.

- **identify-face** (``POST /v1/videos/identify-face``, a video id or URL) opens a session listing the faces
  found (``faces_per_video`` of the config, default 2); ``advanced-lip-sync`` then chooses among them.
- **multi-elements** (``POST /v1/videos/multi-elements/init-selection``) opens a session on a video; the
  ``add-`` / ``delete-`` / ``clear-`` / ``preview-selection`` calls edit and show the selected areas (at most
  10 marked frames, 10 points per frame, coordinates in [0, 1]); ``multi-elements`` then edits the video.

A session lives 24 h on the emulator clock; an unknown or expired one answers 1201. Answers follow the
shapes of Kling's docs (``status`` 0, ``rle_mask_list``, ``normalized_video`` ...); every URL in them is a
real file under ``/media/{session_id}/``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

SESSION_SECONDS = 24 * 3600
MAX_MARKED_FRAMES = 10
MAX_POINTS_PER_FRAME = 10
FPS = 24
WIDTH, HEIGHT = 1280, 720  # what the answers report for a session's (normalized) video

Point = dict[str, float]


@dataclass(eq=False)
class Session:
    session_id: str
    kind: str  # "identify-face" or "multi-elements"
    created: float
    video_seconds: float
    faces: list[str] = field(default_factory=list)
    selections: dict[int, list[Point]] = field(default_factory=dict)  # frame index -> points, in order

    def alive(self, now: float) -> bool:
        return now < self.created + SESSION_SECONDS

    @property
    def total_frames(self) -> int:
        return max(1, round(self.video_seconds * FPS))


def new_session(kind: str, now: float, video_seconds: float, faces: int = 0) -> Session:
    session_id = str(10**17 + uuid.uuid4().int % (9 * 10**17))  # 18 digits, like task ids
    face_ids = [f"{session_id}-face-{i}" for i in range(faces)]
    return Session(session_id, kind, now, video_seconds, faces=face_ids)


def media(base_url: str, session: Session, name: str) -> str:
    return f"{base_url}/media/{session.session_id}/{name}"


def identify_face_answer(session: Session, base_url: str) -> dict[str, Any]:
    """Each face visible for a share of the video (ms), its picture a real PNG."""
    end = int(session.video_seconds * 1000)
    share = end // max(1, len(session.faces))
    faces = [
        {
            "face_id": face_id,
            "face_image": media(base_url, session, f"face-{i}.png"),
            "start_time": i * share,
            "end_time": end if i == len(session.faces) - 1 else (i + 1) * share,
        }
        for i, face_id in enumerate(session.faces)
    ]
    return {"session_id": session.session_id, "face_data": faces}


def init_selection_answer(session: Session, base_url: str) -> dict[str, Any]:
    return {
        "status": 0,
        "session_id": session.session_id,
        "fps": float(FPS),
        "original_duration": int(session.video_seconds * 1000),
        "width": WIDTH,
        "height": HEIGHT,
        "total_frame": session.total_frames,
        "normalized_video": media(base_url, session, "normalized.mp4"),
    }


def selection_answer(session: Session, frame_index: int, base_url: str) -> dict[str, Any]:
    """The masks now selected on one frame: one object per point, RLE over the reported size."""
    points = session.selections.get(frame_index, [])
    masks = [
        {
            "object_id": i,
            "rle_mask": {"size": [HEIGHT, WIDTH], "counts": _rle(point)},
            "png_url": media(base_url, session, f"mask-{frame_index}.png"),
        }
        for i, point in enumerate(points)
    ]
    return {
        "status": 0,
        "session_id": session.session_id,
        "res": {"frame_index": frame_index, "rle_mask_list": masks},
    }


def preview_answer(session: Session, base_url: str) -> dict[str, Any]:
    return {
        "status": 0,
        "session_id": session.session_id,
        "res": {
            "video": media(base_url, session, "preview.mp4"),
            "video_cover": media(base_url, session, "cover.png"),
            "tracking_output": media(base_url, session, "tracking.mp4"),
        },
    }


def _rle(point: Point) -> str:
    """A column-major run-length mask: a 64x64 square around the point (0/1 runs, space separated)."""
    x = min(WIDTH - 64, max(0, int(point["x"] * WIDTH) - 32))
    y = min(HEIGHT - 64, max(0, int(point["y"] * HEIGHT) - 32))
    runs = [x * HEIGHT + y]
    for _ in range(63):
        runs += [64, HEIGHT - 64]
    runs += [64, WIDTH * HEIGHT - runs[0] - 64 * 64 - 63 * (HEIGHT - 64)]
    return " ".join(str(run) for run in runs)

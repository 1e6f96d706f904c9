"""Image inputs: pass URLs through, read local/object-storage files, and check content before paying.

Kling takes an http(s) URL or raw Base64 without a ``data:`` prefix; jpg/jpeg/png, at most 10 MB, at least
300 px per side, and for some fields an aspect ratio between 1:2.5 and 2.5:1 (the spec's ``Image.ratio``
says which). Files are read here and sent as Base64, so users can point at ``/data/cat.png`` or
``s3://bucket/cat.png``. Never log the Base64, and never quote a file's bytes in an error: an image field can
be set from ``dag_run.conf``, and the worker can read files its user should not see.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from collections.abc import Callable
from typing import Any

from airflow_provider_kling.checks import Image, visit_field_images
from airflow_provider_kling.exceptions import KlingValidationError
from airflow_provider_kling.spec import get_task_type

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_SIDE_PX = 300
MAX_ASPECT = 2.5
_STORAGE_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]+={0,2}\s*$")


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG markers to the first SOF segment (which holds height and width)."""
    offset = 2
    while offset + 9 <= len(data):
        if data[offset] != 0xFF:
            return None
        marker = data[offset + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            offset += 2
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[offset + 5 : offset + 9])
            return int(width), int(height)
        offset += 2 + length
    return None


def check_image_bytes(field: str, data: bytes, ratio: str | None = "reject") -> str | None:
    """Format (png/jpeg), size and, where the header tells, dimensions and aspect ratio.

    Returns a warning when the aspect ratio is off for a field whose ratio rule is uncertain (``"warn"``).
    """
    if len(data) > MAX_IMAGE_BYTES:
        raise KlingValidationError(f"{field} must be at most 10 MB; got {len(data)} bytes")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        size = _png_size(data)
    elif data.startswith(b"\xff\xd8"):
        size = _jpeg_size(data)
    else:
        raise KlingValidationError(f"{field} must be a JPEG or PNG image; its content is neither")
    if size is None:
        return None
    width, height = size
    if min(width, height) < MIN_SIDE_PX:
        raise KlingValidationError(
            f"{field} must be at least {MIN_SIDE_PX} px per side; got {width}x{height}"
        )
    if ratio is not None and max(width, height) / max(1, min(width, height)) > MAX_ASPECT:
        message = f"{field} aspect ratio must be between 1:2.5 and 2.5:1; got {width}x{height}"
        if ratio == "reject":
            raise KlingValidationError(message)
        return f"{message} (sources disagree whether Kling enforces this for {field}; sending it)"
    return None


def _is_base64_image(value: str) -> bool:
    """Whether a value is raw Base64 of a JPEG or PNG (a JPEG's always starts ``/9j/``, like a path)."""
    head = "".join(value[:64].split())[:12]
    if len(head) < 12 or not _BASE64.match(value):
        return False
    return base64.b64decode(head).startswith((b"\xff\xd8", b"\x89PNG"))


def _is_path(value: str) -> bool:
    return (
        bool(_STORAGE_SCHEME.match(value))
        or (value.startswith(("/", "./", "../", "~")) and not _is_base64_image(value))
        or os.path.isfile(value)
    )


def _read(field: str, location: str) -> bytes:
    if _STORAGE_SCHEME.match(location) and not location.startswith("file://"):
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        opened = ObjectStoragePath(location).open("rb")
    else:
        path = os.path.expanduser(location.removeprefix("file://"))
        if not os.path.isfile(path):
            raise KlingValidationError(f"{field} file not found: {location}")
        opened = open(path, "rb")  # noqa: SIM115 - closed below
    with opened as handle:
        return handle.read(MAX_IMAGE_BYTES + 1)


def resolve_image(field: str, value: str, ratio: str | None, warn: Callable[[str], None]) -> str:
    """What to send for one image field: the URL as is, or checked Base64 of the image's bytes."""
    value = value.strip()
    if value.startswith(("http://", "https://")):
        return value
    if value.startswith("data:"):
        value = value.partition(",")[2]
    elif _is_path(value):
        data = _read(field, value)
        _warn_if(check_image_bytes(field, data, ratio), warn)
        return base64.b64encode(data).decode("ascii")
    if not _BASE64.match(value):
        raise KlingValidationError(
            f"{field} must be an http(s) URL, raw Base64, or an existing local or object-storage path"
        )
    try:
        data = base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError):
        raise KlingValidationError(f"{field} is not valid Base64") from None
    _warn_if(check_image_bytes(field, data, ratio), warn)
    return re.sub(r"\s+", "", value)


def _warn_if(message: str | None, warn: Callable[[str], None]) -> None:
    if message is not None:
        warn(message)


def resolve_images(task_type: str, body: dict[str, Any], warn: Callable[[str], None]) -> dict[str, Any]:
    """Resolve every image input of a validated create body (nested ones included), as the spec marks them."""

    def visit(where: str, value: Any, check: Image) -> Any:
        return resolve_image(where, value, check.ratio, warn) if isinstance(value, str) else value

    return visit_field_images(get_task_type(task_type).all_fields, body, "", visit)

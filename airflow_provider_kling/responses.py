"""Turn one HTTP answer into Kling's ``data`` object or the right ``KlingApiError``.

Sync and async transports both hand their raw answer here, so there is one parser for every path.
"""

from __future__ import annotations

import json
import re
from email.utils import parsedate_to_datetime
from time import time
from typing import Any

from airflow_provider_kling.exceptions import (
    KlingApiError,
    KlingResponseError,
    error_class_for_code,
)

_EXCERPT_CHARS = 200


class KlingMalformedResponseError(KlingResponseError):
    """The body could not be decoded as JSON (HTML error page, truncated answer)."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError, IndexError):
        return None


def excerpt(body: bytes | str) -> str:
    """A short single-line excerpt of a body for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = re.sub(r"\s+", " ", text).strip()
    return text[:_EXCERPT_CHARS] + ("…" if len(text) > _EXCERPT_CHARS else "")


def parse_response(http_status: int, body: bytes, retry_after: str | None = None) -> Any:
    """Return the envelope's ``data`` or raise the error the answer means."""
    wait = parse_retry_after(retry_after)
    try:
        document = json.loads(body)
    except ValueError:
        raise KlingMalformedResponseError(
            f"answer is not JSON: {excerpt(body) or '(empty body)'}",
            http_status=http_status,
            retry_after=wait,
        ) from None
    if not isinstance(document, dict):
        raise KlingResponseError(
            f"answer is not a JSON object: {excerpt(body)}", http_status=http_status, retry_after=wait
        )
    gateway_error = document.get("error")
    if isinstance(gateway_error, dict) and "code" not in document:
        kind = gateway_error.get("type") or gateway_error.get("code") or "error"
        message = str(gateway_error.get("message") or excerpt(body))
        cls = error_class_for_code(None, http_status)
        raise (cls if cls is not KlingApiError else KlingResponseError)(
            f"gateway {kind}: {message}", http_status=http_status, retry_after=wait
        )
    code = document.get("code")
    if not isinstance(code, int) or isinstance(code, bool):
        raise KlingResponseError(
            f"answer has no business code: {excerpt(body)}", http_status=http_status, retry_after=wait
        )
    request_id = document.get("request_id")
    request_id = str(request_id) if request_id is not None else None
    if code != 0 or http_status >= 400:
        cls = error_class_for_code(code if code != 0 else None, http_status)
        raise cls(
            str(document.get("message") or "(no message)"),
            code=code,
            http_status=http_status,
            request_id=request_id,
            retry_after=wait,
        )
    if "data" not in document or document["data"] is None:
        raise KlingResponseError(
            f"answer has code 0 but no data: {excerpt(body)}",
            code=code,
            http_status=http_status,
            request_id=request_id,
        )
    return document["data"]

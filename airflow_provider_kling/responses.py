"""Turn one HTTP answer into Kling's ``data`` object or the right ``KlingApiError``.

Sync and async transports both hand their raw answer here, so there is one parser for every path. Every
piece of server text that goes into a message passes through the connection's ``Redactor`` first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from time import time
from typing import Any

from airflow_provider_kling.exceptions import (
    KlingApiError,
    KlingMalformedResponseError,
    KlingResponseError,
    error_class_for_code,
)
from airflow_provider_kling.redaction import Redactor

#: Kling's answers are a few KB; a page of 500 tasks stays far below this. Larger answers are not read.
MAX_ANSWER_BYTES = 10 * 1024 * 1024
_EXCERPT_CHARS = 200
_MESSAGE_CHARS = 500
# Redact a window this much longer than the excerpt, so a secret straddling its end leaves no prefix behind.
_REDACT_MARGIN = 4096
_NO_SECRETS: Callable[[str], str] = Redactor()
_ASCII_SECONDS = re.compile(r"[0-9]{1,9}")
_ASCII_CODE = re.compile(r"-?[0-9]{1,9}")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); ``None`` when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if _ASCII_SECONDS.fullmatch(value):  # str.isdigit() also accepts "²", which float() refuses
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def excerpt(
    body: bytes | str, redact: Callable[[str], str] = _NO_SECRETS, limit: int = _EXCERPT_CHARS
) -> str:
    """A short single-line excerpt of server text for error messages, secrets redacted."""
    window = body[: limit + _REDACT_MARGIN]
    text = window.decode("utf-8", "replace") if isinstance(window, bytes) else window
    text = re.sub(r"\s+", " ", redact(text)).strip()
    return text[:limit] + ("…" if len(text) > limit or len(body) > len(window) else "")


class AnswerBody:
    """An answer's bytes as the transport reads them, chunk by chunk, refused beyond ``MAX_ANSWER_BYTES``.

    Reading stops at the cap, so a huge (or endless) answer costs at most 10 MiB of memory, not its size.
    """

    def __init__(self, http_status: int, content_length: str | None) -> None:
        self.http_status = http_status
        self._chunks: list[bytes] = []
        self._size = 0
        if content_length is not None and content_length.strip().isascii():
            declared = content_length.strip()
            if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                raise self._too_large()

    def _too_large(self) -> KlingResponseError:
        return KlingResponseError(
            f"answer is larger than {MAX_ANSWER_BYTES // 2**20} MiB; not reading it",
            http_status=self.http_status,
        )

    def add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > MAX_ANSWER_BYTES:
            raise self._too_large()
        self._chunks.append(chunk)

    def content(self) -> bytes:
        return b"".join(self._chunks)


def _business_code(value: Any) -> int | None:
    """Kling sends ``code`` as an integer; some gateways document it as a string (``"0"``, ``"1303"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _ASCII_CODE.fullmatch(value.strip()):
        return int(value)
    return None


def parse_response(
    http_status: int, body: bytes, retry_after: str | None = None, redact: Callable[[str], str] = _NO_SECRETS
) -> Any:
    """Return the envelope's ``data`` or raise the error the answer means.

    ``redact`` removes the connection's secrets from any server text quoted in the error.
    """
    wait = parse_retry_after(retry_after)
    try:
        document = json.loads(body)
    except ValueError:
        raise KlingMalformedResponseError(
            f"answer is not JSON: {excerpt(body, redact) or '(empty body)'}",
            http_status=http_status,
            retry_after=wait,
        ) from None
    except RecursionError:
        raise KlingMalformedResponseError(
            "answer is JSON nested too deeply to decode", http_status=http_status, retry_after=wait
        ) from None
    if not isinstance(document, dict):
        raise KlingResponseError(
            f"answer is not a JSON object: {excerpt(body, redact)}", http_status=http_status, retry_after=wait
        )
    gateway_error = document.get("error")
    if isinstance(gateway_error, dict) and "code" not in document:
        kind = excerpt(str(gateway_error.get("type") or gateway_error.get("code") or "error"), redact)
        message = excerpt(str(gateway_error.get("message") or ""), redact, _MESSAGE_CHARS)
        cls = error_class_for_code(None, http_status)
        raise (cls if cls is not KlingApiError else KlingResponseError)(
            f"gateway {kind}: {message or excerpt(body, redact)}", http_status=http_status, retry_after=wait
        )
    code = _business_code(document.get("code"))
    if code is None:
        raise KlingResponseError(
            f"answer has no business code: {excerpt(body, redact)}", http_status=http_status, retry_after=wait
        )
    request_id = document.get("request_id")
    request_id = excerpt(str(request_id), redact) if request_id is not None else None
    if code != 0 or http_status >= 400:
        cls = error_class_for_code(code if code != 0 else None, http_status)
        raise cls(
            excerpt(str(document.get("message") or "(no message)"), redact, _MESSAGE_CHARS),
            code=code,
            http_status=http_status,
            request_id=request_id,
            retry_after=wait,
        )
    if "data" not in document or document["data"] is None:
        raise KlingResponseError(
            f"answer has code 0 but no data: {excerpt(body, redact)}",
            code=code,
            http_status=http_status,
            request_id=request_id,
        )
    return document["data"]


def parse_document(
    http_status: int, body: bytes, retry_after: str | None = None, redact: Callable[[str], str] = _NO_SECRETS
) -> dict[str, Any]:
    """A gateway's own JSON answer (billing endpoints: no Kling envelope), or the error it means.

    Gateways report errors with an HTTP error status or, just as often, HTTP 200 with ``{"error": ...}`` or
    ``{"success": false, "message": ...}``.
    """
    wait = parse_retry_after(retry_after)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise KlingMalformedResponseError(
            f"answer is not JSON: {excerpt(body, redact) or '(empty body)'}",
            http_status=http_status,
            retry_after=wait,
        ) from None
    error = document.get("error") if isinstance(document, dict) else None
    failed = isinstance(document, dict) and document.get("success") is False
    if http_status >= 400 or error or failed or not isinstance(document, dict):
        detail = error.get("message") if isinstance(error, dict) else error
        if failed and not detail:
            detail = document.get("message") or "success is false"
        text = excerpt(str(detail), redact, _MESSAGE_CHARS) if detail else excerpt(body, redact)
        cls = error_class_for_code(None, http_status) if http_status >= 400 else KlingResponseError
        raise (cls if cls is not KlingApiError else KlingResponseError)(
            f"gateway error: {text}", http_status=http_status, retry_after=wait
        )
    return document


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def task_object(data: Any) -> dict[str, Any]:
    """Check that ``data`` is a task object whose fields callers index into (types only, never contents).

    A decodable answer of the wrong shape will not improve on asking again, so it is not retried. The task id
    becomes a string (Kling's are ~18 digits: never a float).
    """
    if not isinstance(data, dict) or not isinstance(data.get("task_id"), str | int):
        raise KlingResponseError(
            f"answer's data is not a task object (it is {_kind(data)} without a task_id)"
        )
    for key, expected in (
        ("task_status", str),
        ("task_status_msg", str),
        ("task_result", dict),
        ("task_info", dict),
    ):
        value = data.get(key)
        if value is not None and not isinstance(value, expected):
            raise KlingResponseError(
                f"answer's {key} is {_kind(value)}, expected {'a string' if expected is str else 'an object'}"
            )
    data["task_id"] = str(data["task_id"])
    return data


def task_list(data: Any) -> list[dict[str, Any]]:
    """Check a list answer's ``data``: a list of task objects."""
    if not isinstance(data, list):
        raise KlingResponseError(f"list answer's data is not a list (it is {_kind(data)})")
    return [task_object(item) for item in data]

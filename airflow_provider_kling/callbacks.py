"""Trust for Kling's callbacks: signed callback URLs, and Standard Webhooks signatures (kling-api.md §7).

The plugin's endpoints are outside Airflow's auth, and Kling's callbacks may come unsigned. So each callback
URL names its *target* (the connection, the asset to record on, the Kling task type, the submission's
``external_task_id`` and the submitting task instance) and carries a token: an HMAC-SHA256 of that target,
keyed with the connection's ``callback_secret`` extra. A token cannot be guessed, nor moved to another target.
It proves only that the URL is ours, never what a body says: the plugin re-queries Kling before acting.

Where Kling signs its deliveries (``webhook-id``, ``webhook-timestamp``, ``webhook-signature: v1,<base64>``)
and the connection has ``webhook_secret``, ``verify_webhook`` checks them too; the sweep request the workers
send to the plugin is signed the same way with ``callback_secret``. Standard library only: the operators
import this module when a DAG file is parsed, on every Airflow version.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Where the plugin's FastAPI app is mounted in the API server (not one of Airflow's reserved prefixes).
CALLBACK_PREFIX = "/kling-callbacks"
#: XCom key of a submission made with a completion asset: what the sweep looks for.
KLING_COMPLETION_XCOM_KEY = "kling_completion"
#: A ``callback_secret`` shorter than this is refused: the token is only as unguessable as its key.
MIN_SECRET_CHARS = 16
#: How far a signed request's ``webhook-timestamp`` may be from our clock (Standard Webhooks' default).
WEBHOOK_TOLERANCE = 300.0
#: The longest encoded target accepted: Kling stores the URL, and no honest target comes near this.
MAX_TARGET_CHARS = 4096
WEBHOOK_SECRET_PREFIX = "whsec_"
#: The most Kling queries one sweep request may ask the plugin for.
MAX_SWEEP_QUERIES = 1000

_TOKEN_DOMAIN = b"kling-callback/v1\n"
_CONN_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class CallbackAuthError(ValueError):
    """A callback or sweep request that cannot be trusted: bad token, target or signature. The message says
    which check failed, never a secret."""


@dataclass(frozen=True)
class CallbackTarget:
    """What a callback URL stands for; every field is covered by its token."""

    conn_id: str
    asset_name: str
    asset_uri: str
    task_type: str
    external_task_id: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: Any) -> CallbackTarget:
        """A target from its dict form (XCom, decoded URL); ``CallbackAuthError`` for anything else."""
        names = [f.name for f in fields(cls)]
        if not isinstance(value, Mapping) or set(value) != set(names):
            raise CallbackAuthError("malformed callback target")
        text = [value[name] for name in names if name != "map_index"]
        map_index = value["map_index"]
        if not all(isinstance(v, str) and v for v in text) or type(map_index) is not int:
            raise CallbackAuthError("malformed callback target")
        if not _CONN_ID.fullmatch(value["conn_id"]):
            raise CallbackAuthError("malformed callback target")
        return cls(**{name: value[name] for name in names})

    def encode(self) -> str:
        """The target as one URL path segment: base64url of compact JSON, unpadded."""
        raw = json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> CallbackTarget:
        if not 0 < len(text) <= MAX_TARGET_CHARS or not _BASE64URL.fullmatch(text):
            raise CallbackAuthError("malformed callback target")
        try:
            value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            raise CallbackAuthError("malformed callback target") from None
        return cls.from_dict(value)


def callback_token(secret: str, encoded_target: str) -> str:
    """The HMAC-SHA256 of an encoded target under ``callback_secret``, base64url without padding."""
    digest = hmac.new(secret.encode(), _TOKEN_DOMAIN + encoded_target.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def verify_token(secret: str, encoded_target: str, token: str) -> None:
    """Constant-time check of a callback URL's token; ``CallbackAuthError`` when it does not match."""
    if not hmac.compare_digest(callback_token(secret, encoded_target).encode(), token.encode()):
        raise CallbackAuthError("invalid callback token")


def callback_url(base_url: str, secret: str, target: CallbackTarget) -> str:
    """The URL Kling is given: the API server's public base URL, the plugin's path, the target, its token."""
    encoded = target.encode()
    return f"{base_url.rstrip('/')}{CALLBACK_PREFIX}/v1/callback/{encoded}/{callback_token(secret, encoded)}"


def sweep_url(base_url: str, conn_id: str) -> str:
    return f"{base_url.rstrip('/')}{CALLBACK_PREFIX}/v1/sweep/{conn_id}"


# -- Standard Webhooks (https://www.standardwebhooks.com) ----------------------------------------------------


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a webhook secret: ``whsec_<base64>`` decoded, any other string as its UTF-8 bytes."""
    if secret.startswith(WEBHOOK_SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(WEBHOOK_SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a whsec_ secret must be followed by Base64") from None
    return secret.encode()


def _signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(webhook_key(secret), signed, hashlib.sha256).digest()).decode()


def sign_webhook(secret: str, message_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` (what the sweep client sends)."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        "webhook-id": message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + _signature(secret, message_id, timestamp, body),
    }


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance: float = WEBHOOK_TOLERANCE,
) -> str:
    """Check a Standard Webhooks signature over the exact body bytes; returns the ``webhook-id``.

    Refused (``CallbackAuthError``): a missing header, a timestamp further than ``tolerance`` seconds from now
    either way (so a captured delivery cannot be replayed later), or no ``v1`` signature that matches.
    """
    message_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not message_id or not timestamp or not signatures:
        raise CallbackAuthError("missing webhook signature headers")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise CallbackAuthError("invalid webhook-timestamp")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        raise CallbackAuthError("webhook-timestamp outside the tolerance")
    expected = _signature(secret, message_id, timestamp, body).encode()
    for part in signatures.split(" "):
        version, _, value = part.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value.encode()):
            return message_id
    raise CallbackAuthError("invalid webhook signature")

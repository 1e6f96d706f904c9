"""Standard Webhooks signatures for callbacks (kling-api.md §7; https://www.standardwebhooks.com).

With ``webhook_secret`` set, every callback carries ``webhook-id`` (stable per task and status, so a duplicate
delivery repeats it), ``webhook-timestamp`` (Unix seconds, emulator clock) and
``webhook-signature: v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` over the exact body bytes.

Secret format: ``whsec_<base64>`` as Standard Webhooks issues them (the key is the decoded bytes), or any
other string, used raw (its UTF-8 bytes are the key).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

PREFIX = "whsec_"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret; ValueError for a ``whsec_`` secret that is not valid Base64."""
    if secret.startswith(PREFIX):
        try:
            return base64.b64decode(secret[len(PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("webhook_secret: whsec_ must be followed by Base64") from None
    return secret.encode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }

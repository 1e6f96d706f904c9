"""Keep credentials out of every error message: URLs lose their user-info, server text loses echoed secrets.

A gateway may echo the ``Authorization`` header into an HTML error page, and a URL may carry ``user:pass@``;
both end up in exceptions, task logs and the trigger's events unless redacted where the message is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "***"
# A JWT's header and claims are base64url JSON objects, so both start with "eyJ" ('{"').
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?")
_CREDENTIAL = re.compile(r"\b(Bearer|Basic)(\s+)[^\s\"'<>,;]{8,}", re.IGNORECASE)
_MIN_SECRET_CHARS = 4
# Everything between "//" and the last "@" before the path: a password may itself contain "@".
_USER_INFO = re.compile(r"(?<=//)[^/?#\s'\"]*@")
_QUERY_VALUE = re.compile(r"([?&][^=&#\s'\"]+=)[^&#\s'\"]*")


class Redactor:
    """Replaces given secret values, anything shaped like a JWT and Bearer/Basic credentials by ``***``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        values = {s for s in secrets if s and len(s) >= _MIN_SECRET_CHARS}
        values |= {quote(s, safe="") for s in values}  # as a query string or form would carry it
        alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
        self._secrets = re.compile(alternatives) if alternatives else None

    def __call__(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(REDACTED, text)
        text = _JWT.sub(REDACTED, text)
        return _CREDENTIAL.sub(rf"\1\2{REDACTED}", text)


def redact_url(url: object) -> str:
    """``url`` (or any text holding URLs, such as a list's repr) for a message: user-info and query values
    replaced (signed URLs carry their key there)."""
    text = _USER_INFO.sub(f"{REDACTED}@", str(url))
    return _QUERY_VALUE.sub(rf"\1{REDACTED}", text)

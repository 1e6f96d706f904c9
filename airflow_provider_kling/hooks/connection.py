"""What a ``kling`` Airflow connection means: base URL, credentials and the two supported extras."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt

from airflow_provider_kling.exceptions import KlingConnectionConfigError

DEFAULT_BASE_URL = "https://api-singapore.klingai.com"
DEFAULT_TIMEOUT = 60.0
JWT_TTL = 1800
JWT_NOT_BEFORE_SKEW = 5
# Re-sign this long before expiry, so a token is never sent with less than ten minutes of life left.
JWT_REFRESH_MARGIN = 600

KNOWN_EXTRAS = ("timeout", "max_retries", "ca_bundle")
# Airflow 2 form widgets may store extras as ``extra__kling__<name>``.
_LEGACY_PREFIX = "extra__kling__"

log = logging.getLogger(__name__)


class KlingCredentials:
    """Produces the ``Authorization`` header: a static Bearer token, or an HS256 JWT signed from AK/SK.

    The JWT is cached and re-signed ``JWT_REFRESH_MARGIN`` seconds before it expires; ``invalidate()``
    forces a new one after Kling answers 1003/1004. Its ``repr`` never shows a secret.
    """

    def __init__(
        self, *, token: str | None = None, access_key: str | None = None, secret_key: str | None = None
    ):
        if token is None and not (access_key and secret_key):
            raise ValueError("either a token or an access key and secret key are required")
        self._token = token
        self._access_key = access_key
        self._secret_key = secret_key or ""
        self._jwt: str | None = None
        self._jwt_expires = 0.0
        self._lock = threading.Lock()

    @property
    def uses_jwt(self) -> bool:
        return self._token is None

    def __repr__(self) -> str:
        return f"KlingCredentials(mode={'jwt' if self.uses_jwt else 'bearer'})"

    def invalidate(self) -> None:
        """Drop the cached JWT so the next header carries a freshly signed one."""
        with self._lock:
            self._jwt = None

    def authorization(self) -> str:
        """The value of the ``Authorization`` header for a request sent now."""
        if self._token is not None:
            return f"Bearer {self._token}"
        with self._lock:
            now = time.time()
            if self._jwt is None or now >= self._jwt_expires - JWT_REFRESH_MARGIN:
                self._jwt_expires = int(now) + JWT_TTL
                claims = {
                    "iss": self._access_key,
                    "exp": self._jwt_expires,
                    "nbf": int(now) - JWT_NOT_BEFORE_SKEW,
                }
                self._jwt = jwt.encode(claims, self._secret_key, algorithm="HS256", headers={"typ": "JWT"})
            return f"Bearer {self._jwt}"


@dataclass(frozen=True)
class KlingConnectionSettings:
    """The parsed connection; built by one function for the sync and async paths alike."""

    conn_id: str
    base_url: str
    credentials: KlingCredentials = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT
    max_retries: int | None = None
    #: PEM file of CAs to trust for https (a gateway with a private CA); None = the system's/certifi's.
    ca_bundle: str | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"


def _base_url(conn_id: str, host: str | None, port: int | None) -> str:
    host = (host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r}: host must be a base URL starting with http:// or https:// "
            f"(e.g. https://<gateway>/kling or {DEFAULT_BASE_URL}); got {host!r}"
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _number(conn_id: str, name: str, value: Any, kind: type[int] | type[float], minimum: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or number < minimum:
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r}: extra {name!r} must be a number >= {minimum}; got {value!r}"
        )
    return number


def build_settings(
    conn_id: str,
    *,
    host: str | None,
    port: int | None,
    login: str | None,
    password: str | None,
    extras: Mapping[str, Any],
) -> KlingConnectionSettings:
    """Validate a connection's fields and extras; every problem is a ``KlingConnectionConfigError``."""
    base_url = _base_url(conn_id, host, port)
    if login and password:
        credentials = KlingCredentials(access_key=login, secret_key=password)
    elif password and not login:
        credentials = KlingCredentials(token=password)
    elif login:
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r}: an access key (login) is set but the secret key (password) is empty"
        )
    else:
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r} has no credentials: set the password to an API token, or login and "
            "password to an access key and secret key"
        )
    values: dict[str, Any] = {}
    for key, value in extras.items():
        name = key.removeprefix(_LEGACY_PREFIX)
        if name in KNOWN_EXTRAS:
            if value not in (None, ""):
                values[name] = value
        else:
            log.warning(
                "Connection %r: ignoring unknown extra %r (extras are never sent as headers)", conn_id, key
            )
    timeout = _number(conn_id, "timeout", values.get("timeout", DEFAULT_TIMEOUT), float, 0.001)
    max_retries = values.get("max_retries")
    if max_retries is not None:
        max_retries = _number(conn_id, "max_retries", max_retries, int, 0)
    ca_bundle = values.get("ca_bundle")
    if ca_bundle is not None and not isinstance(ca_bundle, str):
        raise KlingConnectionConfigError(f"Connection {conn_id!r}: extra 'ca_bundle' must be a file path")
    return KlingConnectionSettings(conn_id, base_url, credentials, timeout, max_retries, ca_bundle)

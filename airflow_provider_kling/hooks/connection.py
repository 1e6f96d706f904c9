"""What a ``kling`` Airflow connection means: base URL, credentials, proxy and the supported extras."""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from requests.utils import get_environ_proxies, select_proxy

from airflow_provider_kling import options
from airflow_provider_kling.callbacks import MIN_SECRET_CHARS, webhook_key
from airflow_provider_kling.exceptions import KlingConnectionConfigError, KlingValidationError
from airflow_provider_kling.redaction import Redactor, redact_url

DEFAULT_BASE_URL = "https://api-singapore.klingai.com"
DEFAULT_TIMEOUT = 60.0
#: The shortest per-call timeout a connection may set: below it, no answer over a real network arrives.
MIN_TIMEOUT = 0.1
MAX_RETRIES_LIMIT = 100
JWT_TTL = 1800
# A JWT is valid from 30 s in the past, so a Kling server whose clock is up to 30 s behind accepts it.
JWT_NOT_BEFORE_SKEW = 30
# Re-sign this long before expiry, so a token is never sent with less than ten minutes of life left.
JWT_REFRESH_MARGIN = 600

KNOWN_EXTRAS = (
    "timeout",
    "max_retries",
    "ca_bundle",
    "quota_source",
    "callback_base_url",
    "callback_secret",
    "webhook_secret",
)
#: Where ``KlingHook.get_quota`` asks; ``auto`` guesses from the host (a path ending in /kling: a gateway).
QUOTA_SOURCES = ("auto", "kling", "gateway", "none")
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

    def secrets(self) -> tuple[str, ...]:
        """Every value an error message must never show: token, access key, secret key, the current JWT."""
        return tuple(s for s in (self._token, self._access_key, self._secret_key, self._jwt) if s)

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
    #: The proxy for ``base_url``, decided once from HTTP(S)_PROXY/NO_PROXY the way ``requests`` decides,
    #: so the async path (which is handed it explicitly) routes exactly like the sync one.
    proxy: str | None = None
    quota_source: str = "auto"
    #: Event-driven completion (``completion_asset``): the Airflow API server's public URL, the key of the
    #: callback URLs' tokens, and the key of Kling's Standard Webhooks signatures (``callbacks.py``).
    callback_base_url: str | None = None
    callback_secret: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)

    def url(self, path: str, *, at_root: bool = False) -> str:
        """``path`` under the base URL, or with ``at_root`` under the gateway's root (without ``/kling``)."""
        base = self.base_url.removesuffix("/kling") if at_root else self.base_url
        return f"{base}/{path.lstrip('/')}"

    @property
    def quota_from(self) -> str:
        """``kling``, ``gateway`` or ``none``: the ``quota_source`` extra, with ``auto`` resolved."""
        if self.quota_source != "auto":
            return self.quota_source
        return "gateway" if urlsplit(self.base_url).path.endswith("/kling") else "kling"

    def redact(self, text: str) -> str:
        """``text`` without this connection's credentials, JWTs or Bearer values (for error messages)."""
        return Redactor(self.credentials.secrets())(text)


def proxy_for(url: str) -> str | None:
    """The proxy ``requests`` would use for ``url`` given the environment (``None``: connect directly)."""
    return select_proxy(url, get_environ_proxies(url))


def _base_url(conn_id: str, host: str | None, port: int | None) -> str:
    host = (host or "").strip()
    if not host:
        return DEFAULT_BASE_URL
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r}: host must be a base URL starting with http:// or https:// "
            f"(e.g. https://<gateway>/kling or {DEFAULT_BASE_URL}); got {redact_url(host)!r}"
        )
    if "@" in parts.netloc:
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r}: host must not contain a user name or password (got "
            f"{redact_url(host)!r}); put an API token in the password field, or the access key in login and "
            "the secret key in password"
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


# A Bearer token travels in a header as it is: visible ASCII only (no spaces, line breaks or invisible marks).
_TOKEN = re.compile(r"[\x21-\x7e]+")


def _credential(conn_id: str, field_name: str, value: str | None, *, is_token: bool = False) -> str | None:
    """A credential field with surrounding whitespace (a pasted line break) removed; inner junk refused.

    The message names the field, never the value: an error may be logged where a secret must not be.
    """
    value = (value or "").strip()
    if not value:
        return None
    if is_token:
        if not _TOKEN.fullmatch(value):
            raise KlingConnectionConfigError(
                f"Connection {conn_id!r}: the {field_name} (API token) may only hold visible ASCII "
                "characters, no spaces, line breaks or control characters; paste the token alone (without "
                "'Bearer ')"
            )
    elif any(unicodedata.category(char) in ("Cc", "Cf") for char in value):
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r}: the {field_name} contains a control character or an invisible "
            "formatting character; paste it again"
        )
    return value


def _option(conn_id: str, name: str, value: Any, *, integer: bool) -> Any:
    """An extra checked by the shared option rules, reported as a connection problem."""
    try:
        if integer:
            return options.count(f"extra {name!r}", value, minimum=0, maximum=MAX_RETRIES_LIMIT)
        return options.seconds(f"extra {name!r}", value, minimum=MIN_TIMEOUT)
    except KlingValidationError as err:
        raise KlingConnectionConfigError(f"Connection {conn_id!r}: {err}") from None


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
    login = _credential(conn_id, "login (access key)", login)
    password = _credential(conn_id, "password", password, is_token=not login)
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
    timeout = _option(conn_id, "timeout", values.get("timeout", DEFAULT_TIMEOUT), integer=False)
    max_retries = values.get("max_retries")
    if max_retries is not None:
        max_retries = _option(conn_id, "max_retries", max_retries, integer=True)
    ca_bundle = values.get("ca_bundle")
    if ca_bundle is not None and not isinstance(ca_bundle, str):
        raise KlingConnectionConfigError(f"Connection {conn_id!r}: extra 'ca_bundle' must be a file path")
    quota_source = values.get("quota_source", "auto")
    if quota_source not in QUOTA_SOURCES:
        raise KlingConnectionConfigError(
            f"Connection {conn_id!r}: extra 'quota_source' must be one of {', '.join(QUOTA_SOURCES)}; "
            f"got {quota_source!r}"
        )
    return KlingConnectionSettings(
        conn_id,
        base_url,
        credentials,
        timeout,
        max_retries,
        ca_bundle,
        proxy_for(base_url),
        quota_source,
        **_callback_extras(conn_id, values),
    )


def _callback_extras(conn_id: str, values: Mapping[str, Any]) -> dict[str, str | None]:
    """The event-driven extras, checked; the messages name the extra, never a secret's value."""
    out: dict[str, str | None] = {}
    base_url = values.get("callback_base_url")
    if base_url is not None:
        parts = urlsplit(base_url) if isinstance(base_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise KlingConnectionConfigError(
                f"Connection {conn_id!r}: extra 'callback_base_url' must be the http(s) URL at which "
                "Kling reaches the Airflow API server, e.g. https://airflow.example.com; got "
                f"{redact_url(base_url)!r}"
            )
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise KlingConnectionConfigError(
                f"Connection {conn_id!r}: extra 'callback_base_url' must have no user-info, query or fragment"
            )
        out["callback_base_url"] = base_url.rstrip("/")
    for name in ("callback_secret", "webhook_secret"):
        secret = values.get(name)
        if secret is None:
            continue
        if not isinstance(secret, str) or not _TOKEN.fullmatch(secret):
            raise KlingConnectionConfigError(
                f"Connection {conn_id!r}: extra {name!r} must be text of visible ASCII characters (no spaces)"
            )
        if name == "callback_secret" and len(secret) < MIN_SECRET_CHARS:
            raise KlingConnectionConfigError(
                f"Connection {conn_id!r}: extra 'callback_secret' must be at least {MIN_SECRET_CHARS} "
                "characters (e.g. the output of `openssl rand -hex 32`)"
            )
        try:
            webhook_key(secret)
        except ValueError as err:
            raise KlingConnectionConfigError(f"Connection {conn_id!r}: extra {name!r}: {err}") from None
        out[name] = secret
    return out

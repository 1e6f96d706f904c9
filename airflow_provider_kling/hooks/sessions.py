"""One aiohttp session per event loop (and timeout), shared by every hook on that loop, reference-counted.

A triggerer runs thousands of ``KlingTaskTrigger``s on one loop; a session each would mean a connection pool
and sockets each. Sharing one keeps a few keep-alive connections busy instead, and closes it when the last
hook lets go.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import weakref
from dataclasses import dataclass
from typing import Any

import aiohttp

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass
class _Entry:
    session: aiohttp.ClientSession
    users: int = 0


_SessionKey = tuple[float, str | None]
_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_SessionKey, _Entry]] = (
    weakref.WeakKeyDictionary()
)

#: How long a resolved connection is reused by later hooks on the same loop (a triggerer starting 10,000
#: waits would otherwise look the connection up 10,000 times, ~0.3-0.5 ms of CPU each).
SETTINGS_TTL = 60.0
_SETTINGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, tuple[float, Any]]] = (
    weakref.WeakKeyDictionary()
)


def cached_settings(conn_id: str) -> Any | None:
    """Connection settings another hook on this loop resolved less than ``SETTINGS_TTL`` ago, or None."""
    entry = _SETTINGS.get(asyncio.get_running_loop(), {}).get(conn_id)
    return entry[1] if entry is not None and time.monotonic() - entry[0] < SETTINGS_TTL else None


def cache_settings(conn_id: str, settings: Any) -> None:
    _SETTINGS.setdefault(asyncio.get_running_loop(), {})[conn_id] = (time.monotonic(), settings)


def acquire_session(timeout: float, ca_bundle: str | None = None) -> aiohttp.ClientSession:
    """The running loop's shared session for this timeout and CA bundle; pair with ``release_session``."""
    entries = _SHARED.setdefault(asyncio.get_running_loop(), {})
    entry = entries.get((timeout, ca_bundle))
    if entry is None or entry.session.closed:
        connector = None
        if ca_bundle is not None:
            connector = aiohttp.TCPConnector(ssl=ssl.create_default_context(cafile=ca_bundle))
        # No cookie jar: hooks of different connections (accounts) share this session, and a gateway's
        # cookie from one account's answer must not ride along with another's requests.
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout),
            headers=_HEADERS,
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        entry = entries[(timeout, ca_bundle)] = _Entry(session)
    entry.users += 1
    return entry.session


async def release_session(session: aiohttp.ClientSession) -> None:
    """Give a session back; the last user closes it."""
    entries = _SHARED.get(asyncio.get_running_loop(), {})
    for key, entry in list(entries.items()):
        if entry.session is session:
            entry.users -= 1
            if entry.users <= 0:
                del entries[key]
                await session.close()
            return

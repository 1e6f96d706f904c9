"""One aiohttp session per event loop (and timeout), shared by every hook on that loop, reference-counted.

A triggerer runs thousands of ``KlingTaskTrigger``s on one loop; a session each would mean a connection pool
and sockets each. Sharing one keeps a few keep-alive connections busy instead, and closes it when the last
hook lets go.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass

import aiohttp

_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass
class _Entry:
    session: aiohttp.ClientSession
    users: int = 0


_SHARED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, _Entry]] = (
    weakref.WeakKeyDictionary()
)


def acquire_session(timeout: float) -> aiohttp.ClientSession:
    """The running loop's shared session for this per-request timeout; pair with ``release_session``."""
    entries = _SHARED.setdefault(asyncio.get_running_loop(), {})
    entry = entries.get(timeout)
    if entry is None or entry.session.closed:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout), headers=_HEADERS)
        entry = entries[timeout] = _Entry(session)
    entry.users += 1
    return entry.session


async def release_session(session: aiohttp.ClientSession) -> None:
    """Give a session back; the last user closes it."""
    entries = _SHARED.get(asyncio.get_running_loop(), {})
    for timeout, entry in list(entries.items()):
        if entry.session is session:
            entry.users -= 1
            if entry.users <= 0:
                del entries[timeout]
                await session.close()
            return

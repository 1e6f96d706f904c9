"""An overall deadline for blocking ``requests`` calls, headers and body included.

``requests`` applies its timeout to each socket read, so a server that dribbles a byte every half second
keeps a call (or a download) alive indefinitely. Sessions with ``DeadlineAdapter`` mounted register every
connection a call uses with the calling thread's ``Deadline``; when it passes, a timer shuts those sockets
down, which wakes the blocked read, and the caller sees ``Deadline.expired``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager

_current = threading.local()


class Deadline:
    """``with Deadline(seconds) as deadline:`` bounds every request the thread makes through a
    ``DeadlineAdapter`` session inside the block; ``restart`` moves it (e.g. from headers to a whole file)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Deadline:
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        self.restart(self.seconds)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        _current.deadline = self._outer
        if self._timer is not None:
            self._timer.cancel()
        self._connections.clear()

    def restart(self, seconds: float) -> None:
        """Expire ``seconds`` from now instead (no effect once expired)."""
        with self._lock:
            if self.expired:
                return
            if self._timer is not None:
                self._timer.cancel()
            self.seconds = seconds
            self._timer = threading.Timer(seconds, self._expire)
            self._timer.daemon = True
            self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut_down(connection)

    def attach(self, connection: HTTPConnection) -> None:
        """Bound ``connection`` by this deadline (shut it down at once if it has passed)."""
        with self._lock:
            if connection not in self._connections:
                self._connections.append(connection)
            expired = self.expired
        if expired:
            _shut_down(connection)


def _shut_down(connection: HTTPConnection) -> None:
    # A response that ends the connection ("Connection: close") takes the socket from ``connection.sock``
    # while the body is read: the socket remembered at connect still reaches it.
    sock = connection.sock or getattr(connection, "_deadline_socket", None)
    if sock is not None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _attach(connection: HTTPConnection) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.attach(connection)


class _DeadlineMixin:
    """Registers the connection with the thread's deadline when it connects and for every request it sends."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._deadline_socket = self.sock  # type: ignore[attr-defined]
        _attach(self)  # type: ignore[arg-type]

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # type: ignore[arg-type]
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_DeadlineMixin, HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections (direct or through a proxy) obey the caller's ``Deadline``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager

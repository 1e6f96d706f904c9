"""``KlingDownloadOperator``: keep generated media before Kling deletes it (30 days), wherever Airflow writes.

Destinations go through Airflow's ``ObjectStoragePath`` (local, ``file://``, ``s3://``, ``gs://``, ...), so no
storage client is written here. Each file streams in chunks to a temporary name and is moved into place only
when complete and verified, so a partial file never sits under the final name.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import unquote, urlsplit

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_kling.exceptions import KlingError, KlingTransportError, error_class_for_code
from airflow_provider_kling.retry import RetryPolicy

if TYPE_CHECKING:
    import requests

DEFAULT_MAX_BYTES = 2 * 1024**3
# Read 4 MiB at a time: fewer hand-offs to the hashing thread (1 MiB chunks measured ~10% slower).
CHUNK_BYTES = 4 * 1024 * 1024
# Each chunk is written in pieces this big: a 1 MiB write() asks the kernel for high-order page-cache pages,
# which on VMs that hand free memory back to the host (virtio-balloon free-page reporting) must be faulted in
# again: 1 GiB then takes ~2 s of system time instead of ~0.25 s (benchmarks/download.py).
WRITE_BYTES = 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LOCAL_PROTOCOLS = ("file", "local")


def open_for_writing(path: Any) -> BinaryIO:
    """A local file directly, anything else through ``ObjectStoragePath``.

    fsspec's local file wrapper adds a Python layer to every write: ~10% of the throughput of a local
    download (benchmarks/download.py).
    """
    if path.protocol in _LOCAL_PROTOCOLS:
        return open(path.path, "wb")
    return cast(BinaryIO, path.open("wb"))


def safe_file_name(url: str, index: int) -> str:
    """A file name from the URL's last path segment: no directories, no hidden names, nothing odd."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).lstrip("._-")[:200]
    return name or f"file-{index}"


def unique_names(urls: Sequence[str]) -> list[str]:
    """Names for a batch, with collisions (``0.mp4`` from two tasks) resolved as ``0-1.mp4``, ``0-2.mp4``."""
    names: list[str] = []
    taken: set[str] = set()
    for index, url in enumerate(urls):
        name = safe_file_name(url, index)
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        candidate, n = name, 0
        while candidate in taken:
            n += 1
            candidate = f"{stem}-{n}{dot}{ext}"
        taken.add(candidate)
        names.append(candidate)
    return names


class KlingDownloadOperator(BaseOperator):
    """Download result URLs (e.g. a generation operator's ``.output``) to a directory or object storage.

    ``return_value``: ``[{"url", "path", "bytes", "sha256"}, ...]`` in the order of ``urls``. Assets in
    ``outlets`` receive the same list as event extra (``{"files": [...]}``), so downstream DAGs can be
    scheduled on new media.

    :param urls: list of http(s) URLs, or an XComArg producing one (templated).
    :param destination: a local directory or an object-storage URL such as ``s3://bucket/kling/`` (templated).
    :param conn_id: the Airflow connection for the object storage, if it needs one.
    :param max_bytes: refuse any file larger than this (checked while streaming, default 2 GiB).
    :param timeout: seconds for connecting and for each read.
    :param max_retries: retries of a transient failure (5xx, 429, network) per file.
    :param retry_delay: first backoff in seconds (doubles, jittered).
    """

    template_fields: Sequence[str] = ("urls", "destination")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        urls: Any,
        destination: str,
        conn_id: str | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout: float = 60.0,
        max_retries: int = 5,
        retry_delay: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.destination = destination
        self.conn_id = conn_id
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.download_retry = RetryPolicy(max_retries=max_retries, base_delay=retry_delay, max_delay=60.0)

    def _url_list(self) -> list[str]:
        urls = [self.urls] if isinstance(self.urls, str) else list(self.urls or [])
        for url in urls:
            if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
                raise KlingError(f"urls must be http(s) URLs; got {url!r}")
        return urls

    def _directory(self) -> Any:
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        location = str(self.destination)
        if "://" not in location:
            location = "file://" + os.path.abspath(os.path.expanduser(location))
        directory = ObjectStoragePath(location, conn_id=self.conn_id)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def execute(self, context: Any) -> list[dict[str, Any]]:
        import requests

        urls = self._url_list()
        directory = self._directory()
        results = []
        with requests.Session() as session:
            for url, name in zip(urls, unique_names(urls), strict=True):
                results.append(self._download(session, url, directory / name))
        for asset in self.outlets or []:
            context["outlet_events"][asset].extra = {"files": results}
        return results

    def _download(self, session: requests.Session, url: str, target: Any) -> dict[str, Any]:
        """One file, retried on transient failures; each try starts over on a fresh temporary file."""
        attempt = 0
        while True:
            try:
                size, digest = self._stream(session, url, target)
            except KlingError as err:
                if not self.download_retry.is_retryable(err) or attempt >= self.download_retry.max_retries:
                    raise
                wait = self.download_retry.delay(attempt, err)
                attempt += 1
                self.log.warning("Downloading %s failed (%s); retry %d in %.1fs", url, err, attempt, wait)
                time.sleep(wait)
                continue
            path = target.path if target.protocol in _LOCAL_PROTOCOLS else str(target)
            self.log.info("Downloaded %s to %s (%d bytes, sha256 %s)", url, path, size, digest)
            return {"url": url, "path": path, "bytes": size, "sha256": digest}

    def _stream(self, session: requests.Session, url: str, target: Any) -> tuple[int, str]:
        import requests

        partial = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.part"
        try:
            try:
                response = session.get(url, stream=True, timeout=self.timeout)
            except requests.RequestException as exc:
                raise KlingTransportError(f"GET {url} failed: {type(exc).__name__}") from None
            with response:
                if response.status_code >= 400:
                    cls = error_class_for_code(None, response.status_code)
                    raise cls(f"downloading {url} failed", http_status=response.status_code)
                expected = response.headers.get("Content-Length")
                if expected is not None and int(expected) > self.max_bytes:
                    raise KlingError(f"{url} is {expected} bytes, more than max_bytes={self.max_bytes}")
                size, digest = 0, hashlib.sha256()
                try:
                    # SHA-256 of chunk n runs in a helper thread (hashlib releases the GIL) while chunk n is
                    # written and chunk n+1 is read; one pending update at a time keeps the order.
                    with open_for_writing(partial) as out, ThreadPoolExecutor(1, "kling-sha256") as hasher:
                        hashing: Future[None] | None = None
                        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
                            size += len(chunk)
                            if size > self.max_bytes:
                                raise KlingError(f"{url} is larger than max_bytes={self.max_bytes}")
                            if hashing is not None:
                                hashing.result()
                            hashing = hasher.submit(digest.update, chunk)
                            view = memoryview(chunk)
                            for start in range(0, len(view), WRITE_BYTES):
                                out.write(view[start : start + WRITE_BYTES])
                        if hashing is not None:
                            hashing.result()
                except requests.RequestException as exc:
                    raise KlingTransportError(
                        f"GET {url} broke off after {size} bytes: {type(exc).__name__}"
                    ) from None
                if expected is not None and size != int(expected):
                    raise KlingTransportError(
                        f"GET {url} returned {size} bytes, Content-Length said {expected}"
                    )
            partial.rename(target)
            return size, digest.hexdigest()
        finally:
            if partial.exists():
                partial.unlink()

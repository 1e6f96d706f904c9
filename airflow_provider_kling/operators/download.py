"""``KlingDownloadOperator``: keep generated media before Kling deletes it (30 days), wherever Airflow writes.

Destinations go through Airflow's ``ObjectStoragePath`` (local, ``file://``, ``s3://``, ``gs://``, ...), so no
storage client is written here. Each file streams in chunks to a temporary name and is moved into place only
when complete and verified, so a partial file never sits under the final name. Media hosts are not trusted:
redirects are followed only to http(s) URLs with a host and never from https down to http, headers and sizes
are checked, and every file has an overall deadline besides the per-read timeout.
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
from urllib.parse import unquote, urljoin, urlsplit

from airflow.providers.common.compat.sdk import BaseOperator

from airflow_provider_kling import options
from airflow_provider_kling.checks import is_templated
from airflow_provider_kling.exceptions import KlingDownloadError, KlingError, KlingValidationError
from airflow_provider_kling.redaction import redact_url
from airflow_provider_kling.responses import parse_retry_after
from airflow_provider_kling.retry import RetryPolicy

if TYPE_CHECKING:
    import requests

    from airflow_provider_kling.hooks.deadline import Deadline

DEFAULT_MAX_BYTES = 2 * 1024**3
#: The largest ``max_bytes`` accepted (1 TiB): beyond it the number is a typo, not a video.
MAX_BYTES_LIMIT = 2**40
DEFAULT_TIMEOUT = 60.0
#: The shortest per-read timeout accepted: below it no answer over a real network arrives.
MIN_TIMEOUT = 0.1
#: How long one file may take in all, headers and body, however steadily its server dribbles bytes.
DEFAULT_FILE_TIMEOUT = 3600.0
MAX_RETRIES_LIMIT = 100
MAX_REDIRECTS = 10
# Read 4 MiB at a time: fewer hand-offs to the hashing thread (1 MiB chunks measured ~10% slower).
CHUNK_BYTES = 4 * 1024 * 1024
# Each chunk is written in pieces this big: a 1 MiB write() asks the kernel for high-order page-cache pages,
# which on VMs that hand free memory back to the host (virtio-balloon free-page reporting) must be faulted in
# again: 1 GiB then takes ~2 s of system time instead of ~0.25 s (benchmarks/download.py).
WRITE_BYTES = 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LOCAL_PROTOCOLS = ("file", "local")


def open_for_writing(path: Any) -> BinaryIO:
    """A new local file directly (never through a link planted at its name), anything else through
    ``ObjectStoragePath``.

    fsspec's local file wrapper adds a Python layer to every write: ~10% of the throughput of a local
    download (benchmarks/download.py).
    """
    if path.protocol in _LOCAL_PROTOCOLS:
        return open(path.path, "xb")
    return cast(BinaryIO, path.open("wb"))


def content_length(url: str, header: str | None) -> int | None:
    """The declared size; repeated equal values (``5, 5``) count once (RFC 9110), anything else is refused."""
    if header is None:
        return None
    values = {value.strip() for value in header.split(",")}
    value = values.pop() if len(values) == 1 else ""
    if not (value.isascii() and value.isdigit()):
        raise KlingDownloadError(url, f"the server sent an invalid Content-Length ({header[:40]!r})")
    return int(value)


def checked_redirect(url: str, current: str, location: str) -> str:
    """The next URL of a redirect chain, refused unless it is http(s) with a host and no https->http step."""
    from requests.utils import requote_uri

    # An absolute Location is taken as it is: joined, "http:///x" would silently borrow the current host.
    absolute = bool(urlsplit(location).scheme) or location.startswith("//")
    target = requote_uri(location if absolute else urljoin(current, location))
    if target.startswith("//"):
        target = f"{urlsplit(current).scheme}:{target}"
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        raise KlingDownloadError(url, f"redirected to a URL that is not http(s): {redact_url(target)}")
    if not parts.hostname:
        raise KlingDownloadError(url, f"redirected to a URL without a host: {redact_url(target)}")
    if urlsplit(current).scheme == "https" and parts.scheme == "http":
        raise KlingDownloadError(url, f"redirected from https down to http: {redact_url(target)}")
    return target


def safe_file_name(url: str, index: int) -> str:
    """A file name from the URL's last path segment: no directories, no hidden names, nothing odd."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).lstrip("._-")[:200]
    return name or f"file-{index}"


#: The extension of each media type Kling (or a gateway's CDN) serves.
MEDIA_EXTENSIONS = {
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/mp4": ".m4a",
    "audio/aac": ".aac",
}
_KNOWN_EXTENSIONS = (*set(MEDIA_EXTENSIONS.values()), ".jpeg")


def with_real_extension(name: str, content_type: str | None) -> str:
    """The file name with the extension of the media type served, when the URL gave it none (an opaque CDN
    key or a gateway's id), so a player or the next task can tell ``.mp4`` from ``.mp3``."""
    extension = MEDIA_EXTENSIONS.get((content_type or "").split(";")[0].strip().lower())
    if extension is None or name.lower().endswith(_KNOWN_EXTENSIONS):
        return name
    return name + extension


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
    scheduled on new media. Literal arguments are checked when the DAG file is parsed, templated ones after
    rendering; numeric strings (from templates) are accepted.

    :param urls: an http(s) URL or a list of them, or an XComArg producing one (templated).
    :param destination: a local directory or an object-storage URL such as ``s3://bucket/kling/`` (templated).
    :param conn_id: the Airflow connection for the object storage, if it needs one.
    :param max_bytes: refuse any file larger than this (checked while streaming, default 2 GiB; templated).
    :param timeout: seconds for connecting, for each read, and for the response headers (templated).
    :param file_timeout: seconds one file may take in all, headers and body (default 1 h; templated).
    :param max_retries: retries of a transient failure (5xx, 429, network) per file.
    :param retry_delay: first backoff in seconds (doubles, jittered).
    """

    template_fields: Sequence[str] = ("urls", "destination", "max_bytes", "timeout", "file_timeout")
    #: What ``execute`` stored (``return_value``), for lineage.
    downloaded: list[dict[str, Any]] | None = None
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        urls: Any,
        destination: str,
        conn_id: str | None = None,
        max_bytes: int | str = DEFAULT_MAX_BYTES,
        timeout: float | str = DEFAULT_TIMEOUT,
        file_timeout: float | str = DEFAULT_FILE_TIMEOUT,
        max_retries: int | str = 5,
        retry_delay: float | str = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.destination = destination
        self.conn_id = conn_id
        self.max_bytes: Any = max_bytes
        self.timeout: Any = timeout
        self.file_timeout: Any = file_timeout
        self.download_retry = RetryPolicy(
            max_retries=options.count("max_retries", max_retries, minimum=0, maximum=MAX_RETRIES_LIMIT),
            base_delay=options.seconds("retry_delay", retry_delay),
            max_delay=60.0,
        )
        self._check_arguments(rendered_later=is_templated)

    def _check_arguments(self, rendered_later: Any = lambda _value: False) -> None:
        """Refuse bad arguments before any request, naming them; values rendered later are checked then."""
        if not rendered_later(self.urls):
            self._url_list()
        if not rendered_later(self.destination):
            location = self.destination
            # A template of a missing value renders as "None"; "" would mean the worker's working directory.
            if not isinstance(location, str) or not location.strip() or location.strip() == "None":
                raise KlingValidationError(
                    f"destination must be a directory path or an object-storage URL; got {location!r}"
                )
        if not rendered_later(self.max_bytes):
            self.max_bytes = options.count("max_bytes", self.max_bytes, minimum=1, maximum=MAX_BYTES_LIMIT)
        if not rendered_later(self.timeout):
            self.timeout = options.seconds("timeout", self.timeout, minimum=MIN_TIMEOUT)
        if not rendered_later(self.file_timeout):
            self.file_timeout = options.seconds("file_timeout", self.file_timeout, minimum=MIN_TIMEOUT)

    def _url_list(self) -> list[str]:
        urls = [self.urls] if isinstance(self.urls, str) else self.urls
        if not isinstance(urls, list | tuple):
            raise KlingValidationError(
                f"urls must be an http(s) URL or a list of them; got {type(urls).__name__}"
            )
        for url in urls:
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                shown = redact_url(url) if isinstance(url, str) else repr(url)
                raise KlingValidationError(f"urls must be http(s) URLs with a host; got {shown!r}")
        return list(urls)

    def _directory(self) -> Any:
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        location = str(self.destination).strip()
        if "://" not in location:
            location = "file://" + os.path.abspath(os.path.expanduser(location))
        directory = ObjectStoragePath(location, conn_id=self.conn_id)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    @staticmethod
    def _refuse_unsafe_target(target: Any) -> None:
        """A link or a directory at a file's name would take the file elsewhere: refuse before downloading."""
        if target.protocol in _LOCAL_PROTOCOLS:
            if os.path.islink(target.path):
                raise KlingError(f"Refusing to download to {target.path}: it is a symbolic link")
            if os.path.isdir(target.path):
                raise KlingError(f"Refusing to download to {target.path}: it is a directory")
        elif target.is_dir():
            raise KlingError(f"Refusing to download to {target}: it is a directory")

    def execute(self, context: Any) -> list[dict[str, Any]]:
        import requests

        from airflow_provider_kling.hooks.deadline import DeadlineAdapter

        self._check_arguments()
        urls = self._url_list()
        directory = self._directory()
        targets = [directory / name for name in unique_names(urls)]
        for target in targets:
            self._refuse_unsafe_target(target)
        results = []
        with requests.Session() as session:
            adapter = DeadlineAdapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            for url, target in zip(urls, targets, strict=True):
                results.append(self._download(session, url, target))
        for asset in self.outlets or []:
            context["outlet_events"][asset].extra = {"files": results}
        self.downloaded = results
        return results

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (``apache-airflow-providers-openlineage``, when installed): the result URLs read, the
        stored files written (``lineage.py``)."""
        from airflow_provider_kling import lineage

        files = self.downloaded or []
        return lineage.download([f["url"] for f in files], [f["path"] for f in files])

    def _download(self, session: requests.Session, url: str, target: Any) -> dict[str, Any]:
        """One file, retried on transient failures; each try starts over on a fresh temporary file."""
        attempt = 0
        while True:
            try:
                size, digest, saved = self._stream(session, url, target)
            except KlingDownloadError as err:
                if not self.download_retry.is_retryable(err) or attempt >= self.download_retry.max_retries:
                    raise
                wait = self.download_retry.delay(attempt, err)
                attempt += 1
                self.log.warning("%s; retry %d in %.1fs", err, attempt, wait)
                time.sleep(wait)
                continue
            path = saved.path if saved.protocol in _LOCAL_PROTOCOLS else str(saved)
            self.log.info("Downloaded %s to %s (%d bytes, sha256 %s)", redact_url(url), path, size, digest)
            return {"url": url, "path": path, "bytes": size, "sha256": digest}

    def _open(self, session: requests.Session, url: str, deadline: Deadline) -> requests.Response:
        """GET ``url``, following redirects one checked hop at a time; headers within ``timeout`` per hop."""
        import requests

        current = url
        for _ in range(MAX_REDIRECTS + 1):
            deadline.restart(self.timeout)
            try:
                response = session.get(current, stream=True, timeout=self.timeout, allow_redirects=False)
            except requests.exceptions.InvalidHeader:
                raise KlingDownloadError(url, "the server sent invalid headers") from None
            except (requests.RequestException, ValueError) as exc:
                raise KlingDownloadError(url, type(exc).__name__, network=True) from None
            location = session.get_redirect_target(response)
            if location is None:
                return response
            response.close()
            current = checked_redirect(url, current, location)
        raise KlingDownloadError(url, f"more than {MAX_REDIRECTS} redirects")

    def _stream(self, session: requests.Session, url: str, target: Any) -> tuple[int, str, Any]:
        """Download to a temporary name, verify, move into place; returns size, SHA-256 and the final path
        (``target``, with the served media type's extension if its name had none)."""
        import requests

        from airflow_provider_kling.hooks.deadline import Deadline

        partial = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.part"
        started = time.monotonic()
        digest = hashlib.sha256()
        try:
            with Deadline(self.timeout) as deadline:
                try:
                    response = self._open(session, url, deadline)
                    with response:
                        deadline.restart(self.file_timeout - (time.monotonic() - started))
                        self._check_answer(url, response)
                        named = with_real_extension(target.name, response.headers.get("Content-Type"))
                        if named != target.name:
                            target = target.parent / named
                            self._refuse_unsafe_target(target)
                        expected = content_length(url, response.headers.get("Content-Length"))
                        identity = response.headers.get("Content-Encoding", "identity") == "identity"
                        if identity and expected is not None and expected > self.max_bytes:
                            raise KlingDownloadError(
                                url, f"it is {expected} bytes, more than max_bytes={self.max_bytes}"
                            )
                        size = self._write(url, response, partial, digest)
                        # Content-Length counts the bytes on the wire (gzip-encoded ones, if so).
                        received = response.raw.tell()
                except (requests.RequestException, ValueError) as exc:
                    if deadline.expired:
                        raise self._timed_out(url) from None
                    raise KlingDownloadError(
                        url,
                        f"the connection broke off ({type(exc).__name__})",
                        network=True,
                    ) from None
                except KlingDownloadError:
                    if deadline.expired:
                        raise self._timed_out(url) from None
                    raise
            if deadline.expired:
                raise self._timed_out(url)
            if expected is not None and received != expected:
                raise KlingDownloadError(
                    url, f"got {received} bytes, Content-Length said {expected}", network=True
                )
            if size == 0:
                raise KlingDownloadError(url, "the answer had no content (cut off?)", network=True)
            if target.protocol in _LOCAL_PROTOCOLS:
                os.replace(partial.path, target.path)  # replaces a link planted meanwhile, never follows it
            else:
                partial.rename(target)
            return size, digest.hexdigest(), target
        finally:
            if partial.exists():
                partial.unlink()

    def _timed_out(self, url: str) -> KlingDownloadError:
        return KlingDownloadError(
            url,
            f"no complete answer within timeout={self.timeout:g}s for the headers and "
            f"file_timeout={self.file_timeout:g}s for the file",
            network=True,
        )

    @staticmethod
    def _check_answer(url: str, response: requests.Response) -> None:
        status = response.status_code
        if not 200 <= status < 300:
            raise KlingDownloadError(
                url,
                response.reason or "the server refused it",
                http_status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )

    def _write(self, url: str, response: requests.Response, partial: Any, digest: Any) -> int:
        """Stream the body to ``partial``, hashing as it goes; returns the (decoded) byte count."""
        size = 0
        # SHA-256 of chunk n runs in a helper thread (hashlib releases the GIL) while chunk n is written and
        # chunk n+1 is read; one pending update at a time keeps the order.
        with open_for_writing(partial) as out, ThreadPoolExecutor(1, "kling-sha256") as hasher:
            hashing: Future[None] | None = None
            for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
                size += len(chunk)
                if size > self.max_bytes:
                    raise KlingDownloadError(url, f"it is larger than max_bytes={self.max_bytes}")
                if hashing is not None:
                    hashing.result()
                hashing = hasher.submit(digest.update, chunk)
                view = memoryview(chunk)
                for start in range(0, len(view), WRITE_BYTES):
                    out.write(view[start : start + WRITE_BYTES])
            if hashing is not None:
                hashing.result()
        return size

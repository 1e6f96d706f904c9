"""KlingDownloadOperator under sloppy arguments and hostile media hosts (issue 12, items 6-10 and 14).

Every bad argument is refused naming it and before any request; every odd answer gives a clear error, retried
only when it is a network failure, 5xx or 429. Real loopback servers, raw TCP where no HTTP library would
send such an answer.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from aiohttp import web

from airflow_provider_kling.exceptions import KlingDownloadError, KlingError, KlingValidationError
from airflow_provider_kling.operators.download import KlingDownloadOperator
from tests.loopback import LoopbackServer, RawServer


class RawFileServer:
    """Answers each request with the next of ``answers`` (raw bytes, or a coroutine function for dribbles)."""

    def __init__(self, *answers, ssl_context=None):
        self.answers = list(answers)
        self.hits = 0
        self.server = RawServer(self.handle, ssl_context)
        self.url = self.server.url

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        self.hits += 1
        answer = self.answers[min(self.hits, len(self.answers)) - 1]
        try:
            if callable(answer):
                await answer(writer)
            else:
                writer.write(answer)
                await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    def stop(self):
        self.server.stop()


@pytest.fixture
def raw_servers():
    started = []

    def start(*answers, ssl_context=None):
        server = RawFileServer(*answers, ssl_context=ssl_context)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def answer(status="200 OK", body=b"", **headers):
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return head.encode() + b"Connection: close\r\n\r\n" + body


def operator(urls, destination, **kwargs):
    kwargs.setdefault("retry_delay", 0.01)
    return KlingDownloadOperator(task_id="dl", urls=urls, destination=str(destination), **kwargs)


def download(urls, destination, **kwargs):
    return operator(urls, destination, **kwargs).execute({"outlet_events": {}})


# -- item 6: a link or a directory at the target name --------------------------------------------------------


@pytest.mark.parametrize("planted", ["link to a directory", "link to a file", "directory"])
def test_a_link_or_directory_at_the_target_name_is_refused_before_any_request(raw_servers, tmp_path, planted):
    server = raw_servers(answer(body=b"video", Content_Length=5))
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    if planted == "link to a directory":
        (out / "v.mp4").symlink_to(elsewhere)
    elif planted == "link to a file":
        (elsewhere / "victim").write_bytes(b"precious")
        (out / "v.mp4").symlink_to(elsewhere / "victim")
    else:
        (out / "v.mp4").mkdir()
    kind = "a directory" if planted == "directory" else "a symbolic link"
    with pytest.raises(KlingError, match=f"Refusing to download to .*v.mp4: it is {kind}"):
        download([server.url + "/v.mp4"], out)
    assert server.hits == 0
    assert sorted(p.name for p in elsewhere.iterdir()) == ([] if planted != "link to a file" else ["victim"])
    if planted == "link to a file":
        assert (elsewhere / "victim").read_bytes() == b"precious"


# -- item 7: destination "" / None, urls None ----------------------------------------------------------------


@pytest.mark.parametrize("destination", ["", "   ", None, "None", 42])
def test_an_empty_destination_is_refused_when_the_dag_is_parsed(destination):
    with pytest.raises(KlingValidationError, match="^destination must be a directory path"):
        KlingDownloadOperator(task_id="dl", urls=["https://cdn.example/v.mp4"], destination=destination)


@pytest.mark.parametrize("urls", [None, 42, {"url": "https://cdn.example/v.mp4"}, "", "https:///no-host.mp4"])
def test_urls_that_are_not_http_urls_are_refused_when_the_dag_is_parsed(urls, tmp_path):
    with pytest.raises(KlingValidationError, match="^urls must be"):
        KlingDownloadOperator(task_id="dl", urls=urls, destination=str(tmp_path))


# -- item 9 and 14: numeric options, literal (parse time) and templated (after rendering) --------------------

BAD_OPTIONS = [
    ("max_bytes", 0),
    ("max_bytes", -1),
    ("max_bytes", 1.5),
    ("max_bytes", "abc"),
    ("max_bytes", float("nan")),
    ("max_bytes", float("inf")),
    ("max_bytes", True),
    ("max_bytes", None),
    ("max_bytes", 2**41),
    ("timeout", float("nan")),
    ("timeout", float("inf")),
    ("timeout", 0),
    ("timeout", -1),
    ("timeout", 0.001),
    ("timeout", "soon"),
    ("timeout", None),
    ("timeout", [60]),
    ("file_timeout", float("nan")),
    ("file_timeout", 0),
    ("file_timeout", "-5"),
    ("file_timeout", "later"),
    ("max_retries", -1),
    ("max_retries", 2.5),
    ("max_retries", "many"),
    ("max_retries", 1000),
    ("retry_delay", float("nan")),
    ("retry_delay", -1),
    ("retry_delay", "x"),
]


@pytest.mark.parametrize(("argument", "value"), BAD_OPTIONS)
def test_a_bad_literal_option_is_refused_naming_it_when_the_dag_is_parsed(argument, value, tmp_path):
    with pytest.raises(KlingValidationError, match=f"^{argument} must be"):
        KlingDownloadOperator(
            task_id="dl", urls=["https://cdn.example/v.mp4"], destination=str(tmp_path), **{argument: value}
        )


TEMPLATED_BAD = [
    ("max_bytes", "nan"),
    ("max_bytes", "abc"),
    ("max_bytes", "0"),
    ("timeout", "nan"),
    ("timeout", "inf"),
    ("timeout", "0"),
    ("file_timeout", "nan"),
    ("file_timeout", "x"),
    ("destination", ""),
    ("destination", "None"),
    ("urls", "None"),
    ("urls", "file:///etc/passwd"),
]


@pytest.mark.parametrize(("argument", "rendered"), TEMPLATED_BAD)
def test_a_bad_templated_option_is_refused_naming_it_before_any_request(
    raw_servers, tmp_path, argument, rendered
):
    server = raw_servers(answer(body=b"video", Content_Length=5))
    arguments = {
        "urls": [server.url + "/v.mp4"],
        "destination": str(tmp_path),
        argument: "{{ params.value }}",
    }
    op = KlingDownloadOperator(task_id="dl", **arguments)  # a template is checked after rendering
    op.render_template_fields({"params": {"value": rendered}})
    with pytest.raises(KlingValidationError, match=f"^{argument} must be"):
        op.execute({"outlet_events": {}})
    assert server.hits == 0


def test_numeric_strings_from_templates_are_accepted(raw_servers, tmp_path):
    server = raw_servers(answer(body=b"x" * 50, Content_Length=50))
    op = operator([server.url + "/v.mp4"], tmp_path, max_bytes="{{ params.mb }}", timeout="{{ params.t }}")
    op.render_template_fields({"params": {"mb": "10", "t": "5"}})
    with pytest.raises(KlingDownloadError, match="more than max_bytes=10"):
        op.execute({"outlet_events": {}})
    (result,) = download([server.url + "/v.mp4"], tmp_path, max_bytes="100", file_timeout="30")
    assert result["bytes"] == 50


# -- item 8: odd headers and redirects -----------------------------------------------------------------------


def test_headers_cut_off_mid_stream_are_an_error_not_an_empty_file(raw_servers, tmp_path):
    server = raw_servers(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Le")
    with pytest.raises(KlingDownloadError, match="no content"):
        download([server.url + "/v.mp4"], tmp_path, max_retries=1)
    assert server.hits == 2  # a cut connection is a network failure: retried, bounded
    assert list(tmp_path.iterdir()) == []


def test_gzip_encoded_media_is_saved_decoded_with_the_decoded_byte_count(raw_servers, tmp_path):
    media = bytes(range(256)) * 400
    packed = gzip.compress(media)
    server = raw_servers(answer(body=packed, Content_Length=len(packed), Content_Encoding="gzip"))
    (result,) = download([server.url + "/v.mp4"], tmp_path)
    assert result["bytes"] == len(media) and Path(result["path"]).read_bytes() == media


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("abc", "invalid Content-Length"),
        ("-1", "invalid Content-Length"),
        ("0x5", "invalid Content-Length"),
        ("5, 6", "invalid headers"),
    ],
)
def test_a_bad_content_length_is_a_clear_error_that_is_not_retried(raw_servers, tmp_path, value, match):
    server = raw_servers(answer(body=b"hello", Content_Length=value))
    with pytest.raises(KlingDownloadError, match=match):
        download([server.url + "/v.mp4"], tmp_path)
    assert server.hits == 1
    assert list(tmp_path.iterdir()) == []


def test_a_repeated_equal_content_length_counts_once(raw_servers, tmp_path):
    server = raw_servers(answer(body=b"hello", Content_Length="5, 5"))
    (result,) = download([server.url + "/v.mp4"], tmp_path)
    assert result["bytes"] == 5


@pytest.mark.parametrize(
    ("location", "match"),
    [
        ("file:///etc/passwd", "not http"),
        ("http:///v.mp4", "without a host"),
        ("ftp://x.example/v", "not http"),
    ],
)
def test_a_redirect_to_a_non_http_url_is_refused_and_not_retried(raw_servers, tmp_path, location, match):
    server = raw_servers(answer("302 Found", Location=location, Content_Length=0))
    with pytest.raises(KlingDownloadError, match=match):
        download([server.url + "/v.mp4"], tmp_path)
    assert server.hits == 1


def test_redirects_within_http_are_followed(raw_servers, tmp_path):
    media = raw_servers(answer(body=b"moved-video", Content_Length=11))
    hop = raw_servers(answer("301 Moved Permanently", Location=media.url + "/final.mp4", Content_Length=0))
    first = raw_servers(answer("302 Found", Location="/next", Content_Length=0), answer(
        "307 Temporary Redirect", Location=hop.url + "/x", Content_Length=0))  # fmt: skip
    (result,) = download([first.url + "/v.mp4"], tmp_path)
    assert Path(result["path"]).read_bytes() == b"moved-video" and result["path"].endswith("v.mp4")
    assert (first.hits, hop.hits, media.hits) == (2, 1, 1)


def test_endless_redirects_stop(raw_servers, tmp_path):
    server = raw_servers(answer("302 Found", Location="/again", Content_Length=0))
    with pytest.raises(KlingDownloadError, match="more than 10 redirects"):
        download([server.url + "/v.mp4"], tmp_path)
    assert server.hits == 11


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context, str(cert)


def test_an_https_to_http_redirect_is_refused(raw_servers, tmp_path, tls_context, monkeypatch):
    context, cert = tls_context
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
    plain = raw_servers(answer(body=b"downgraded", Content_Length=10))
    secure = raw_servers(
        answer("302 Found", Location=plain.url + "/v.mp4", Content_Length=0), ssl_context=context
    )
    with pytest.raises(KlingDownloadError, match="from https down to http"):
        download([secure.url + "/v.mp4"], tmp_path)
    assert (secure.hits, plain.hits) == (1, 0)


def test_a_download_error_is_not_reported_as_a_kling_api_error(raw_servers, tmp_path):
    server = raw_servers(answer("403 Forbidden", body=b"no", Content_Length=2))
    with pytest.raises(KlingDownloadError) as info:
        download([server.url.replace("http://", "http://user:pa55-w0rd@") + "/v.mp4?sig=s3cr3t"], tmp_path)
    text = str(info.value)
    assert "Kling API error" not in text and "(HTTP 403)" in text and "127.0.0.1" in text
    assert "pa55-w0rd" not in text and "s3cr3t" not in text
    assert server.hits == 1


# -- item 10: an overall deadline per file -------------------------------------------------------------------


async def dribble_body(writer):
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\nConnection: close\r\n\r\n")
    for _ in range(200):
        writer.write(b"x")
        await writer.drain()
        await asyncio.sleep(0.1)


async def dribble_headers(writer):
    writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(200):
        writer.write(b"a")
        await writer.drain()
        await asyncio.sleep(0.1)


@pytest.mark.parametrize(
    ("dribble", "kwargs"),
    [(dribble_body, {"timeout": 1, "file_timeout": 2}), (dribble_headers, {"timeout": 1})],
)
def test_a_dribbling_server_cannot_outlast_the_file_deadline(raw_servers, tmp_path, dribble, kwargs):
    server = raw_servers(dribble)
    started = time.monotonic()
    with pytest.raises(KlingDownloadError, match="no complete answer within timeout=1s"):
        download([server.url + "/v.mp4"], tmp_path, max_retries=0, **kwargs)
    assert time.monotonic() - started < 8  # each dribble alone lasts 20 s
    assert list(tmp_path.iterdir()) == []


def test_a_steady_download_longer_than_timeout_is_fine(tmp_path):
    """``timeout`` bounds the headers and each read, not the whole file (that is ``file_timeout``)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "12"})
        await response.prepare(request)
        for _ in range(12):
            await response.write(b"y")
            await asyncio.sleep(0.15)
        return response

    server = LoopbackServer(handle)
    try:
        (result,) = download([server.url + "/v.mp4"], tmp_path, timeout=1, file_timeout=30)
    finally:
        server.stop()
    assert result["bytes"] == 12

"""KlingDownloadOperator over real loopback HTTP: streaming, verification, retries, safety, Assets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from aiohttp import web

from airflow_provider_kling.exceptions import KlingDownloadError, KlingError, KlingValidationError
from airflow_provider_kling.hooks.kling import KlingHook
from airflow_provider_kling.operators.download import KlingDownloadOperator, safe_file_name, unique_names
from tests.loopback import LoopbackServer


class FileServer:
    """A loopback server whose answers each test scripts per path (status, body, headers), or 'cut'."""

    def __init__(self):
        self.script: dict[str, list] = {}
        self.hits: dict[str, int] = {}
        self.server = LoopbackServer(self.handle)
        self.url = self.server.url

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        queue = self.script.get(path, [])
        answer = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (404, b"nope", {}))
        if answer[0] == "cut":  # promise more bytes than are sent, then close
            _, body, total = answer
            response = web.StreamResponse(headers={"Content-Length": str(total)})
            await response.prepare(request)
            await response.write(body)
            request.transport.close()
            return response
        if answer[0] == "chunked":
            _, chunks = answer
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for _ in range(chunks):
                await response.write(b"x" * 65536)
            await response.write_eof()
            return response
        status, body, headers = answer
        return web.Response(status=status, body=body, headers=headers)

    def stop(self):
        self.server.stop()


@pytest.fixture
def files():
    server = FileServer()
    yield server
    server.stop()


def download(urls, destination, **kwargs):
    op = KlingDownloadOperator(
        task_id="dl", urls=urls, destination=str(destination), retry_delay=0.01, **kwargs
    )
    return op.execute({"outlet_events": {}})


def test_downloads_emulator_results_in_order_with_unique_names(emulator, kling_conn, tmp_path):
    hook = KlingHook()
    ids = [hook.create_task("text2video", {"prompt": f"clip {i}"})["task_id"] for i in range(2)]
    emulator.configure(clock_offset=60)
    urls = [hook.get_task("text2video", i)["task_result"]["videos"][0]["url"] for i in ids]
    results = download(urls, tmp_path / "out")
    assert [r["url"] for r in results] == urls
    assert [Path(r["path"]).name for r in results] == ["0.mp4", "0-1.mp4"]
    for result in results:
        data = Path(result["path"]).read_bytes()
        assert data[4:8] == b"ftyp"
        assert result["bytes"] == len(data) and result["sha256"] == hashlib.sha256(data).hexdigest()
    assert emulator.stats()["media_requests"] == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0-1.mp4", "0.mp4"]


def test_object_storage_destination(files):
    """Any fsspec filesystem Airflow knows works; an in-memory one stands in for s3:// here."""
    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2
        from airflow.io.store import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", alias="memory", fs=MemoryFileSystem())
    files.script["/a/clip.mp4"] = [(200, b"video-bytes", {})]
    (result,) = download([files.url + "/a/clip.mp4"], "memory://kling-bucket/run-1")
    assert result["path"].startswith("memory://") and result["path"].endswith("kling-bucket/run-1/clip.mp4")
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    assert ObjectStoragePath(result["path"]).read_bytes() == b"video-bytes"


def test_transient_failures_are_retried(files, tmp_path):
    files.script["/v.mp4"] = [(503, b"busy", {}), (429, b"slow down", {}), (200, b"finally", {})]
    (result,) = download([files.url + "/v.mp4"], tmp_path)
    assert Path(result["path"]).read_bytes() == b"finally"
    assert files.hits["/v.mp4"] == 3


def test_truncated_body_is_retried_and_never_left_under_the_final_name(files, tmp_path):
    files.script["/v.mp4"] = [("cut", b"x" * 500, 1000)]
    with pytest.raises(KlingDownloadError, match="v.mp4.*broke off"):
        download([files.url + "/v.mp4"], tmp_path, max_retries=2)
    assert files.hits["/v.mp4"] == 3
    assert list(tmp_path.iterdir()) == []


def test_a_cut_then_a_good_answer_gives_the_whole_file(files, tmp_path):
    files.script["/v.mp4"] = [("cut", b"y" * 10, 1000), (200, b"z" * 1000, {})]
    (result,) = download([files.url + "/v.mp4"], tmp_path)
    assert result["bytes"] == 1000 and Path(result["path"]).read_bytes() == b"z" * 1000
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_not_found_is_not_retried(files, tmp_path):
    with pytest.raises(KlingError, match="HTTP 404"):
        download([files.url + "/expired.mp4"], tmp_path)
    assert files.hits["/expired.mp4"] == 1


def test_max_bytes_from_content_length_refuses_before_reading(files, tmp_path):
    files.script["/big.mp4"] = [(200, b"x" * 5000, {})]
    with pytest.raises(KlingError, match="max_bytes=1000"):
        download([files.url + "/big.mp4"], tmp_path, max_bytes=1000)
    assert list(tmp_path.iterdir()) == []


def test_max_bytes_is_enforced_while_streaming_without_content_length(files, tmp_path):
    files.script["/stream.mp4"] = [("chunked", 10)]
    with pytest.raises(KlingError, match="larger than max_bytes=100000"):
        download([files.url + "/stream.mp4"], tmp_path, max_bytes=100_000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.mp4", "/etc/passwd", 42])
def test_only_http_sources(url, tmp_path):
    with pytest.raises(KlingValidationError, match="http"):
        download([url], tmp_path)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://cdn.example/a/b/video.mp4?sig=1", "video.mp4"),
        ("https://cdn.example/..%2F..%2Fetc%2Fpasswd", "etc_passwd"),
        ("https://cdn.example/.hidden.mp4", "hidden.mp4"),
        ("https://cdn.example/dir/", "file-3"),
        ("https://cdn.example/%00evil%20name.png", "evil_name.png"),
    ],
)
def test_file_names_are_sanitised(url, name):
    assert safe_file_name(url, 3) == name


def test_collisions_are_resolved():
    assert unique_names(
        ["https://x/a/0.mp4", "https://x/b/0.mp4", "https://x/c/0.mp4", "https://x/README"]
    ) == [
        "0.mp4",
        "0-1.mp4",
        "0-2.mp4",
        "README",
    ]


def test_outlet_assets_receive_the_file_list(files, tmp_path, run_dag, airflow_db):
    files.script["/m.png"] = [(200, b"png-bytes", {})]
    result = run_dag(
        f"""
        from airflow.providers.common.compat.sdk import Asset
        from airflow_provider_kling.operators.download import KlingDownloadOperator

        with DAG(DAG_ID, schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
            KlingDownloadOperator(
                task_id="dl",
                urls=["{files.url}/m.png"],
                destination="{tmp_path}/{{{{ dag.dag_id }}}}",
                outlets=[Asset("kling://media/" + DAG_ID)],
            )
        """
    )
    assert result.state == "success"
    (file,) = result.xcom("dl")
    assert file["bytes"] == 9 and Path(file["path"]).parent.name == result.dag_run.dag_id
    try:
        from airflow.models.asset import AssetEvent
    except ImportError:
        pytest.skip(
            "Airflow 2's dag.test() stores no dataset events for datasets it never parsed into the DB"
        )
    from airflow.utils.session import create_session

    with create_session() as session:
        events = [e for e in session.query(AssetEvent).all() if e.source_dag_id == result.dag_run.dag_id]
    assert [e.extra for e in events] == [{"files": [file]}]


@pytest.mark.parametrize(
    ("path", "content_type", "name"),
    [
        ("/cdn/7f3a9c", "video/mp4", "7f3a9c.mp4"),
        ("/cdn/voice", "audio/mpeg", "voice.mp3"),
        ("/cdn/voice-wav", "audio/x-wav; charset=binary", "voice-wav.wav"),
        ("/cdn/frame", "image/png", "frame.png"),
        ("/cdn/clip.mp4", "application/octet-stream", "clip.mp4"),
        ("/cdn/already.png", "image/png", "already.png"),
        ("/cdn/blob", "application/octet-stream", "blob"),
    ],
)
def test_files_are_named_by_the_media_type_served_when_the_url_has_no_extension(
    files, tmp_path, path, content_type, name
):
    files.script[path] = [(200, b"media bytes", {"Content-Type": content_type})]
    (result,) = download([files.url + path], tmp_path)
    assert Path(result["path"]).name == name and (tmp_path / name).read_bytes() == b"media bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]

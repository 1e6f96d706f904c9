"""Image inputs: local files are read and sent as raw Base64 (checked first), URLs pass through, ``data:``
prefixes are stripped, and a bad image fails the task before any request."""

from __future__ import annotations

import base64

import pytest

from airflow_provider_kling.testing.media import make_png
from tests.operators.helpers import dag_body, make_jpeg_header, output_of, task_error

FAST = "poll_interval=0.2"


def create_body(recorder, task_type):
    (create,) = [r for r in recorder.matching("POST") if r["path"] == f"/v1/videos/{task_type}"]
    return create["body"]


def test_local_png_file_is_sent_as_raw_base64(emulator, recorder, run_dag, tmp_path):
    png = make_png(320, 400)
    path = tmp_path / "cat.png"
    path.write_bytes(png)
    result = run_dag(
        dag_body(f'KlingImageToVideoOperator(task_id="gen", image="{path}", prompt="blink", {FAST})')
    )
    assert result.state == "success" and len(result.xcom("gen")) == 1
    sent = create_body(recorder, "image2video")["image"]
    assert sent == base64.b64encode(png).decode("ascii")  # raw Base64: no data: prefix, no line breaks
    assert emulator.stats()["creates"] == 1  # Kling's side decoded and accepted it


def test_file_uri_list_items_and_masks_are_read_too(emulator, recorder, run_dag, tmp_path):
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    first.write_bytes(make_png(300, 300))
    second.write_bytes(make_png(600, 300))  # 2:1 is inside Kling's 1:2.5 .. 2.5:1
    images = [f"file://{first}", {"image": str(second)}, "https://example.com/c.png"]
    result = run_dag(
        dag_body(f'KlingMultiImageToVideoOperator(task_id="gen", image_list={images!r}, prompt="x", {FAST})')
    )
    assert result.state == "success"
    assert create_body(recorder, "multi-image2video")["image_list"] == [
        {"image": base64.b64encode(first.read_bytes()).decode()},
        {"image": base64.b64encode(second.read_bytes()).decode()},
        {"image": "https://example.com/c.png"},
    ]


def test_data_url_prefix_is_stripped_and_jpeg_base64_is_not_taken_for_a_path(emulator, recorder, run_dag):
    png_b64 = base64.b64encode(make_png(300, 300)).decode()
    jpeg_b64 = base64.b64encode(make_jpeg_header(400, 300)).decode()
    assert jpeg_b64.startswith("/9j/")  # every JPEG's Base64 does: it looks like an absolute path
    result = run_dag(
        dag_body(
            f'KlingImageToVideoOperator(task_id="gen", image="data:image/png;base64,{png_b64}",',
            f'    static_mask="{jpeg_b64}", {FAST})',
        )
    )
    assert result.state == "success"
    body = create_body(recorder, "image2video")
    assert body["image"] == png_b64
    assert body["static_mask"] == jpeg_b64


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("small.png", make_png(100, 100), "image must be at least 300 px per side; got 100x100"),
        ("wide.png", make_png(800, 300), "image aspect ratio must be between 1:2.5 and 2.5:1; got 800x300"),
        (
            "notes.png",
            b"just some text, not an image",
            "image must be a JPEG or PNG image; its content is neither",
        ),
        ("small.jpg", make_jpeg_header(200, 400), "image must be at least 300 px per side; got 200x400"),
    ],
    ids=["png-100x100", "png-800x300", "not-an-image", "jpeg-200x400"],
)
def test_bad_image_file_fails_before_any_request(
    emulator, kling_conn, run_dag, capfd, tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_bytes(content)
    result = run_dag(dag_body(f'KlingImageToVideoOperator(task_id="gen", image="{path}", retries=1, {FAST})'))
    errors = task_error(output_of(capfd))
    assert result.task_state("gen") == "failed" and result.ti("gen").try_number == 1
    assert "AirflowFailException: Invalid Kling image2video request: " + message in errors
    assert emulator.stats()["requests_total"] == 0


@pytest.mark.parametrize(
    ("field_value", "message"),
    [
        (
            "not an image!",
            "image must be an http(s) URL, raw Base64, or an existing local or object-storage path",
        ),
        ("/no/such/dir/cat.png", "image file not found: /no/such/dir/cat.png"),
        (base64.b64encode(b"GIF89a" + bytes(40)).decode(), "image must be a JPEG or PNG image; its content"),
    ],
    ids=["not-url-base64-or-path", "missing-file", "base64-gif"],
)
def test_bad_image_value_fails_before_any_request(emulator, kling_conn, run_dag, capfd, field_value, message):
    result = run_dag(
        dag_body(
            'KlingVirtualTryOnOperator(task_id="gen", human_image="https://example.com/me.png",',
            f'    cloth_image="{field_value}", {FAST})',
        )
    )
    errors = task_error(output_of(capfd))
    assert result.task_state("gen") == "failed"
    expected = "AirflowFailException: Invalid Kling kolors-virtual-try-on request: " + message.replace(
        "image", "cloth_image", 1
    )
    assert expected in errors
    assert emulator.stats()["requests_total"] == 0


@pytest.mark.parametrize("source", ["private-file", "/proc/self/environ"])
def test_a_private_file_in_an_image_field_is_never_quoted(
    emulator, kling_conn, run_dag, capfd, tmp_path, monkeypatch, source
):
    """Anyone who can set dag_run.conf can point an image field at a file the worker reads: the error must say
    what was expected, never what the file holds."""
    secret = "root:*:0:0:kling-canary-5f2b9e:/root:/bin/bash"
    monkeypatch.setenv("KLING_CANARY_SECRET", secret)
    path = tmp_path / "passwd"
    path.write_text(secret + "\n")
    image = str(path) if source == "private-file" else source
    result = run_dag(dag_body(f'KlingImageToVideoOperator(task_id="gen", image="{image}", {FAST})'))
    output = output_of(capfd)
    assert result.task_state("gen") == "failed"
    assert "image must be a JPEG or PNG image; its content is neither" in output
    assert "root:*" not in output and "kling-canary-5f2b9e" not in output
    assert emulator.stats()["requests_total"] == 0

"""Result files: real media with the right type, padded without breaking, playable in a real browser."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
import requests

from airflow_provider_kling.testing import EmulatorServer
from airflow_provider_kling.testing.media import file_parts
from tests.emulator.client import Api, jump

CHROMIUM = Path("/usr/bin/chromium")


def boxes(data: bytes) -> list[tuple[bytes, int]]:
    """The top-level ISO-BMFF boxes (type, size); they must tile the file exactly."""
    out, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        out.append((kind, size))
        pos += size
    assert pos == len(data)
    return out


def png_size(data: bytes) -> tuple[int, int]:
    """Parse every chunk up to IEND (CRCs checked) and inflate the pixels; return (width, height)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, size = 8, b"", (0, 0)
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, chunk = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(kind + chunk)
        if kind == b"IHDR":
            size = struct.unpack(">II", chunk[:8])
        idat += chunk if kind == b"IDAT" else b""
        pos += 12 + length
        if kind == b"IEND":
            break
    assert len(zlib.decompress(idat)) == size[1] * (1 + 3 * size[0])
    return size


def succeeded(server: EmulatorServer, api: Api) -> dict[str, str]:
    """URLs of one video, one image and one audio result."""
    video = api.created_id("text2video", {"prompt": "x"})
    image = api.created_id("generations", {"prompt": "x", "n": 2})
    audio = api.created_id("text-to-audio", {"prompt": "x", "duration": 3})
    assert requests.get(f"{server.url}/media/{video}/0.mp4", timeout=5).status_code == 404  # not done yet
    jump(server, 1)
    [clip] = api.data("text2video", video)["task_result"]["videos"]
    [sound] = api.data("text-to-audio", audio)["task_result"]["audios"]
    return {
        "mp4": clip["url"],
        "png": api.data("generations", image)["task_result"]["images"][1]["url"],
        "mp3": sound["url_mp3"],
        "wav": sound["url_wav"],
    }


def test_media_files_are_real_and_need_no_auth(server: EmulatorServer, api: Api) -> None:
    urls = succeeded(server, api)
    files = {}
    for ext, url in urls.items():
        response = requests.get(url, timeout=5)  # no Authorization header: result URLs are public
        assert response.status_code == 200 and int(response.headers["Content-Length"]) == len(
            response.content
        )
        assert url.endswith(f".{ext}")
        files[ext] = (response.headers["Content-Type"], response.content)
    content_type, mp4 = files["mp4"]
    assert content_type == "video/mp4"
    kinds = [kind for kind, _ in boxes(mp4)]
    assert kinds[0] == b"ftyp" and kinds.index(b"moov") < kinds.index(b"mdat")  # fast start
    assert b"avc1" in mp4 and len(mp4) < 100_000
    assert files["png"][0] == "image/png" and min(png_size(files["png"][1])) >= 300
    content_type, wav = files["wav"]
    assert content_type == "audio/wav" and wav[:4] == b"RIFF" and wav[8:16] == b"WAVEfmt "
    assert struct.unpack("<I", wav[4:8])[0] == len(wav) - 8
    content_type, mp3 = files["mp3"]
    assert content_type == "audio/mpeg" and mp3[0] == 0xFF and mp3[1] & 0xE0 == 0xE0  # an MPEG frame header
    head = requests.head(urls["mp4"], timeout=5)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(mp4)
    task_id = urls["png"].split("/")[-2]
    for name in ("2.png", "0.mp4", "0-watermarked.png", "0.png.png", "x.png"):
        assert requests.get(f"{server.url}/media/{task_id}/{name}", timeout=5).status_code == 404, name
    assert server.stats()["media_requests"] == 11


def test_media_size_pads_files_without_breaking_them(
    server: EmulatorServer, api: Api, tmp_path: Path
) -> None:
    server.configure(media_size_bytes=3_000_000, public_base_url="http://media.example:1")
    urls = succeeded(server, api)
    assert urls["mp4"].startswith("http://media.example:1/media/")
    local = {ext: url.replace("http://media.example:1", server.url) for ext, url in urls.items()}
    response = requests.get(local["mp4"], timeout=10, stream=True)
    assert response.headers["Content-Length"] == "3000000"
    mp4 = b"".join(response.iter_content(1 << 20))
    assert len(mp4) == 3_000_000 and boxes(mp4)[-1][0] == b"free"
    png = requests.get(local["png"], timeout=10).content
    end = png.index(b"IEND") + 8
    assert len(png) == 3_000_000 and min(png_size(png)) >= 300 and png[end:] == bytes(3_000_000 - end)
    assert len(requests.get(local["wav"], timeout=10).content) < 100_000  # audio is never padded
    head, padding = file_parts("mp4", 2**33)  # beyond 4 GiB the free box uses a 64-bit size
    assert len(head) + padding == 2**33 and head[-12:-8] == b"free"
    assert struct.unpack(">I", head[-16:-12])[0] == 1 and struct.unpack(">Q", head[-8:])[0] == padding + 16
    if shutil.which("ffprobe"):
        (tmp_path / "padded.mp4").write_bytes(mp4)
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0",
             str(tmp_path / "padded.mp4")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert probe.stdout.strip() == "h264,320,180"


PLAY = """async ([src, tag]) => {
    const media = document.createElement(tag);
    media.muted = true;
    media.src = src;
    const outcome = await new Promise((resolve) => {
        media.onloadeddata = () => resolve("loaded");
        media.onerror = () => resolve("error " + (media.error && media.error.code));
        setTimeout(() => resolve("timeout"), 10000);
    });
    return {outcome, readyState: media.readyState, width: media.videoWidth || 0, duration: media.duration};
}"""


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")
def test_results_play_in_chromium(server: EmulatorServer, api: Api) -> None:
    from playwright.sync_api import sync_playwright

    server.configure(media_size_bytes=1_000_000)  # the padded file must still play
    urls = succeeded(server, api)
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page()
            page.goto(f"{server.url}/emulator/stats")  # same origin as the media
            video = page.evaluate(PLAY, [urls["mp4"], "video"])
            assert video["outcome"] == "loaded" and video["readyState"] >= 2 and video["width"] == 320, video
            assert video["duration"] == pytest.approx(2.5, abs=0.1)
            for ext in ("mp3", "wav"):
                sound = page.evaluate(PLAY, [urls[ext], "audio"])
                assert sound["outcome"] == "loaded" and sound["duration"] == pytest.approx(2, abs=0.1), sound
        finally:
            browser.close()

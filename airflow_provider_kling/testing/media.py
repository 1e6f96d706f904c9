"""Result files: real, playable media shipped as package data (``assets/``, made by
``scripts/make_emulator_media.sh`` with ffmpeg), so download code and browsers get what Kling's CDN serves.

- ``video.mp4``: 2.5 s H.264 (constrained baseline, yuv420p, ``moov`` first) moving test pattern, 320x180;
- ``image.png``: 320x320 RGB colour bars (>= 300 px per side);
- ``tone.mp3`` / ``tone.wav``: a 2 s 440 Hz tone.

``media_size_bytes`` pads a file for download benchmarks without holding it in memory and without breaking
it: an MP4 gets a trailing ``free`` box (skipped by every player), a PNG zeros after ``IEND``. Audio files
are never padded. ``make_png`` draws any other size, for tests that need specific image inputs.
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Iterator
from importlib import resources

CHUNK_SIZE = 256 * 1024

#: file extension -> (asset, Content-Type)
FILES = {
    "mp4": ("video.mp4", "video/mp4"),
    "png": ("image.png", "image/png"),
    "mp3": ("tone.mp3", "audio/mpeg"),
    "wav": ("tone.wav", "audio/wav"),
}


@functools.cache
def asset(name: str) -> bytes:
    return resources.files("airflow_provider_kling.testing").joinpath("assets", name).read_bytes()


def file_parts(ext: str, total_size: int = 0) -> tuple[bytes, int]:
    """(head bytes, number of zero bytes that follow) of the file served for ``ext``, padded to ``total_size``
    (0, or anything below the natural size, serves the file as is)."""
    data = asset(FILES[ext][0])
    if ext == "mp4" and total_size > len(data) + 8:
        payload = total_size - len(data) - 8
        if payload + 8 <= 0xFFFFFFFF:
            return data + struct.pack(">I", payload + 8) + b"free", payload
        payload -= 8  # beyond 4 GiB the box needs a 64-bit largesize
        return data + struct.pack(">I", 1) + b"free" + struct.pack(">Q", payload + 16), payload
    if ext == "png":
        return data, max(0, total_size - len(data))
    return data, 0


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def make_png(width: int = 320, height: int | None = None) -> bytes:
    """A real ``width``x``height`` RGB PNG (a gradient; square by default), which any decoder accepts."""
    height = width if height is None else height
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes((x * 255 // width, y * 255 // height, 128))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


PNG_BYTES = asset("image.png")


def zero_chunks(count: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield ``count`` zero bytes in chunks, reusing one buffer so memory stays flat."""
    chunk = bytes(chunk_size)
    while count > 0:
        step = min(count, chunk_size)
        yield chunk if step == chunk_size else chunk[:step]
        count -= step

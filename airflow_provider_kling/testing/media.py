"""Small but structurally valid result files, so download code can check magic bytes and sizes.

The MP4 is a hand-built ISO-BMFF file (``ftyp`` + ``moov``/``mvhd`` + ``mdat``); it does not play, but every
box is well formed. The PNG is a real 320x320 RGB gradient made with zlib + struct. Both can be padded to any
size for download benchmarks without holding the padded file in memory.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

PNG_SIZE = 320
CHUNK_SIZE = 256 * 1024


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_header(duration_seconds: float) -> bytes:
    """``ftyp`` + ``moov`` (with a movie header carrying the duration); ``mdat`` is added by the caller."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    matrix = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
    mvhd = _box(
        b"mvhd",
        struct.pack(">I", 0)  # version 0, flags 0
        + struct.pack(">IIII", 0, 0, 1000, int(duration_seconds * 1000))  # times, timescale, duration
        + struct.pack(">IH", 0x00010000, 0x0100)  # rate 1.0, volume 1.0
        + b"\x00" * 10
        + matrix
        + b"\x00" * 24
        + struct.pack(">I", 2),  # next track id
    )
    return ftyp + _box(b"moov", mvhd)


def _mdat_header(payload_len: int) -> bytes:
    if payload_len + 8 <= 0xFFFFFFFF:
        return struct.pack(">I", payload_len + 8) + b"mdat"
    return struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", payload_len + 16)  # 64-bit largesize


def mp4_parts(duration_seconds: float, total_size: int = 0) -> tuple[bytes, int]:
    """Return (head bytes, number of zero bytes that follow) for an MP4 of ``total_size`` (0 = natural)."""
    head = mp4_header(duration_seconds)
    natural_payload = 16
    if total_size <= len(head) + 16 + natural_payload:
        return head + _mdat_header(natural_payload), natural_payload
    for header_len in (8, 16):
        payload = total_size - len(head) - header_len
        mdat = _mdat_header(payload)
        if len(mdat) == header_len:
            return head + mdat, payload
    raise AssertionError("unreachable")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def make_png(width: int = PNG_SIZE, height: int | None = None) -> bytes:
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


PNG_BYTES = make_png()


def png_parts(total_size: int = 0) -> tuple[bytes, int]:
    """Return (PNG bytes, number of zero bytes of padding after IEND) for a file of ``total_size``."""
    return PNG_BYTES, max(0, total_size - len(PNG_BYTES))


def zero_chunks(count: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield ``count`` zero bytes in chunks, reusing one buffer so memory stays flat."""
    chunk = bytes(chunk_size)
    while count > 0:
        step = min(count, chunk_size)
        yield chunk if step == chunk_size else chunk[:step]
        count -= step

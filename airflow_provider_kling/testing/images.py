"""Kling's check of an input image (kling-api.md §4 "Images as input"), from the bytes alone.

An image field holds an http(s) URL (not fetched: Kling would, the emulator cannot) or raw Base64 of a JPEG
or PNG. The size is read from the header only (PNG ``IHDR``, JPEG ``SOFn``), so a test can send a bare
header and still be judged exactly like a full picture.
"""

from __future__ import annotations

import base64
import binascii
import struct

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MIN_SIDE = 300
MAX_ASPECT = 2.5
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: JPEG start-of-frame markers (C0-CF except DHT C4, JPG C8, DAC CC) carry the picture size.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: Markers that stand alone, without a length field.
_BARE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})


class BadImage(ValueError):
    """The reason an image is refused, phrased to follow the field name in a 1201 message."""


def check_image(value: str, first_frame: bool) -> None:
    """Raise BadImage unless ``value`` is an http(s) URL or acceptable raw Base64.

    ``first_frame``: the image opens a video, so its aspect ratio must lie between 1:2.5 and 2.5:1.
    """
    if value.startswith(("http://", "https://")):
        if not value.split("://", 1)[1].split("/", 1)[0]:
            raise BadImage("URL has no host")
        return
    if value[:5].lower() == "data:":
        raise BadImage("must be raw Base64 without a data: prefix")
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise BadImage("must be an http(s) URL or valid Base64") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise BadImage("must be at most 10 MB")
    width, height = image_size(data)
    if min(width, height) < MIN_SIDE:
        raise BadImage(f"must be at least {MIN_SIDE} px per side; got {width}x{height}")
    if first_frame and max(width, height) > MAX_ASPECT * min(width, height):
        raise BadImage(f"aspect ratio must be between 1:2.5 and 2.5:1; got {width}x{height}")


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG; BadImage for any other format or a header without a size."""
    if data.startswith(PNG_SIGNATURE):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise BadImage("is a PNG without an IHDR header")
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    raise BadImage(f"must be a JPEG or PNG image; got {data[:6]!r}")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _BARE_MARKERS:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no frame header before it
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF_MARKERS and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return int(width), int(height)
        pos += 2 + length
    raise BadImage("is a JPEG without a frame header (SOF)")

#!/bin/sh
# Regenerate the emulator's result files (airflow_provider_kling/testing/assets/) with Debian's ffmpeg
# (apt-get install -y ffmpeg). Run once when they need to change; the outputs are committed as package data,
# so neither tests nor users need ffmpeg. Everything is small (under 70 KB in total): a 2.5 s moving test
# pattern (H.264 only: Debian's Chromium plays it, so no WebM twin is needed), a 320x320 still, a 2 s tone.
set -eu
OUT="$(dirname "$0")/../airflow_provider_kling/testing/assets"
mkdir -p "$OUT"
FF="ffmpeg -hide_banner -loglevel error -y -nostdin"
# H.264 (yuv420p, constrained baseline: every browser decodes it), moov atom first (+faststart), no audio.
$FF -f lavfi -i "testsrc2=size=320x180:rate=24:duration=2.5" \
    -c:v libx264 -profile:v baseline -level 3.0 -pix_fmt yuv420p -preset veryslow -crf 36 \
    -movflags +faststart -map_metadata -1 -fflags +bitexact -flags:v +bitexact "$OUT/video.mp4"
# A still: SMPTE bars, 320x320 RGB PNG (>= 300 px per side, as Kling's inputs must be).
$FF -f lavfi -i "smptebars=size=320x320:duration=1" -frames:v 1 -pix_fmt rgb24 \
    -map_metadata -1 -fflags +bitexact "$OUT/image.png"
# A 2 s 440 Hz tone: 8 kHz mono 16-bit WAV, and 32 kb/s MP3.
$FF -f lavfi -i "sine=frequency=440:sample_rate=8000:duration=2" -c:a pcm_s16le \
    -map_metadata -1 -fflags +bitexact -flags:a +bitexact "$OUT/tone.wav"
$FF -f lavfi -i "sine=frequency=440:sample_rate=22050:duration=2" -c:a libmp3lame -b:a 32k \
    -map_metadata -1 -write_xing 0 -id3v2_version 0 "$OUT/tone.mp3"
ls -l "$OUT"

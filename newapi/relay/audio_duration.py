"""An uploaded audio file's duration, read from its header (WAV, MP3, FLAC), without decoding.

New API bills a transcription by its audio's duration (``countAudioTokens``). Only headers are
read: a bounded walk over WAV chunks, the first MP3 frame (with its Xing/Info/VBRI frame count
when present, else the constant bitrate) and FLAC's STREAMINFO. Anything unreadable is ``None``,
never an error: the caller then falls back on the duration the upstream reports.
"""

from __future__ import annotations

import struct

_MAX_WAV_CHUNKS = 64
_MP3_SYNC_SCAN = 64 * 1024  # how far past an ID3 tag the first frame is looked for
_MP3_BITRATES = {
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),  # MPEG-1 layer III
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),  # MPEG-2/2.5 layer III
}
_MP3_RATES = (44100, 48000, 32000)


def audio_seconds(data: bytes | memoryview) -> float | None:
    """Seconds of audio in ``data``, or None when its format is not one read here or is damaged."""
    head = bytes(data[:12])
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _wav(data)
    if head[:4] == b"fLaC":
        return _flac(data)
    return _mp3(data)


def _wav(data: bytes | memoryview) -> float | None:
    byte_rate = 0
    position = 12
    for _ in range(_MAX_WAV_CHUNKS):
        if position + 8 > len(data):
            return None
        chunk, size = struct.unpack_from("<4sI", data, position)
        body = position + 8
        if chunk == b"fmt " and size >= 16 and body + 16 <= len(data):
            byte_rate = struct.unpack_from("<I", data, body + 8)[0]
        elif chunk == b"data":
            if byte_rate <= 0:
                return None
            # A streamed WAV writes 0 or 0xFFFFFFFF here: what was uploaded is what there is.
            available = len(data) - body
            length = available if size == 0 or size > available else size
            return length / byte_rate
        position = body + size + (size & 1)
    return None


def _flac(data: bytes | memoryview) -> float | None:
    # STREAMINFO is the first metadata block: 4-byte block header after "fLaC", then 34 bytes.
    if len(data) < 8 + 18 or data[4] & 0x7F != 0:
        return None
    packed = int.from_bytes(data[18:26], "big")
    rate = packed >> 44
    samples = packed & ((1 << 36) - 1)
    return samples / rate if rate and samples else None


def _mp3(data: bytes | memoryview) -> float | None:
    start = 0
    if bytes(data[:3]) == b"ID3" and len(data) >= 10:
        size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
        start = 10 + size + (10 if data[5] & 0x10 else 0)
    end = min(len(data) - 4, start + _MP3_SYNC_SCAN)
    for offset in range(start, max(end, start)):
        if data[offset] == 0xFF and data[offset + 1] & 0xE0 == 0xE0:
            seconds = _mp3_from_frame(data, offset)
            if seconds is not None:
                return seconds
    return None


def _mp3_from_frame(data: bytes | memoryview, offset: int) -> float | None:
    b1, b2, b3 = data[offset + 1], data[offset + 2], data[offset + 3]
    version = (b1 >> 3) & 3  # 0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1
    layer = (b1 >> 1) & 3  # 1: layer III
    bitrate_index, rate_index = b2 >> 4, (b2 >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None
    mpeg1 = version == 3
    rate = _MP3_RATES[rate_index] // (1 if mpeg1 else 2 if version == 2 else 4)
    bitrate = _MP3_BITRATES[1 if mpeg1 else 2][bitrate_index] * 1000
    per_frame = 1152 if mpeg1 else 576
    mono = (b3 >> 6) == 3
    side = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    frames = _vbr_frames(data, offset + 4 + side) or _vbri_frames(data, offset + 36)
    if frames:
        return frames * per_frame / rate
    return (len(data) - offset) * 8 / bitrate


def _vbr_frames(data: bytes | memoryview, at: int) -> int:
    """The frame count of a Xing (VBR) or Info (CBR) header, 0 if absent."""
    if at + 12 > len(data) or bytes(data[at : at + 4]) not in (b"Xing", b"Info"):
        return 0
    flags = struct.unpack_from(">I", data, at + 4)[0]
    return int(struct.unpack_from(">I", data, at + 8)[0]) if flags & 1 else 0


def _vbri_frames(data: bytes | memoryview, at: int) -> int:
    if at + 18 > len(data) or bytes(data[at : at + 4]) != b"VBRI":
        return 0
    return int(struct.unpack_from(">I", data, at + 14)[0])

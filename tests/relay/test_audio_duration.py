"""Audio durations read from file headers: WAV, MP3 (constant bitrate, Xing/Info, VBRI), FLAC;
damaged or foreign input is None, never an exception."""

from __future__ import annotations

import random
import struct

import pytest

from newapi.relay.audio_duration import audio_seconds
from newapi.relay.transcription import duration_tokens, reported_seconds
from newapi.testing.mock.text import MP3_FRAME
from tests.relay.test_transcription_billing import wav_bytes


def test_wav_duration_and_odd_chunks_before_data() -> None:
    assert audio_seconds(wav_bytes(2.5)) == pytest.approx(2.5)
    plain = wav_bytes(1.0, rate=8000)
    # A LIST chunk of odd length (padded to even) between fmt and data.
    fmt_end = 12 + 8 + 16
    extra = b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    assert audio_seconds(plain[:fmt_end] + extra + plain[fmt_end:]) == pytest.approx(1.0)


def test_mp3_constant_bitrate_and_xing_frame_count() -> None:
    assert audio_seconds(MP3_FRAME * 10) == pytest.approx(10 * 417 * 8 / 128000)
    # An Info header (MPEG-1, joint stereo: 32 bytes of side info) stating 441 frames.
    xing = bytearray(MP3_FRAME)
    xing[36:48] = b"Info" + struct.pack(">II", 1, 441)
    assert audio_seconds(bytes(xing) + MP3_FRAME * 3) == pytest.approx(441 * 1152 / 44100)
    vbri = bytearray(MP3_FRAME)
    vbri[36:54] = b"VBRI" + bytes(10) + struct.pack(">I", 100)
    assert audio_seconds(bytes(vbri)) == pytest.approx(100 * 1152 / 44100)
    tagged = b"ID3\x04\x00\x00\x00\x00\x00\x05" + bytes(5) + MP3_FRAME * 10
    assert audio_seconds(tagged) == pytest.approx(10 * 417 * 8 / 128000)


def test_flac_streaminfo() -> None:
    packed = (48000 << 44) | (1 << 41) | (15 << 36) | (48000 * 7)
    head = b"fLaC" + b"\x80\x00\x00\x22" + bytes(10) + packed.to_bytes(8, "big") + bytes(16)
    assert audio_seconds(head) == pytest.approx(7.0)


def test_garbage_is_none_and_never_raises() -> None:
    rng = random.Random(17)
    assert audio_seconds(b"not audio at all") is None
    samples = [wav_bytes(0.5), MP3_FRAME * 4, b"fLaC" + bytes(40)]
    for _ in range(2000):
        base = rng.choice(samples)
        cut = bytearray(base[: rng.randrange(len(base) + 1)])
        for _ in range(rng.randrange(4)):
            if cut:
                cut[rng.randrange(len(cut))] = rng.randrange(256)
        seconds = audio_seconds(bytes(cut))
        assert seconds is None or seconds >= 0


@pytest.mark.parametrize(
    ("payload", "seconds"),
    [
        (b'{"text":"hi","usage":{"type":"duration","seconds":7}}', 7.0),
        (b'{"text":"hi","duration":3.5}', 3.5),
        (b'{"text":"hi","usage":{"type":"tokens","input_tokens":5}}', 0.0),
        (b'{"duration":"long"}', 0.0),
        (b'{"duration":1e300}', 0.0),
        (b"plain text", 0.0),
        (b"{broken", 0.0),
    ],
)
def test_reported_seconds(payload: bytes, seconds: float) -> None:
    assert reported_seconds(payload) == seconds


def test_duration_tokens_match_new_api() -> None:
    assert [duration_tokens(s) for s in (0, 0.2, 1, 2, 3.2, 60, 61)] == [0, 17, 17, 33, 67, 1000, 1017]

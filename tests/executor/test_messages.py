"""Frames between backend and supervisor survive any split of the byte
stream, and a frame announcing an absurd size is refused."""

import pytest

from executor import messages

HEADER = {"type": "output", "run_id": "abc123", "stream": "stdout"}
# Not UTF-8 and containing the bytes of a length prefix: the payload is opaque.
PAYLOAD = b"\x00\x00\x00\x05\xff\xfe h\xc3\xa9llo\n"


def decode_in_pieces(data: bytes, cuts: list[int]) -> list[messages.Frame]:
    decoder = messages.Decoder()
    frames: list[messages.Frame] = []
    bounds = [0, *cuts, len(data)]
    for start, end in zip(bounds, bounds[1:], strict=False):
        frames += list(decoder.feed(data[start:end]))
    return frames


def test_frame_survives_a_split_at_every_byte_boundary():
    data = messages.encode(HEADER, PAYLOAD)
    for cut in range(len(data) + 1):
        frames = decode_in_pieces(data, [cut])
        assert frames == [messages.Frame(HEADER, PAYLOAD)], f"split at byte {cut}"


def test_frame_survives_being_fed_one_byte_at_a_time():
    data = messages.encode(HEADER, PAYLOAD)
    frames = decode_in_pieces(data, list(range(1, len(data))))
    assert frames == [messages.Frame(HEADER, PAYLOAD)]


def test_consecutive_frames_split_at_every_boundary_keep_their_order():
    first = {"type": "stdin", "run_id": "r1"}
    second = {"type": "close_stdin", "run_id": "r1"}
    data = messages.encode(first, b"line\n") + messages.encode(second)
    for cut in range(len(data) + 1):
        frames = decode_in_pieces(data, [cut])
        assert frames == [messages.Frame(first, b"line\n"), messages.Frame(second)]


def test_frame_without_payload_has_empty_payload():
    [frame] = messages.Decoder().feed(messages.encode({"type": "finished"}))
    assert frame.payload == b""
    assert frame.type == "finished"


def test_incomplete_frame_yields_nothing_yet():
    data = messages.encode(HEADER, PAYLOAD)
    assert list(messages.Decoder().feed(data[:-1])) == []


def test_oversized_header_length_is_refused():
    data = messages.HEAD.pack(messages.MAX_HEADER_BYTES + 1, 0)
    with pytest.raises(messages.FrameError):
        list(messages.Decoder().feed(data))


def test_oversized_payload_length_is_refused():
    data = messages.HEAD.pack(2, messages.MAX_PAYLOAD_BYTES + 1) + b"{}"
    with pytest.raises(messages.FrameError):
        list(messages.Decoder().feed(data))

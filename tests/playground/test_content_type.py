"""The server keeps Twisted's parse of each request's Content-Type per value
(playground.serve): the same answers, each value parsed once."""

import pytest
from twisted.web import http

from playground import serve

VALUES = [
    b"application/json",
    b"Application/JSON; charset=utf-8",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=----x",
    b"text/plain;;;",
    b"",
    b"\xff\xfe not a type",
]


def test_each_content_type_is_parsed_once_with_twisteds_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    twisted_parse = getattr(http._parseContentType, "__wrapped__", None)
    twisted_parse = twisted_parse or http._parseContentType
    parsed: list[bytes] = []

    def counted(line: bytes) -> bytes:
        parsed.append(line)
        return twisted_parse(line)

    monkeypatch.setattr(http, "_parseContentType", counted)
    serve.remember_content_types()
    serve.remember_content_types()  # a second server start wraps nothing more

    answers = [http._parseContentType(value) for value in VALUES * 3]

    assert answers == [twisted_parse(value) for value in VALUES * 3]
    assert parsed == VALUES

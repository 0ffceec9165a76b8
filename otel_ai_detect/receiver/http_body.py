"""OTLP/HTTP bodies: framing, bounded decompression, google.rpc.Status error bodies.

`max_request_body_size` bounds the body as sent AND after decompression: we
inflate at most limit+1 bytes, so a gzip bomb costs us no more than the limit.
Every problem is an `HttpError` whose message is meant for the sender.
"""

from __future__ import annotations

import zlib
from email.message import Message
from typing import BinaryIO

from google.rpc import code_pb2, status_pb2

from otel_ai_detect import otlp_json

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
_STATUS_CODES = {
    400: code_pb2.INVALID_ARGUMENT,
    404: code_pb2.NOT_FOUND,
    405: code_pb2.UNIMPLEMENTED,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    503: code_pb2.UNAVAILABLE,
}
_INFLATE_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


class HttpError(Exception):
    """An HTTP error response; `close` when the body was not read (the connection is unusable)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.close, self.headers = status, message, close, headers or {}


def read_body(rfile: BinaryIO, headers: Message, limit: int) -> bytes:
    """The request body, de-chunked and decompressed, never more than `limit` bytes of either."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        body = _read_chunked(rfile, limit)
    else:
        try:
            length = int(headers.get("Content-Length", "0"))
        except ValueError:
            raise HttpError(400, "Content-Length is not a number", close=True) from None
        if length < 0:
            raise HttpError(400, "Content-Length is negative", close=True)
        if length > limit:
            raise HttpError(
                413, f"body of {length} bytes exceeds the limit of {limit} bytes", close=True
            )
        body = rfile.read(length)
        if len(body) < length:
            raise HttpError(400, "body is shorter than Content-Length", close=True)
    encoding = headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in _INFLATE_WBITS:
        raise HttpError(
            415, f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or none"
        )
    return _inflate(body, limit, encoding)


def _read_chunked(rfile: BinaryIO, limit: int) -> bytes:
    chunks, total = [], 0
    while True:
        field = rfile.readline(1024).split(b";", 1)[0].strip()
        # 1*HEXDIG only: int() would also take "-1" (then read(-1) reads to EOF, unbounded),
        # "0x10" and "1_0".
        if not field or field.strip(b"0123456789abcdefABCDEF"):
            raise HttpError(400, "malformed chunked body", close=True)
        size = int(field, 16)
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > limit:
            raise HttpError(413, f"body exceeds the limit of {limit} bytes", close=True)
        chunks.append(rfile.read(size))
        rfile.readline(1024)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _inflate(data: bytes, limit: int, encoding: str) -> bytes:
    """Decompress at most limit+1 bytes: enough to know the body is too large, never more."""
    out, total = [], 0
    while data:  # a gzip body may hold several members, one after the other
        inflater = zlib.decompressobj(_INFLATE_WBITS[encoding])
        try:
            chunk = inflater.decompress(data, limit - total + 1)
        except zlib.error as exc:
            raise HttpError(400, f"body is not valid {encoding}: {exc}") from None
        total += len(chunk)
        if total > limit:
            raise HttpError(413, f"decompressed body exceeds the limit of {limit} bytes")
        if not inflater.eof:
            raise HttpError(400, f"{encoding} body is truncated")
        out.append(chunk)
        data = inflater.unused_data
    return b"".join(out)


def status_body(http_status: int, message: str, media: str) -> bytes:
    status = status_pb2.Status(
        code=_STATUS_CODES.get(http_status, code_pb2.INTERNAL), message=message
    )
    return otlp_json.dumps(status).encode() if media == JSON else status.SerializeToString()

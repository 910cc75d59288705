"""Reading a request body safely: size caps, gzip, write-key authentication.

Bodies are read as a stream and reading stops one byte past the limit, so an
oversized (or endless) upload costs at most the limit in memory; a gzip body
is inflated with the same cap (no zip bombs).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import zlib
from dataclasses import dataclass

from starlette.requests import Request


@dataclass(frozen=True)
class Body:
    """What was read: the bytes (at most ``limit`` + 1), the size, whether it overflowed."""

    data: bytes
    size: int
    too_large: bool
    error: str | None = None


async def read_body(request: Request, limit: int) -> Body:
    """The (inflated) body, stopping one byte past ``limit``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit * 4:
        return Body(b"", int(declared), True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit * 4:  # compressed or not, stop reading a runaway upload
            return Body(b"".join(chunks)[: limit + 1], size, True)
    data = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            inflated = inflater.decompress(data, limit + 1)
        except zlib.error as exc:
            return Body(data[: limit + 1], size, False, f"the gzip body is corrupt: {exc}")
        if len(inflated) > limit or inflater.unconsumed_tail:
            return Body(inflated[: limit + 1], max(len(inflated), limit + 1), True)
        data = inflated
    return Body(data, len(data), len(data) > limit)


def key_from_header(authorization: str | None) -> str | None:
    """The write key of ``Authorization: Basic base64(<writeKey>:)``; None if absent/garbled."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded.partition(":")[0] or None


def source_for(key: str | None, write_keys: dict[str, str]) -> str | None:
    """The name of the source owning ``key`` (constant-time compare), else None."""
    if not key:
        return None
    found = None
    for name, expected in write_keys.items():
        if hmac.compare_digest(key.encode(), expected.encode()):
            found = name
    return found

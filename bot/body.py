"""Reading a request's body with a cap, the same way at every door.

A declared `Content-Length` over the cap is refused before a byte is read; a body sent
chunked (no length declared), or longer than it declared, is read only until it passes
the cap. Nothing past `limit + one chunk` is ever held in memory.
"""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLargeError(Exception):
    """The body is over the door's cap; `limit` says how many bytes a door takes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"body is over {limit} bytes")
        self.limit = limit


def declared_length(request: Request) -> int | None:
    """The `Content-Length` the client declared, if it is a plain decimal number.

    A value of more than 18 digits is over every cap we have, and is not turned into an
    int (Python refuses to convert very long digit strings)."""
    declared = request.headers.get("content-length", "").strip()
    if not declared or not (declared.isascii() and declared.isdigit()):
        return None
    if len(declared) > 18:
        return 10**18
    return int(declared)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body if it is at most `limit` bytes; else BodyTooLargeError, having read
    no more than `limit` bytes and one chunk."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise BodyTooLargeError(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLargeError(limit)
    return bytes(body)

"""read_body: whatever the chunking and whatever length is declared, a body within the cap
is returned whole, and one over it is refused having read at most the cap and a chunk."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from bot.body import BodyTooLargeError, read_body


def _request(chunks: list[bytes], content_length: str | None) -> tuple[Request, list[int]]:
    """A request whose body arrives in `chunks`; the list returned counts the chunks read."""
    read = [0]
    headers = [] if content_length is None else [(b"content-length", content_length.encode())]

    async def receive() -> dict[str, Any]:
        index = read[0]
        read[0] += 1
        if index >= len(chunks):
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunks[index], "more_body": True}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    return Request(scope, receive), read


@given(
    chunks=st.lists(st.binary(max_size=40), max_size=12),
    limit=st.integers(0, 200),
    declared=st.none() | st.sampled_from(["exact", "huge", "١٢", "9" * 5000, "abc", ""]),
)
def test_a_body_is_returned_whole_within_the_cap_and_refused_over_it(
    chunks: list[bytes], limit: int, declared: str | None
) -> None:
    body = b"".join(chunks)
    header = {"exact": str(len(body)), "huge": "1" + "0" * 30}.get(declared or "", declared)
    request, read = _request(chunks, header)
    over = len(body) > limit or declared in {"huge", "9" * 5000}
    if over:
        with pytest.raises(BodyTooLargeError) as refused:
            asyncio.run(read_body(request, limit))
        assert refused.value.limit == limit
        # never past the first chunk that crossed the cap
        crossed = next(
            (i + 1 for i in range(len(chunks)) if len(b"".join(chunks[: i + 1])) > limit),
            0,
        )
        assert read[0] <= crossed
    else:
        assert asyncio.run(read_body(request, limit)) == body

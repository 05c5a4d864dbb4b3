"""A local server that answers like Slack's Web API, records every call, and can fail
like Slack (429 with Retry-After, 500, a hang past the client's timeout).

It is a real HTTP server on a loopback port: the bot's `WebClient` is pointed at it with
SLACK_API_URL, so the code under test runs exactly as in production, sockets included.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

BOT_TOKEN = "xoxb-test-token-not-real"
APP_TOKEN = "xapp-test-token-not-real"


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]


@dataclass
class User:
    id: str
    email: str
    tz: str = "Asia/Tokyo"
    name: str = ""


@dataclass
class FakeSlack:
    users: dict[str, User] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)  # messages Slack took
    failures: dict[str, deque[tuple[str, float]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    url: str = ""
    # Socket Mode: envelopes to push to the connected client, and what it sent back
    envelopes: asyncio.Queue[dict[str, Any]] | None = None
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    socket_connected: threading.Event = field(default_factory=threading.Event)
    # files_upload_v2: the bytes POSTed to each upload URL, by file id
    uploads: dict[str, bytes] = field(default_factory=dict)
    _loop: asyncio.AbstractEventLoop | None = None
    _ts: int = 0
    _file_ids: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------ scripting

    def add_user(self, user_id: str, email: str, tz: str = "Asia/Tokyo") -> None:
        self.users[user_id] = User(user_id, email, tz, email.split("@", maxsplit=1)[0])

    def fail(self, method: str, how: str, times: int = 1, value: float = 0) -> None:
        """The next `times` calls of `method` answer `how`: "429" (Retry-After `value`
        seconds), "500", "hang" (`value` seconds, then the usual answer: Slack did the
        work but the client may have given up), "stall" (`value` seconds, then 503: the
        work was not done), or "error:CODE" ({"ok": false, "error": CODE})."""
        for _ in range(times):
            self.failures[method].append((how, value))

    def delivered(self) -> dict[str, int]:
        """How many times Slack took each outbox message (by the key in its metadata)."""
        counts: dict[str, int] = defaultdict(int)
        with self._lock:
            posted = list(self.posted)
        for params in posted:
            meta = params.get("metadata")
            if isinstance(meta, str):
                meta = json.loads(meta)
            key = ((meta or {}).get("event_payload") or {}).get("key")
            if key:
                counts[key] += 1
        return dict(counts)

    def called(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        """Blocks until `count` calls of `method` arrived (the bot works after its ack)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.called(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{method}: {len(self.called(method))} calls, wanted {count}")

    def wait_for_response(self, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.responses) >= count:
                    return [body for _, body in self.responses]
            time.sleep(0.02)
        raise AssertionError(f"{len(self.responses)} response_url posts, wanted {count}")

    # ------------------------------------------------------------ the server

    async def _api(self, request: Request) -> Response:  # noqa: PLR0911 (one answer per failure scripted)
        method = request.path_params["method"]
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            params = json.loads(raw or b"{}")
        else:
            params = dict(parse_qsl(raw.decode()))
        with self._lock:
            self.calls.append(Call(method, params))
            failure = self.failures[method].popleft() if self.failures[method] else None
        if failure is not None:
            how, value = failure
            if how == "429":
                return JSONResponse(
                    {"ok": False, "error": "ratelimited"},
                    status_code=429,
                    headers={"Retry-After": str(int(value))},
                )
            if how == "500":
                return Response("internal error", status_code=500)
            if how == "hang":
                await asyncio.sleep(value)
            if how == "stall":
                await asyncio.sleep(value)
                return Response("service unavailable", status_code=503)
            if how.startswith("error:"):
                return JSONResponse({"ok": False, "error": how.partition(":")[2]})
        if method == "apps.connections.open":
            if request.headers.get("authorization") != f"Bearer {APP_TOKEN}":
                return JSONResponse({"ok": False, "error": "invalid_auth"})
            ws = self.url.replace("http://", "ws://") + "/socket"
            return JSONResponse({"ok": True, "url": ws})
        if request.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        return JSONResponse(self._answer(method, params))

    def _user_json(self, user: User) -> dict[str, Any]:
        return {
            "id": user.id,
            "name": user.name,
            "tz": user.tz,
            "profile": {"email": user.email, "display_name": user.name},
        }

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911 (one answer per Web API method)
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T111"}
        if method == "users.lookupByEmail":
            for user in self.users.values():
                if user.email == params.get("email"):
                    return {"ok": True, "user": self._user_json(user)}
            return {"ok": False, "error": "users_not_found"}
        if method == "users.info":
            found = self.users.get(str(params.get("user")))
            if found is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": self._user_json(found)}
        if method == "chat.postMessage":
            channel = str(params.get("channel", ""))
            with self._lock:
                self._ts += 1
                ts = f"1800000000.{self._ts:06d}"
            if channel.startswith(("U", "W")):
                channel = "D" + channel[1:]
            with self._lock:
                self.posted.append(params)
            return {"ok": True, "channel": channel, "ts": ts}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method in ("chat.postEphemeral", "views.open", "views.publish"):
            return {"ok": True}
        if method.startswith("files."):
            return self._files(method, params)
        return {"ok": False, "error": "unknown_method"}

    def _files(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The two Web API steps of files_upload_v2; the upload between them is `_upload`."""
        if method == "files.getUploadURLExternal":
            if not params.get("filename") or not str(params.get("length", "")).isdigit():
                return {"ok": False, "error": "invalid_arguments"}
            with self._lock:
                self._file_ids += 1
                file_id = f"F{self._file_ids:06d}"
            return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(params.get("files") or "[]")
            with self._lock:
                missing = [f["id"] for f in files if f["id"] not in self.uploads]
            if not files or missing:
                return {"ok": False, "error": "file_not_found"}
            return {
                "ok": True,
                "files": [{"id": f["id"], "title": f.get("title", "")} for f in files],
            }
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: Request) -> Response:
        body = await request.body()
        with self._lock:
            self.uploads[request.path_params["file_id"]] = body
        return Response(f"OK - {len(body)}")

    async def _response_url(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"{}")
        with self._lock:
            self.responses.append((request.path_params["rest"], body))
        return Response("ok")

    async def _socket(self, websocket: WebSocket) -> None:
        """Socket Mode as Slack runs it: hello, then envelopes; the client acks each."""
        await websocket.accept()
        self._loop = asyncio.get_running_loop()
        self.envelopes = asyncio.Queue()
        await websocket.send_json({"type": "hello", "num_connections": 1})
        self.socket_connected.set()

        async def push() -> None:
            assert self.envelopes is not None
            while True:
                await websocket.send_json(await self.envelopes.get())

        pusher = asyncio.create_task(push())
        try:
            while True:
                message = await websocket.receive_text()
                with self._lock:
                    self.socket_acks.append(json.loads(message))
        except WebSocketDisconnect:
            pass
        finally:
            pusher.cancel()

    def push_envelope(self, envelope: dict[str, Any]) -> None:
        assert self._loop is not None, "no client connected"
        assert self.envelopes is not None
        self._loop.call_soon_threadsafe(self.envelopes.put_nowait, envelope)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["POST"]),
                Route("/response/{rest:path}", self._response_url, methods=["POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                WebSocketRoute("/socket", self._socket),
            ]
        )


@contextmanager
def serve(app: Any, port: int = 0) -> Iterator[str]:
    """Runs an ASGI app with uvicorn on a loopback port (0: a free one); yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def fake_slack(port: int = 0) -> Iterator[FakeSlack]:
    """`port`: a given one, e.g. where the bot was told Slack is before it came up."""
    fake = FakeSlack()
    with serve(fake.app(), port) as url:
        fake.url = url
        yield fake


@dataclass
class FakeWorkflows:
    """A Teams channel's Workflows webhook: records each envelope POSTed to
    /workflows/{anything} and answers 202 with an empty body, or as scripted."""

    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0  # every POST, taken or not
    failures: deque[tuple[str, float]] = field(default_factory=deque)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, how: str, times: int = 1, retry_after: float = 0) -> None:
        """The next `times` POSTs answer `how`: "429" (with Retry-After) or "500"."""
        with self._lock:
            self.failures.extend([(how, retry_after)] * times)

    def webhook(self, name: str = "sales") -> str:
        """A webhook URL as Teams makes them, signature in the query."""
        return f"{self.url}/workflows/{name}?api-version=1&sig=not-a-real-signature"

    def cards(self) -> list[dict[str, Any]]:
        with self._lock:
            return [e["attachments"][0]["content"] for e in self.received]

    async def _post(self, request: Request) -> Response:
        body = json.loads(await request.body())
        with self._lock:
            self.attempts += 1
            failure = self.failures.popleft() if self.failures else None
            if failure is None:
                self.received.append(body)
        if failure is not None:
            how, wait = failure
            if how == "429":
                return Response(status_code=429, headers={"Retry-After": str(int(wait))})
            return Response("internal error", status_code=500)
        return Response(status_code=202)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/workflows/{name}", self._post, methods=["POST"])])


@contextmanager
def fake_workflows() -> Iterator[FakeWorkflows]:
    fake = FakeWorkflows()
    with serve(fake.app()) as url:
        fake.url = url
        yield fake


def main() -> None:
    """`python -m tests.fakes --port 8999 --users 50`: the fake on its own, for benchmarks
    (in the benchmark's process it would compete with the server for the GIL)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--users", type=int, default=0, help="U0..Un-1 as r0@example.com...")
    args = parser.parse_args()
    fake = FakeSlack(url=f"http://127.0.0.1:{args.port}")
    for i in range(args.users):
        fake.add_user(f"U{i}", f"r{i}@example.com")
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

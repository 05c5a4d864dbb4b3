"""`ignorerate demo`: its own database, the dashboard on loopback, and a sign-in that
offers the demo's people, answers only this computer, and starts a real session."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.app.demo import DEMO_PEOPLE
from tests.reliability.processes import free_port

pytestmark = pytest.mark.one_backend  # the demo is SQLite by design


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("demo")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own CLI)
        [
            sys.executable,
            "-m",
            "bot",
            "demo",
            "--dir",
            str(directory),
            "--port",
            str(port),
            "--leads",
            "600",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.communicate()
                time.sleep(0.1)
        assert (Path(directory) / "demo.db").exists()
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=20)


def _token(page: str) -> str:
    found = re.search(r'name="demo_form" value="([^"]+)"', page)
    assert found is not None, page
    return found[1]


def test_the_demo_sign_in_offers_its_people_and_starts_a_session(demo: str) -> None:
    with httpx.Client(base_url=demo) as client:
        choice = client.get("/login", params={"next": "/somewhere"})
        assert choice.status_code == 200
        for email in DEMO_PEOPLE:
            assert email in choice.text
        assert "<script" not in choice.text
        token = _token(choice.text)
        signed = client.post(
            "/login", data={"email": DEMO_PEOPLE[0], "next": "/somewhere", "demo_form": token}
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/somewhere"
        who = client.get("/logout")
        assert DEMO_PEOPLE[0] in who.text  # "signed in as"
        overview = client.get("/", headers={"accept": "text/html"})
        assert overview.status_code == 200
        for team in ("enterprise", "emea", "smb"):  # the admin sees every team
            assert f'href="/teams/{team}' in overview.text


def test_the_demo_sign_in_refuses_what_it_does_not_offer(demo: str) -> None:
    with httpx.Client(base_url=demo) as client:
        token = _token(client.get("/login").text)
        for refused in (
            {"email": "stranger@example.com", "demo_form": token},  # not one of its people
            {"email": DEMO_PEOPLE[0], "demo_form": "forged"},  # not its form
            {"email": DEMO_PEOPLE[0]},
        ):
            answer = client.post("/login", data=refused)
            assert answer.status_code == 303
            assert answer.headers["location"] == "/login"  # the choice again
            assert "Sign in as" in client.get("/login").text
            assert DEMO_PEOPLE[0] not in client.get("/logout").text
    with httpx.Client(base_url=demo) as fresh:  # another browser: no form token of its own
        answer = fresh.post("/login", data={"email": DEMO_PEOPLE[0], "demo_form": token})
        assert answer.headers["location"] == "/login"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_the_demo_sign_in_answers_only_loopback_names(demo: str, host: str) -> None:
    """A page elsewhere whose name resolves to 127.0.0.1 (DNS rebinding) gets nothing."""
    with httpx.Client(base_url=demo, headers={"host": host}) as client:
        assert client.get("/login").status_code == 404
        assert client.post("/login", data={"email": DEMO_PEOPLE[0]}).status_code == 404

"""Real processes for the reliability tests: `ignorerate serve` run as the CLI runs it, a
PostgreSQL cluster of the test's own (so that it can be restarted without disturbing the
shared server other tests use), and how much load a run takes (IGNORERATE_SOAK=1: more).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

# IGNORERATE_SOAK=1: the same tests with more load, longer outages and more crashes
SOAK = os.environ.get("IGNORERATE_SOAK") == "1"


@dataclass(frozen=True)
class Load:
    clients: int  # concurrent webhook senders while PostgreSQL restarts
    accepted_between: int  # 202s to see before, between and after the restarts
    restarts: int  # `pg_ctl restart -m fast` cycles
    hard_stops: int  # `pg_ctl stop -m immediate`, outage, start (crash recovery) cycles
    outage_refusals: int  # answers to collect while the cluster is down (its length)
    crashes: int  # SIGKILLs of `serve` per test
    due_leads: int  # leads a sweep has to chase
    delivery_leads: int  # leads whose cards and digests are in flight


LOAD = (
    Load(
        clients=8,
        accepted_between=200,
        restarts=3,
        hard_stops=3,
        outage_refusals=1000,
        crashes=5,
        due_leads=20_000,
        delivery_leads=120,
    )
    if SOAK
    else Load(
        clients=4,
        accepted_between=20,
        restarts=1,
        hard_stops=1,
        outage_refusals=8,
        crashes=2,
        due_leads=6_000,
        delivery_leads=20,
    )
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason, but fail under CI: as tests/conftest.py's pg_url does."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


class ServeProcess:
    """`python -m bot serve` as a child process; its log read line by line as it comes."""

    def __init__(self, env: Mapping[str, str], port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "bot", "serve", "--port", str(port)],
            env=dict(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def log(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_line(self, needle: str, timeout: float = 60) -> str:
        """The first log line containing `needle`, waiting for it to be written."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError(f"serve never logged {needle!r}; its log:\n{self.log()}")
                self._changed.wait(left)

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not become healthy; its log:\n{self.log()}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no rollback of its own, whatever it was doing."""
        self.process.kill()
        self.process.wait(timeout=30)
        self._close()

    def stop(self) -> int:
        """SIGINT, as an operator's Ctrl-C; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout=30)
        self._close()
        return code

    def wait_exit(self, timeout: float = 60) -> int:
        """Until it ends by itself (e.g. refusing to start); its exit code."""
        code = self.process.wait(timeout=timeout)
        self._close()
        return code

    def _close(self) -> None:
        self._reader.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def serve_env(database_url: str, config: Path, **extra: str) -> dict[str, str]:
    """The environment of a `serve` under test: nothing inherited that configures it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "IGNORERATE_", "TEAMS_")) and k != "DATABASE_URL"
    }
    env.update({"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(config), **extra})
    return env


@contextmanager
def running_serve(env: Mapping[str, str]) -> Iterator[ServeProcess]:
    serve = ServeProcess(env, free_port())
    try:
        yield serve
    finally:
        if serve.alive():
            serve.stop()


class PrivateCluster:
    """A PostgreSQL cluster of this test only, in a temporary directory, on a free port:
    `initdb` and `pg_ctl` from `pg_config --bindir`, run as the `postgres` user when we
    are root (initdb refuses root)."""

    def __init__(self) -> None:
        pg_config = shutil.which("pg_config")
        if pg_config is None:
            unavailable("pg_config is not on PATH: cannot start a private PostgreSQL")
        found = subprocess.run(  # noqa: S603 (a fixed argument list)
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        self.bindir = Path(found.stdout.strip())
        if found.returncode != 0 or not (self.bindir / "initdb").exists():
            unavailable(f"no initdb in pg_config --bindir ({self.bindir})")
        self.prefix: list[str] = []
        owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                user = None
            if runuser is None or user is None:
                unavailable("running as root without runuser or a postgres user for initdb")
            self.prefix = [runuser, "-u", "postgres", "--"]
            owner = (user.pw_uid, user.pw_gid)
        # /tmp, not pytest's tmp_path: the postgres user cannot enter root's 0700 dirs
        self.root = Path(tempfile.mkdtemp(prefix="ignorerate-pg-"))
        if owner is not None:
            os.chown(self.root, *owner)
        self.data = self.root / "data"
        self.logfile = self.root / "postgresql.log"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 (PostgreSQL's own tools, fixed arguments)
            [*self.prefix, *args], capture_output=True, text=True, check=False, timeout=120
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)}: {done.stdout}{done.stderr}{self.server_log()}")
        return done

    def server_log(self) -> str:
        try:
            return self.logfile.read_text(encoding="utf-8", errors="replace")[-4000:]
        except OSError:
            return ""

    def init(self) -> None:
        done = self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            check=False,
        )
        if done.returncode != 0:
            unavailable(f"initdb failed: {done.stdout}{done.stderr}")

    def pg_ctl(self, action: str, *options: str) -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            action,
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "120",
            "-o",
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1",
            *options,
        )

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        self.pg_ctl("restart", "-m", mode)

    def destroy(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "stop",
            "-D",
            str(self.data),
            "-m",
            "immediate",
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    cluster = PrivateCluster()
    try:
        cluster.init()
        try:
            cluster.start()
        except RuntimeError as err:
            unavailable(f"the private PostgreSQL did not start: {err}")
        yield cluster
    finally:
        cluster.destroy()

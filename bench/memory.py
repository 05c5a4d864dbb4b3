"""Memory of `ignorerate serve`: idle, then under steady load, first half against second.

    python -m bench.memory --minutes 10

Runs the real server (`python -m bot serve`) on SQLite with Slack pointed at the local
fake Slack (its own process), waits until it is idle, then for --minutes sends a signed
batch of 50 new leads every second (each lead's card goes through the outbox to the fake
Slack, and the scheduler ticks every minute), sampling the server's resident memory
(VmRSS) every --sample-seconds (5). A leak shows as the second half's peak above the first
half's.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from bench.clicks import CONFIG, _fake_slack_process
from bench.summary import Row, record
from bench.webhook import post_handoff
from tests.fakes import BOT_TOKEN

SECRET = "bench-memory-secret"  # noqa: S105 (a throwaway secret for a local run)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _batch(n: int) -> bytes:
    handed = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()  # noqa: TID251 (a benchmark of the wall clock)
    return json.dumps(
        {
            "leads": [
                {
                    "source": "bench",
                    "external_id": f"{n}-{i}",
                    "handed_off_at": handed,
                    "team": "t",
                    "owner_email": f"r{i}@example.com",
                    "name": f"Lead {n}-{i}",
                }
                for i in range(50)
            ]
        }
    ).encode()


def _wait_healthy(http: httpx.Client, base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if http.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("the server did not start")
        time.sleep(0.2)


def _load(
    http: httpx.Client, base: str, pid: int, minutes: float, every: float
) -> tuple[list[tuple[float, float]], int]:
    """A signed batch a second for `minutes`; (seconds, RSS MiB) every `every` seconds,
    and the number of batches."""
    samples: list[tuple[float, float]] = []
    start = time.monotonic()
    n = 0
    next_sample = start
    while time.monotonic() < start + minutes * 60:
        body = _batch(n)
        post_handoff(http, f"{base}/hooks/handoff", SECRET, body)
        n += 1
        if time.monotonic() >= next_sample:
            samples.append((time.monotonic() - start, _rss_mib(pid)))
            next_sample += every
        time.sleep(max(0.0, start + n - time.monotonic()))
    return samples, n


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--summary", help="append the result to this file (bench.summary)")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument(
        "--sample-seconds",
        type=float,
        default=5,
        help="RSS sampled this often; the idle figure is taken this long after start-up",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _fake_slack_process(50) as slack_url:
        config = Path(tmp) / "ignorerate.yml"
        config.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
        env = {
            **os.environ,
            "IGNORERATE_CONFIG": str(config),
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            "IGNORERATE_WEBHOOK_SECRET": SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "bench-signing-secret",
            "SLACK_API_URL": f"{slack_url}/api/",
        }
        subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, check=True)
        port = _port()
        server = subprocess.Popen(  # noqa: S603 (our own CLI)
            [sys.executable, "-m", "bot", "serve", "--port", str(port), "--log-level", "warning"],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(timeout=30) as http:
                _wait_healthy(http, base)
                time.sleep(args.sample_seconds)
                idle = _rss_mib(server.pid)
                samples, n = _load(http, base, server.pid, args.minutes, args.sample_seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
    half = args.minutes * 30
    first = max(r for t, r in samples if t < half)
    second = max(r for t, r in samples if t >= half)
    print(
        f"# {n} batches of 50 leads in {args.minutes} min, "
        f"RSS sampled every {args.sample_seconds:g} s"
    )
    print("| idle RSS | peak RSS, first half | peak RSS, second half | growth |")
    print("|---|---|---|---|")
    print(f"| {idle:.0f} MiB | {first:.0f} MiB | {second:.0f} MiB | {second - first:+.0f} MiB |")
    limit = 150 * 1000 * 1000 / 2**20  # the target is 150 MB
    record(
        args.summary,
        Row(
            f"RSS of serve, idle and {args.minutes} min of steady load",
            "SQLite",
            f"idle {idle:.0f} MiB, peak {max(first, second):.0f} MiB, "
            f"second half {second - first:+.0f} MiB",
            "",
            None,
            "< 150 MB; no growth in the second half",
            max(idle, first, second) < limit and second - first <= 2,  # MiB: allocator noise
            1,
        ),
    )


if __name__ == "__main__":
    main()

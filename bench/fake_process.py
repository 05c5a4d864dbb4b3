"""A CRM fake in a process of its own, as a real CRM is another machine.

In the benchmark's own process the fake's Python (reading its records, encoding each page)
and the sync's would take turns on one interpreter lock: the sync could never write a page
while the fake prepares the next, which a real CRM lets it do. The fake's process builds
the fake, loads its records, says how to reach it, and then answers the benchmark's
questions (`ask`) until it is told to stop.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from typing import Any

STARTUP_SECONDS = 1800  # loading a million records into a fake takes a while


def answer(conn: Connection, ready: Any, questions: Mapping[str, Callable[[], Any]]) -> None:
    """In the fake's process: sends `ready`, then answers each question asked by name
    until "stop"."""
    conn.send(ready)
    while True:
        question = conn.recv()
        if question == "stop":
            return
        conn.send(questions[question]())


@contextmanager
def fake_process(target: Callable[..., None], *args: Any) -> Iterator[tuple[Connection, Any]]:
    """Runs `target(conn, *args)` in a new process (`spawn`: nothing of this process is
    shared); yields the connection to it and what it sent when ready."""
    context = multiprocessing.get_context("spawn")
    mine, theirs = context.Pipe()
    process = context.Process(target=target, args=(theirs, *args), daemon=True)
    process.start()
    try:
        waited = 0
        while not mine.poll(1):
            waited += 1
            if not process.is_alive() or waited > STARTUP_SECONDS:
                raise SystemExit(f"the fake's process did not start (exit {process.exitcode})")
        yield mine, mine.recv()
    finally:
        with suppress(OSError):  # the process is gone already
            mine.send("stop")
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
            process.join()


def ask(conn: Connection, question: str) -> Any:
    """What the fake's process answers to `question`."""
    conn.send(question)
    return conn.recv()

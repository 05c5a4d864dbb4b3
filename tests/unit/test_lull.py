"""Background work waits while requests are being answered, and never forever."""

from __future__ import annotations

import threading

from bot.http.lull import BackgroundExecutor, Lull


def test_work_waits_for_the_request_in_flight_then_runs() -> None:
    lull = Lull(quiet=0.01, cap=60)
    started = threading.Event()
    with BackgroundExecutor(lull, max_workers=2) as pool:
        lull.enter()
        future = pool.submit(started.set)
        # a request is being answered: the work must not start, however long we look
        assert not started.wait(timeout=0.3)
        lull.leave()
        future.result(timeout=10)
    assert started.is_set()


def test_a_steady_stream_of_requests_delays_work_but_cannot_starve_it() -> None:
    lull = Lull(quiet=0.01, cap=0.2)
    lull.enter()  # never leaves
    with BackgroundExecutor(lull, max_workers=1) as pool:
        assert pool.submit(lambda: "done").result(timeout=10) == "done"
    assert lull.remaining() > 0


def test_quiet_means_no_request_for_the_quiet_time() -> None:
    now = [100.0]
    lull = Lull(quiet=0.5, cap=10, monotonic=lambda: now[0])
    assert lull.remaining() == 0  # nothing seen yet
    lull.enter()
    assert lull.remaining() == 0.5
    now[0] = 101.0
    lull.leave()
    assert lull.remaining() == 0.5
    now[0] = 101.3
    assert abs(lull.remaining() - 0.2) < 1e-9
    now[0] = 101.5
    assert lull.remaining() == 0


def test_results_and_errors_come_back_through_the_future() -> None:
    lull = Lull(quiet=0.0, cap=1)

    def fails() -> None:
        raise ValueError("boom")

    with BackgroundExecutor(lull, max_workers=1) as pool:
        assert pool.submit(pow, 2, 5).result(timeout=10) == 32
        error = pool.submit(fails).exception(timeout=10)
    assert isinstance(error, ValueError)

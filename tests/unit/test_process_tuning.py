"""`serve`'s process-wide settings hold while it runs and are undone when it stops; the
service itself touches neither."""

from __future__ import annotations

import gc
import sys

import pytest

from bot.serve import SWITCH_INTERVAL, process_tuning


def test_the_tuning_holds_inside_and_is_undone_on_exit() -> None:
    before = sys.getswitchinterval()
    assert before != SWITCH_INTERVAL
    assert gc.get_freeze_count() == 0
    with process_tuning():
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)
        assert gc.get_freeze_count() > 0  # what was alive on entry is left out of collections
    assert sys.getswitchinterval() == before
    assert gc.get_freeze_count() == 0


def test_it_is_undone_when_serving_fails() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), process_tuning():
        raise RuntimeError("the port is taken")
    assert sys.getswitchinterval() == before
    assert gc.get_freeze_count() == 0

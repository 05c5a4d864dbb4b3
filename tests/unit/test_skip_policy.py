"""Under CI=true a skipped test fails the run (tests/skip_policy.py); outside CI a skip
stays a skip. Checked on a small suite of its own, run by pytest in a child process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = {
    "test_some.py": """
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("no frobnicator here")

@pytest.fixture
def frobnicator():
    pytest.skip("no frobnicator for the fixture")

def test_skips_in_a_fixture(frobnicator):
    pass

@pytest.mark.xfail(strict=True, reason="known")
def test_expected_to_fail():
    assert False
""",
    "test_whole_module.py": """
import pytest

pytest.skip("the whole module needs a frobnicator", allow_module_level=True)
""",
}


def run_suite(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess[str]:
    for name, text in SUITE.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(ROOT)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(  # noqa: S603 (pytest on files written above)
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.skip_policy",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            "-rA",
            "--continue-on-collection-errors",  # to see every outcome in one run
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def outcomes(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """The counts of pytest's last line: {"passed": 1, "skipped": 3, ...}."""
    last = result.stdout.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def test_under_ci_every_skip_fails_the_run_with_its_reason(tmp_path: Path) -> None:
    result = run_suite(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    for reason in (
        "no frobnicator here",
        "no frobnicator for the fixture",
        "the whole module needs a frobnicator",
    ):
        assert f"skipped under CI=true, where no test may skip (README.md): {reason}" in (
            result.stdout
        )
    assert outcomes(result) == {"failed": 1, "passed": 1, "xfailed": 1, "errors": 2}


@pytest.mark.parametrize("ci", [None, "false"])
def test_outside_ci_a_skip_stays_a_skip(tmp_path: Path, ci: str | None) -> None:
    result = run_suite(tmp_path, ci)
    assert result.returncode == 0, result.stdout
    assert outcomes(result) == {"passed": 1, "skipped": 3, "xfailed": 1}

"""The tests, the benchmarks and CI read nothing outside the repository: a user's clone is
all there is (the Slack request bodies and the schemas the tests need are in
tests/fixtures). Checked on their source: no path climbs out of the repository."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# a path built upwards: "../x", `something.parent / "x"`, `.parents[2].parent`
CLIMBS = re.compile(r"\.\./|\.parent\s*/|\.parent\.parent|parents\[\d+\]\.parent")
# `Path(__file__).resolve().parents[N]`: N may reach the repository's root, not beyond it
PARENTS = re.compile(r"Path\(__file__\)\.resolve\(\)\.parents\[(\d+)\]")


def sources() -> Iterator[Path]:
    for folder in ("tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path != Path(__file__).resolve():
                yield path
    yield ROOT / ".ci" / "run"
    yield ROOT / "Makefile"


def test_the_sources_are_found() -> None:
    found = [p.relative_to(ROOT).as_posix() for p in sources()]
    assert "tests/e2e/conftest.py" in found
    assert "bench/run.py" in found
    assert len(found) > 50


def test_no_test_benchmark_or_ci_script_climbs_out_of_the_repository() -> None:
    climbing = []
    for path in sources():
        depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is the root
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
            if CLIMBS.search(line):
                climbing.append(where)
            climbing.extend(where for n in PARENTS.findall(line) if int(n) > depth)
    assert climbing == []

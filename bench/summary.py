"""One table for `make bench`: each benchmark, given `--summary FILE`, appends its rows
(a figure beside its floor and the load issue's target) as JSON lines; this prints them.

    python -m bench.summary FILE
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    what: str
    backend: str
    figure: str  # as measured, with its unit ("0.41 s", "2,950 leads/s", "p99 48 ms")
    floor: str  # the floor measured in the same run, or "" where the target has none
    ratio: float | None  # figure / floor, where the target bounds it
    target: str
    met: bool
    runs: int  # the figure is the median of this many runs


def record(path: str | None, row: Row) -> None:
    if path is None:
        return
    with Path(path).open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")


def table(rows: list[Row]) -> str:
    lines = [
        f"Machine: {os.cpu_count()} cores, {_memory()}, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "",
        "| what | backend | median | floor (same run) | ratio | target | met | runs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        # three decimals near a target's bound (1.505x is over 1.5x), one above ten
        ratio = "—" if r.ratio is None else f"{r.ratio:.{3 if r.ratio < 10 else 1}f}x"
        lines.append(
            f"| {r.what} | {r.backend} | {r.figure} | {r.floor or '—'} | {ratio} | {r.target} | "
            f"{'yes' if r.met else '**no**'} | {r.runs} |"
        )
    return "\n".join(lines)


def _memory() -> str:
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as info:
            kib = int(info.readline().split()[1])
        return f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "memory unknown"


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m bench.summary FILE")
    text = Path(sys.argv[1]).read_text(encoding="utf-8")
    rows = [Row(**json.loads(line)) for line in text.splitlines() if line.strip()]
    print(table(rows))
    if not all(r.met for r in rows):
        print(f"\n{sum(not r.met for r in rows)} of {len(rows)} targets not met")


if __name__ == "__main__":
    main()

"""Realistic handoff and action CSVs at any size, streamed (a million leads in constant memory):
`bot.app.demo`'s generator, the one the demo uses, written to files for the benchmarks.

    python -m bench.generate --leads 100000 --out bench/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app.demo import Shape, config_text, write

__all__ = ["Shape", "config_text", "write"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    paths = write(Shape(leads=args.leads, seed=args.seed), args.out)
    print("wrote", *paths)


if __name__ == "__main__":
    main()

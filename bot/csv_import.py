"""CSV import: check the whole file first, then write it in batches.

The file is read twice rather than held in memory, so a million rows import in constant
memory. Nothing is written while any row is bad, unless the caller asks to skip bad rows;
then they go to a file beside the input, with the reason, for fixing and re-importing.
Re-importing adds nothing: leads are keyed on (source, external_id), actions on a digest
of what they say.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Generic, TypeVar

from sqlalchemy import Engine

from bot.clock import Clock
from bot.config import Settings
from bot.fields import (
    ACTION_COLUMNS,
    ACTION_REQUIRED,
    LEAD_COLUMNS,
    LEAD_REQUIRED,
    ActionInput,
    FieldError,
    LeadInput,
    validate_action,
    validate_lead,
)
from bot.services import check_actions, ingest_leads, record_actions
from storage import repository as repo
from storage.engine import writing

BATCH = 2000
T = TypeVar("T", LeadInput, ActionInput)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


@dataclass
class ImportResult:
    rows: int = 0
    added: int = 0
    already_present: int = 0
    bad_rows: int = 0
    imported: bool = False
    rejects_file: Path | None = None
    header_error: str | None = None
    errors: list[RowError] = field(default_factory=list)


# what errors="surrogateescape" makes of each byte that is not UTF-8
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


class FileHeaderError(ValueError):
    pass


class _CountingReader(io.RawIOBase):
    """Counts bytes read so that progress can follow a file being streamed."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self.raw = raw
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.on_read(len(data))
        return len(data)


def _rows(
    path: Path, columns: Sequence[str], required: Sequence[str], on_read: Callable[[int], None]
) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; the header is checked first."""
    with path.open("rb") as raw:
        text = io.TextIOWrapper(
            io.BufferedReader(_CountingReader(raw, on_read)),
            encoding="utf-8-sig",
            newline="",
            errors="surrogateescape",  # bytes that are not UTF-8 are reported by line below
        )
        reader = csv.reader(text)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except csv.Error as err:
            raise FileHeaderError(f"{path}: line 1: cannot be read as CSV: {err}") from None
        except StopIteration:
            raise FileHeaderError(
                f"{path}: the file is empty; expected a header row: " + ",".join(columns)
            ) from None
        if any(_NOT_UTF8.search(h) for h in header):
            raise FileHeaderError(f"{path}: line 1: is not UTF-8 text; save the file as UTF-8")
        missing = [c for c in required if c not in header]
        unknown = [h for h in header if h not in columns]
        if missing or unknown:
            parts = []
            if missing:
                parts.append("missing columns: " + ", ".join(missing))
            if unknown:
                parts.append("unknown columns: " + ", ".join(unknown))
            raise FileHeaderError(
                f"{path}: line 1: " + "; ".join(parts) + "; expected columns: " + ",".join(columns)
            )
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # e.g. a cell over the csv module's 128 KiB limit
                yield reader.line_num, {"__shape__": f"cannot be read as CSV: {err}"}
                continue
            line = reader.line_num
            if any(_NOT_UTF8.search(cell) for cell in row):
                yield line, {"__shape__": "is not UTF-8 text; save the file as UTF-8"}
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                yield line, {"__shape__": f"has {len(row)} cells; the header has {len(header)}"}
                continue
            yield line, dict(zip(header, row, strict=True))


def _parsed(
    rows: Iterator[tuple[int, dict[str, str]]],
    validate: Callable[[Mapping[str, object]], T | list[FieldError]],
) -> Iterator[tuple[int, dict[str, str], T | list[FieldError]]]:
    for line, row in rows:
        if "__shape__" in row:
            yield line, row, [FieldError("row", row["__shape__"])]
        else:
            yield line, row, validate(row)


def _one_per_line(
    bad: list[tuple[int, dict[str, str], RowError]],
) -> Iterator[tuple[int, dict[str, str], RowError]]:
    by_line: dict[int, tuple[int, dict[str, str], RowError]] = {}
    for line, row, err in bad:
        merged = err
        if line in by_line:
            first = by_line[line][2]
            merged = RowError(line, first.column, f"{first.message}; {err.column}: {err.message}")
        by_line[line] = (line, row, merged)
    return iter(by_line.values())


class _Importer(Generic[T]):
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        path: Path,
        *,
        skip_invalid: bool,
        on_error: Callable[[RowError], None],
        on_progress: Callable[[int], None],
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.path = path
        self.skip_invalid = skip_invalid
        self.on_error = on_error
        self.on_progress = on_progress
        self.result = ImportResult()

    # what differs between leads and actions
    columns: Sequence[str]
    required: Sequence[str]

    def validate(self, fields: Mapping[str, object]) -> T | list[FieldError]:
        raise NotImplementedError

    def check_batch(
        self,
        batch: list[tuple[int, dict[str, str], T]],  # noqa: ARG002 (overridden where the database is asked)
    ) -> list[tuple[int, FieldError]]:
        """Problems only the database can see (index in batch, problem)."""
        return []

    def write_batch(self, items: list[T]) -> tuple[int, int]:
        """Writes; returns (added, already present)."""
        raise NotImplementedError

    def _stream(self) -> Iterator[tuple[int, dict[str, str], T | list[FieldError]]]:
        return _parsed(
            _rows(self.path, self.columns, self.required, self.on_progress), self.validate
        )

    def _batches(
        self,
    ) -> Iterator[
        tuple[list[tuple[int, dict[str, str], T]], list[tuple[int, dict[str, str], RowError]]]
    ]:
        good: list[tuple[int, dict[str, str], T]] = []
        bad: list[tuple[int, dict[str, str], RowError]] = []
        for line, row, parsed in self._stream():
            self.result.rows += 1
            if isinstance(parsed, list):
                bad.extend((line, row, RowError(line, e.field, e.message)) for e in parsed)
            else:
                good.append((line, row, parsed))
            if len(good) >= BATCH:
                yield self._checked(good, bad)
                good, bad = [], []
        yield self._checked(good, bad)

    def _checked(
        self,
        good: list[tuple[int, dict[str, str], T]],
        bad: list[tuple[int, dict[str, str], RowError]],
    ) -> tuple[list[tuple[int, dict[str, str], T]], list[tuple[int, dict[str, str], RowError]]]:
        problems = self.check_batch(good) if good else []
        if problems:
            failing = {i for i, _ in problems}
            bad = bad + [
                (good[i][0], good[i][1], RowError(good[i][0], e.field, e.message))
                for i, e in problems
            ]
            good = [g for i, g in enumerate(good) if i not in failing]
        bad.sort(key=lambda b: b[0])
        return good, bad

    def run(self) -> ImportResult:
        bad_lines: set[int] = set()
        try:
            for _good, bad in self._batches():  # pass 1: check everything, write nothing
                for line, _row, problem in bad:
                    bad_lines.add(line)
                    if len(self.result.errors) < 1000:  # the rest go to on_error only
                        self.result.errors.append(problem)
                    self.on_error(problem)
        except FileHeaderError as err:
            self.result.header_error = str(err)
            return self.result
        self.result.bad_rows = len(bad_lines)
        if bad_lines and not self.skip_invalid:
            return self.result
        rows_seen = self.result.rows
        self.result.rows = 0
        rejects = None
        writer = None
        if bad_lines:
            self.result.rejects_file = self.path.with_name(self.path.stem + ".rejected.csv")
            rejects = self.result.rejects_file.open("w", encoding="utf-8", newline="")
            writer = csv.writer(rejects)
            writer.writerow(["line", *self.columns, "error"])
        try:
            for good, bad in self._batches():  # pass 2: write the good rows
                if good:
                    added, present = self.write_batch([item for _, _, item in good])
                    self.result.added += added
                    self.result.already_present += present
                if writer is not None:
                    writer.writerows(self._reject_rows(bad))
        finally:
            if rejects is not None:
                rejects.close()
        self.result.rows = rows_seen
        self.result.imported = True
        if self.result.added:
            with writing(self.engine) as conn:
                repo.refresh_statistics(conn)
        return self.result

    def _reject_rows(self, bad: list[tuple[int, dict[str, str], RowError]]) -> list[list[object]]:
        """One row per bad line: its number, its cells as given, and every reason."""
        out: list[list[object]] = []
        for line, cells, problem in _one_per_line(bad):
            given: list[str] = [cells.get(c, "") for c in self.columns]
            out.append([line, *given, f"{problem.column}: {problem.message}"])
        return out


class LeadImporter(_Importer[LeadInput]):
    columns = LEAD_COLUMNS
    required = LEAD_REQUIRED

    def validate(self, fields: Mapping[str, object]) -> LeadInput | list[FieldError]:
        return validate_lead(fields, self.settings.team_names)

    def write_batch(self, items: list[LeadInput]) -> tuple[int, int]:
        with writing(self.engine) as conn:
            created = ingest_leads(conn, self.settings, items, self.clock.now())
        return len(created), len(items) - len(created)


class ActionImporter(_Importer[ActionInput]):
    columns = ACTION_COLUMNS
    required = ACTION_REQUIRED

    def validate(self, fields: Mapping[str, object]) -> ActionInput | list[FieldError]:
        return validate_action(fields)

    def check_batch(
        self, batch: list[tuple[int, dict[str, str], ActionInput]]
    ) -> list[tuple[int, FieldError]]:
        with self.engine.connect() as conn:
            _, errors = check_actions(conn, [item for _, _, item in batch])
        return errors

    def write_batch(self, items: list[ActionInput]) -> tuple[int, int]:
        with writing(self.engine) as conn:
            outcome = record_actions(conn, self.settings, items, self.clock.now(), via="csv")
        return outcome.recorded, outcome.already_recorded

"""CSV import: check the whole file first, then write it in one transaction.

The file is read once, row by row, in constant memory: each row is checked for everything
its write will ask (the fields, the supported instants, the SLA deadline) and, if good,
staged in a temporary table of the import's connection with what its write needs (the
deadline and first reminder, an action's idempotency key; `storage.imports`). What only
the whole file or the database can tell is then asked of the staged rows at once: a lead
named twice with different data, the lead an action is about. Every problem is reported
by line, in line order. Nothing is written while any row is bad, unless the caller asks
to skip bad rows; then they go to a file beside the input, as they were read (a second
reading), with the reason, for fixing and re-importing. The write is a few set-based
statements in one transaction: a write that fails all the same (the database refuses a
row) rolls the whole import back, and one killed midway leaves nothing (its temporary
tables go with its session). Re-importing adds nothing: leads are keyed on (source,
external_id), actions on a digest of what they say.

Files are UTF-8 (with or without a byte order mark) or CP932, the Shift_JIS that Excel
in Japan saves: the caller names one, or the file's bytes decide (UTF-8 if they are
UTF-8, else CP932 if they are CP932, else UTF-8 and the lines that are not are bad).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, NamedTuple

from bot.app.actions import action_key, before_handoff, no_lead
from bot.app.fields import (
    ACTION_COLUMNS,
    ACTION_REQUIRED,
    LEAD_COLUMNS,
    LEAD_REQUIRED,
    FieldError,
    lead_values,
    parse_instant,
    validate_action,
)
from bot.app.handoffs import lead_schedule
from bot.app.teams import team_ids
from bot.clock import Clock
from bot.config import Settings
from storage import imports as imports_store
from storage import repository as repo
from storage.engine import Connection, DatabaseError, Engine, begin_writing, writing

BATCH = 2000  # good rows handed to the stage at a time
REASONS_KEPT = 10_000  # reasons as written whose catalog entry is remembered
VIA = "csv"  # what an imported action's `via` says, and its idempotency key's origin

ENCODINGS = {"utf-8": "UTF-8", "cp932": "CP932 (Shift_JIS)"}


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
    encoding: str | None = None  # a key of ENCODINGS
    encoding_detected: bool = False
    write_error: str | None = None  # the write failed and was rolled back


# what errors="surrogateescape" makes of each byte the encoding cannot read
_UNDECODED = re.compile("[\udc80-\udcff]")


class FileHeaderError(ValueError):
    pass


class _FileChangedError(Exception):
    """The second reading found a bad row the first did not: the file changed."""


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


# what Python's cp932 makes of the bytes Windows leaves undefined (0x80, 0xA0, 0xFD-0xFF):
# text from Excel never has them, so a file that needs them is not CP932
_NOT_CP932 = re.compile("[\x80\uf8f0-\uf8f3]")


def _is_cp932(raw: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("cp932")()
    try:
        while chunk := raw.read(1 << 20):
            if _NOT_CP932.search(decoder.decode(chunk)):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path) -> str:
    """ "utf-8" if every line is UTF-8 (a BOM or not); else "cp932" if the file is CP932
    and most of its non-ASCII lines are not UTF-8; else "utf-8", and its lines that are
    not UTF-8 are reported as bad (a UTF-8 file with one stray byte is not read as
    CP932: its other lines would become nonsense). Streams the file."""
    utf8 = not_utf8 = 0
    with path.open("rb") as raw:
        # a megabyte at a time, up to the end of a line; only a block that is not all
        # ASCII is looked at line by line
        while block := raw.read(1 << 20):
            if not block.endswith(b"\n"):
                block += raw.readline(1 << 22)
            if block.isascii():
                continue
            for line in block.split(b"\n"):
                if line.isascii():
                    continue
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    not_utf8 += 1
                else:
                    utf8 += 1
        if not_utf8 == 0:
            return "utf-8"
        raw.seek(0)
        if not_utf8 > utf8 and _is_cp932(raw):
            return "cp932"
    return "utf-8"


class _Record(NamedTuple):
    """One CSV record: its (last) line number, its text exactly as read (undecodable
    bytes kept as surrogate escapes, line ending included; "" unless asked for), and its
    cells by column or why it has none. (A tuple: a million of them are made.)"""

    line: int
    raw: str
    cells: dict[str, str] | None
    problem: str | None = None


@dataclass
class _Header:
    raw: str = ""
    bom: bool = False


def _without_line_end(text: str) -> tuple[str, str]:
    for end in ("\r\n", "\n", "\r"):
        if text.endswith(end):
            return text[: -len(end)], end
    return text, "\n"


def _records(
    path: Path,
    *,
    encoding: str,
    columns: Sequence[str],
    required: Sequence[str],
    on_read: Callable[[int], None],
    header_out: _Header,
    keep_text: bool,
) -> Iterator[_Record]:
    """Each data record; the header is checked first."""
    label = ENCODINGS[encoding]
    with path.open("rb") as raw:
        header_out.bom = raw.read(3) == codecs.BOM_UTF8
        raw.seek(0)
        text = io.TextIOWrapper(
            io.BufferedReader(_CountingReader(raw, on_read)),
            encoding="utf-8-sig" if encoding == "utf-8" else encoding,
            newline="",
            errors="surrogateescape",  # bytes that do not decode are reported by line below
        )
        consumed: list[str] = []  # the physical lines of the record being read

        def lines() -> Iterator[str]:
            for line in text:
                consumed.append(line)
                yield line

        # keeping the text costs a Python step a line: only a reading that needs it does
        reader = csv.reader(lines() if keep_text else text)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except csv.Error as err:
            raise FileHeaderError(f"{path}: line 1: cannot be read as CSV: {err}") from None
        except StopIteration:
            raise FileHeaderError(
                f"{path}: the file is empty; expected a header row: " + ",".join(columns)
            ) from None
        header_out.raw = "".join(consumed)
        consumed.clear()
        if any(_UNDECODED.search(h) for h in header):
            raise FileHeaderError(
                f"{path}: line 1: is not {label} text; save the file as UTF-8 or CP932"
            )
        _check_header(path, header, columns, required)
        width = len(header)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as err:  # e.g. a cell over the csv module's 128 KiB limit
                yield _Record(
                    reader.line_num, _take(consumed), None, f"cannot be read as CSV: {err}"
                )
                continue
            line, record = reader.line_num, _take(consumed) if keep_text else ""
            joined = "".join(row)  # one look at a row, not one at each cell
            if not joined.isascii() and _UNDECODED.search(joined):
                problem = f"is not {label} text; save the file as UTF-8 or CP932"
                if encoding == "utf-8":
                    problem += " (or pass --encoding cp932)"
                yield _Record(line, record, None, problem)
                continue
            if not joined.strip():  # every cell blank
                continue
            if len(row) != width:
                problem = f"has {len(row)} cells; the header has {width}"
                yield _Record(line, record, None, problem)
                continue
            yield _Record(line, record, dict(zip(header, row, strict=True)))


def _take(consumed: list[str]) -> str:
    text = "".join(consumed)
    consumed.clear()
    return text


def _check_header(
    path: Path, header: list[str], columns: Sequence[str], required: Sequence[str]
) -> None:
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h not in columns]
    twice = sorted({h for h in header if header.count(h) > 1 and h in columns})
    if missing or unknown or twice:
        parts = []
        if missing:
            parts.append("missing columns: " + ", ".join(missing))
        if unknown:
            parts.append("unknown columns: " + ", ".join(unknown))
        if twice:
            parts.append("columns named more than once: " + ", ".join(twice))
        raise FileHeaderError(
            f"{path}: line 1: "
            + "; ".join(parts)
            + "; expected each of these columns at most once: "
            + ",".join(columns)
        )


def _csv_cell(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _encoded(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding, errors="surrogateescape")  # undecoded bytes, as read
    except UnicodeEncodeError:
        return text.encode(encoding, errors="replace")


class _Rejects:
    """FILE.rejected.csv: the header as read with `line` before and `error` after it, then
    one row per bad record: its line number, its text exactly as read (byte for byte, in
    the file's own encoding, undecodable bytes included), and every reason, last."""

    def __init__(self, path: Path, encoding: str, header: _Header) -> None:
        self.path = path
        self.encoding = encoding
        self.out = path.open("wb")
        body, end = _without_line_end(header.raw)
        bom = codecs.BOM_UTF8 if header.bom and encoding == "utf-8" else b""
        self.out.write(bom + b"line," + _encoded(body, encoding) + b",error" + end.encode())

    def write(self, line: int, record: str, reason: str) -> None:
        body, end = _without_line_end(record)
        self.out.write(
            f"{line},".encode()
            + _encoded(body, self.encoding)
            + b","
            + _encoded(_csv_cell(reason), self.encoding)
            + end.encode()
        )

    def close(self) -> None:
        self.out.close()


class _Importer:
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
        encoding: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.path = path
        self.skip_invalid = skip_invalid
        self.on_error = on_error
        self.on_progress = on_progress
        self.result = ImportResult()
        if encoding is not None and encoding not in ENCODINGS:
            raise ValueError(f"encoding: {encoding!r}; expected one of {', '.join(ENCODINGS)}")
        self.encoding = encoding
        self.header = _Header()
        self.keep_text = False  # only the rejects file needs each record's text as read
        self.now = clock.now()

    # what differs between leads and actions
    columns: Sequence[str]
    required: Sequence[str]

    def stage(self, conn: Connection) -> imports_store.LeadStage | imports_store.ActionStage:
        raise NotImplementedError

    def row(self, line: int, cells: Mapping[str, str]) -> tuple[Any, ...] | list[FieldError]:
        """The row to stage for a record, or every problem it has on its own."""
        raise NotImplementedError

    def across_rows(self, stage: Any) -> Iterator[RowError]:
        """Problems between rows, or with what is stored, once every row is staged."""
        raise NotImplementedError

    def write(self, conn: Connection, stage: Any) -> int:
        """Writes the staged rows; returns how many were added."""
        raise NotImplementedError

    def _read(self) -> Iterator[_Record]:
        assert self.result.encoding is not None
        return _records(
            self.path,
            encoding=self.result.encoding,
            columns=self.columns,
            required=self.required,
            on_read=self.on_progress,
            header_out=self.header,
            keep_text=self.keep_text,
        )

    def _check(self, stage: imports_store.LeadStage | imports_store.ActionStage) -> None:
        """The one full reading: every row checked; the good ones staged, the problems of
        the others noted by line."""
        rows: list[tuple[Any, ...]] = []
        row = self.row
        for record in self._read():
            self.result.rows += 1
            cells = record.cells
            parsed = (
                [FieldError("row", record.problem or "cannot be read")]
                if cells is None
                else row(record.line, cells)
            )
            if isinstance(parsed, list):
                for problem in parsed:
                    stage.problem(record.line, problem.field, problem.message)
                continue
            rows.append(parsed)
            if len(rows) >= BATCH:
                stage.add(rows)
                rows = []
        stage.add(rows)
        stage.finish()
        for found in self.across_rows(stage):
            stage.problem(found.line, found.column, found.message)
        stage.finish()

    def _report(self, problem: RowError) -> None:
        if len(self.result.errors) < 1000:  # the rest go to on_error only
            self.result.errors.append(problem)
        self.on_error(problem)

    def run(self) -> ImportResult:
        if self.encoding is None:
            self.result.encoding = detect_encoding(self.path)
            self.result.encoding_detected = True
        else:
            self.result.encoding = self.encoding
        before = self.path.stat()
        try:
            with self.engine.connect() as conn:
                with conn.begin():
                    stage = self.stage(conn)
                try:
                    self._check_and_report(conn, stage)
                    if not self.result.bad_rows or self.skip_invalid:
                        self._write(conn, stage, before)
                        self.result.imported = True
                finally:
                    _drop(conn, stage)
        except FileHeaderError as err:
            self.result.header_error = str(err)
            return self.result
        except (DatabaseError, ValueError, ArithmeticError, OSError, _FileChangedError) as err:
            # everything this import wrote was rolled back with its transaction, and what
            # it staged went with its temporary tables
            self.result.imported = False
            self.result.write_error = _one_line(err)
            self.result.added = self.result.already_present = 0
            if self.result.rejects_file is not None:
                self.result.rejects_file.unlink(missing_ok=True)
                self.result.rejects_file = None
            return self.result
        if not self.result.imported:
            return self.result
        self.on_progress(before.st_size)  # the second half of the bar: the write
        if self.result.added:
            with writing(self.engine) as conn:
                repo.refresh_statistics(conn)
        return self.result

    def _check_and_report(
        self, conn: Connection, stage: imports_store.LeadStage | imports_store.ActionStage
    ) -> None:
        """Pass 1, then every problem reported by line, and the bad lines counted."""
        with conn.begin():  # stages the rows; writes nothing of ours
            try:
                self._check(stage)
            except BaseException as err:
                stage.abandon(err)
                raise
        with conn.begin():
            for line, column, message in stage.report():
                self._report(RowError(line, column, message))
            self.result.bad_rows = stage.bad_lines()

    def _write(
        self,
        conn: Connection,
        stage: imports_store.LeadStage | imports_store.ActionStage,
        before: os.stat_result,
    ) -> None:
        """The good rows, in one transaction; the bad ones to the rejects file."""
        with begin_writing(conn):
            good = stage.set_aside_bad() if self.result.bad_rows else stage.staged
            if self.result.bad_rows:
                self._write_rejects(stage, before)
            added = self.write(conn, stage)
        self.result.added = added
        self.result.already_present = good - added

    def _write_rejects(
        self, stage: imports_store.LeadStage | imports_store.ActionStage, before: os.stat_result
    ) -> None:
        """FILE.rejected.csv: each bad record as read, with every reason, from a second
        reading of the file matched line by line with the problems in their table."""
        assert self.result.encoding is not None
        changed = _FileChangedError(f"{self.path} changed while it was imported")
        now = self.path.stat()
        if (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise changed
        self.result.rejects_file = path = self.path.with_name(self.path.stem + ".rejected.csv")
        self.keep_text = True
        rejects = None
        try:
            bad = _reasons_by_line(stage.report())
            line, reason = next(bad)
            for record in self._read():
                if record.line < line:
                    continue
                if record.line > line:  # the line of a problem is no longer a record
                    raise changed
                if rejects is None:  # the header is read by now
                    rejects = _Rejects(path, self.result.encoding, self.header)
                rejects.write(record.line, record.raw, reason)
                found = next(bad, None)
                if found is None:
                    return
                line, reason = found
            raise changed  # problems beyond the end of the file
        finally:
            if rejects is not None:
                rejects.close()


def _drop(
    conn: Connection, stage: imports_store.LeadStage | imports_store.ActionStage | None
) -> None:
    """The import's temporary tables go; a connection that cannot drop them is not
    given back to the pool with them."""
    if stage is None:
        return
    try:
        with conn.begin():
            stage.drop()
    except DatabaseError:
        conn.invalidate()


def _reasons_by_line(problems: Iterator[tuple[int, str, str]]) -> Iterator[tuple[int, str]]:
    """Each line once, with every reason: "column: message; column: message"."""
    current: tuple[int, str] | None = None
    for line, column, message in problems:
        reason = f"{column}: {message}"
        if current is not None and current[0] == line:
            current = (line, f"{current[1]}; {reason}")
            continue
        if current is not None:
            yield current
        current = (line, reason)
    if current is not None:
        yield current


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _conflicts(keys: Iterator[tuple[str, str, int]]) -> Iterator[RowError]:
    """A problem on every line of a lead named on several lines with different data, from
    (source, external_id, line) by key then line, holding at most 11 lines at a time."""

    def message(source: str, external_id: str, lines: list[int], more: bool) -> str:
        shown = ", ".join(map(str, lines[:10])) + (", ..." if more else "")
        return (
            f'lead "{external_id}" from source "{source}" is on lines {shown} with '
            "different data; keep one row per lead (identical rows are one lead)"
        )

    key: tuple[str, str] | None = None
    held: list[int] = []
    said: str | None = None  # the key's message, once more than ten of its lines are seen
    for source, external_id, line in keys:
        if (source, external_id) != key:
            if key is not None and said is None:
                said = message(*key, held, more=False)
                yield from (RowError(n, "external_id", said) for n in held)
            key, held, said = (source, external_id), [], None
        if said is not None:
            yield RowError(line, "external_id", said)
            continue
        held.append(line)
        if len(held) > 10:
            said = message(source, external_id, held, more=True)
            yield from (RowError(n, "external_id", said) for n in held)
    if key is not None and said is None:
        said = message(*key, held, more=False)
        yield from (RowError(n, "external_id", said) for n in held)


class LeadImporter(_Importer):
    columns = LEAD_COLUMNS
    required = LEAD_REQUIRED

    def stage(self, conn: Connection) -> imports_store.LeadStage:
        return imports_store.LeadStage(conn)

    def row(self, line: int, cells: Mapping[str, str]) -> imports_store.LeadRow | list[FieldError]:
        values = lead_values(cells, self.settings.team_names)
        if isinstance(values, list):
            return values
        source, external_id, handed, team_name, owner, name, company, email, campaign = values
        team = self.settings.team(team_name)
        assert team is not None  # lead_values refused unknown teams
        try:
            due, first = lead_schedule(team, handed, self.now)
        except (ValueError, ArithmeticError) as err:
            return [FieldError("handed_off_at", f"no SLA deadline can be computed from it: {err}")]
        return (
            line,
            source,
            external_id,
            handed,
            team_name,
            owner,
            name,
            company,
            email,
            campaign,
            due,
            first.at if first else None,
            first.stage.value if first else None,
            hash((source, external_id)),
            # the rest of what the row says; the same instant written with another offset
            # is equal, and hashes alike
            hash(values[2:]),
        )

    def across_rows(self, stage: imports_store.LeadStage) -> Iterator[RowError]:
        """A lead named twice with different data: every line of it is bad (which one is
        right is not ours to guess). The same data twice is one lead."""
        return _conflicts(stage.conflicts())

    def write(self, conn: Connection, stage: imports_store.LeadStage) -> int:
        team_ids(conn, self.settings, self.now)
        return stage.write(self.now)


class ActionImporter(_Importer):
    columns = ACTION_COLUMNS
    required = ACTION_REQUIRED

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasons: dict[str, tuple[str, bool]] = {}  # as written -> (code, excludes)

    def stage(self, conn: Connection) -> imports_store.ActionStage:
        return imports_store.ActionStage(conn)

    def row(
        self, line: int, cells: Mapping[str, str]
    ) -> imports_store.ActionRow | list[FieldError]:
        action = validate_action(cells)
        if isinstance(action, list):
            return action
        code, excludes = None, False
        if action.reason:
            known = self.reasons.get(action.reason)
            if known is None:
                reason = self.settings.reason(action.reason)
                known = (reason.code, reason.excludes) if reason else (action.reason, False)
                if len(self.reasons) >= REASONS_KEPT:  # free text: as many as rows
                    self.reasons.clear()
                self.reasons[action.reason] = known
            code, excludes = known
        key = action_key(action, VIA)
        return (
            line,
            action.source,
            action.external_id,
            action.at,
            cells["at"].strip(),
            action.kind.value,
            action.channel,
            code,
            excludes,
            action.actor_email,
            action.new_owner_email,
            key,
            hash(key),
        )

    def across_rows(self, stage: imports_store.ActionStage) -> Iterator[RowError]:
        """What only the database can tell: the lead exists, and was handed off before."""
        for line, source, external_id, at_text, handed in stage.without_lead():
            if handed is None:
                problem = no_lead(source, external_id)
            else:
                problem = before_handoff(parse_instant(at_text), handed)
            yield RowError(line, problem.field, problem.message)

    def write(self, conn: Connection, stage: imports_store.ActionStage) -> int:  # noqa: ARG002
        return stage.write(self.now, VIA)

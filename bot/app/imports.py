"""CSV import: check the whole file first, then write it in one transaction.

The file is read again rather than held in memory, so a million rows import in constant
memory. The check asks of every row everything its write will ask (the fields, the
supported instants, the SLA deadline, the lead an action is about, a lead named twice
with different data), so that a file is imported whole or not at all. Nothing is
written while any row is bad, unless the caller asks to skip bad rows; then they go to a
file beside the input, as they were read, with the reason, for fixing and re-importing.
A write that fails all the same (the database refuses a row) rolls the whole import
back. Re-importing adds nothing: leads are keyed on (source, external_id), actions on a
digest of what they say.

Files are UTF-8 (with or without a byte order mark) or CP932, the Shift_JIS that Excel
in Japan saves: the caller names one, or the file's bytes decide (UTF-8 if they are
UTF-8, else CP932 if they are CP932, else UTF-8 and the lines that are not are bad).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import IO, BinaryIO, Generic, TypeVar

from bot.app.actions import check_actions, record_actions
from bot.app.fields import (
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
from bot.app.handoffs import ingest_leads, lead_schedule
from bot.clock import Clock
from bot.config import Settings
from storage import repository as repo
from storage.engine import Connection, DatabaseError, Engine, writing

BATCH = 2000
T = TypeVar("T", LeadInput, ActionInput)

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
        for line in iter(lambda: raw.readline(1 << 22), b""):
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


@dataclass(frozen=True)
class _Record:
    """One CSV record: its (last) line number, its text exactly as read (undecodable
    bytes kept as surrogate escapes, line ending included; "" unless asked for), and its
    cells by column or why it has none."""

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
            line, record = reader.line_num, _take(consumed)
            if _UNDECODED.search("".join(row)):  # one search a row, not one a cell
                problem = f"is not {label} text; save the file as UTF-8 or CP932"
                if encoding == "utf-8":
                    problem += " (or pass --encoding cp932)"
                yield _Record(line, record, None, problem)
                continue
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                problem = f"has {len(row)} cells; the header has {len(header)}"
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


class _Bloom:
    """Which keys were seen, in constant memory: "no" is certain, "maybe" is checked."""

    def __init__(self, bits: int) -> None:
        self.mask = bits - 1
        self.bits = bytearray(bits // 8)

    def add(self, digest: int) -> bool:
        """Sets the key's bits; True if all were set already (seen before, maybe)."""
        seen = True
        for position in (digest & self.mask, (digest >> 32) & self.mask):
            byte, bit = divmod(position, 8)
            if not self.bits[byte] & (1 << bit):
                seen = False
                self.bits[byte] |= 1 << bit
        return seen


def _digest(*parts: object) -> int:
    """64 bits of the parts, the same for equal parts within this process (Python's own
    string hash, keyed at start): cheaper than a cryptographic digest, and never kept."""
    return hash(parts)


def _bloom_bits(size: int) -> int:
    """A bit per byte of the file (about a hundred per row), between 64 Kib and 128 Mib
    (16 MiB): a few hundred false "maybe"s at a million rows, each checked."""
    bits = 1 << 16
    while bits < size and bits < 1 << 27:
        bits <<= 1
    return bits


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
        self.checking = True  # the first reading: also ask what only the write would ask
        self.keep_text = False  # only the rejects file needs each record's text as read
        self.more_bad: dict[int, RowError] = {}  # found across rows, after the first reading

    # what differs between leads and actions
    columns: Sequence[str]
    required: Sequence[str]

    def validate(self, fields: Mapping[str, object]) -> T | list[FieldError]:
        raise NotImplementedError

    def check_batch(
        self,
        conn: Connection,  # noqa: ARG002 (used where the database is asked)
        batch: list[tuple[_Record, T]],  # noqa: ARG002
    ) -> list[tuple[int, FieldError]]:
        """Problems only the database can see (index in batch, problem)."""
        return []

    def seen(self, record: _Record, item: T) -> None:  # noqa: ARG002 (overridden for leads)
        """Told of every good row of the first reading."""
        return

    def across_rows(self) -> dict[int, RowError]:
        """Problems between rows, once every row was seen (line -> problem)."""
        return {}

    def write_batch(self, conn: Connection, items: list[T]) -> tuple[int, int]:
        """Writes; returns (added, already present)."""
        raise NotImplementedError

    def _read(self, on_read: Callable[[int], None] | None = None) -> Iterator[_Record]:
        assert self.result.encoding is not None
        return _records(
            self.path,
            encoding=self.result.encoding,
            columns=self.columns,
            required=self.required,
            on_read=on_read or self.on_progress,
            header_out=self.header,
            keep_text=self.keep_text,
        )

    def _stream(self) -> Iterator[tuple[_Record, T | list[FieldError]]]:
        for record in self._read():
            if record.cells is None:
                yield record, [FieldError("row", record.problem or "cannot be read")]
            else:
                yield record, self.validate(record.cells)

    def _batches(
        self, conn: Connection
    ) -> Iterator[tuple[list[tuple[_Record, T]], list[tuple[_Record, RowError]]]]:
        good: list[tuple[_Record, T]] = []
        bad: list[tuple[_Record, RowError]] = []
        for record, parsed in self._stream():
            self.result.rows += 1
            if isinstance(parsed, list):
                bad.extend((record, RowError(record.line, e.field, e.message)) for e in parsed)
            elif record.line in self.more_bad:
                bad.append((record, self.more_bad[record.line]))
            else:
                good.append((record, parsed))
            if len(good) >= BATCH:
                yield self._checked(conn, good, bad)
                good, bad = [], []
        yield self._checked(conn, good, bad)

    def _checked(
        self,
        conn: Connection,
        good: list[tuple[_Record, T]],
        bad: list[tuple[_Record, RowError]],
    ) -> tuple[list[tuple[_Record, T]], list[tuple[_Record, RowError]]]:
        problems = self.check_batch(conn, good) if good else []
        if problems:
            failing = {i for i, _ in problems}
            bad = bad + [
                (good[i][0], RowError(good[i][0].line, e.field, e.message)) for i, e in problems
            ]
            good = [g for i, g in enumerate(good) if i not in failing]
        bad.sort(key=lambda b: b[0].line)
        return good, bad

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
        bad_lines: set[int] = set()
        try:
            with self.engine.connect() as conn:
                for good, bad in self._batches(conn):  # pass 1: check everything, write nothing
                    for record, item in good:
                        self.seen(record, item)
                    for record, problem in bad:
                        bad_lines.add(record.line)
                        self._report(problem)
        except FileHeaderError as err:
            self.result.header_error = str(err)
            return self.result
        self.more_bad = self.across_rows()
        for line in sorted(self.more_bad):
            bad_lines.add(line)
            self._report(self.more_bad[line])
        self.result.bad_rows = len(bad_lines)
        if bad_lines and not self.skip_invalid:
            return self.result
        rows_seen = self.result.rows
        self.checking = False
        try:
            self._write(bad_lines)
        except (DatabaseError, ValueError, ArithmeticError, OSError, _FileChangedError) as err:
            # everything this import wrote was rolled back with its transaction
            self.result.write_error = _one_line(err)
            self.result.added = self.result.already_present = 0
            if self.result.rejects_file is not None:
                self.result.rejects_file.unlink(missing_ok=True)
                self.result.rejects_file = None
            self.result.rows = rows_seen
            return self.result
        self.result.rows = rows_seen
        self.result.imported = True
        if self.result.added:
            with writing(self.engine) as conn:
                repo.refresh_statistics(conn)
        return self.result

    def _write(self, bad_lines: set[int]) -> None:
        """pass 2: the good rows, in one transaction; the bad ones to the rejects file."""
        self.result.rows = 0
        assert self.result.encoding is not None
        rejects = None
        if bad_lines:
            self.result.rejects_file = self.path.with_name(self.path.stem + ".rejected.csv")
            self.keep_text = True
        try:
            with writing(self.engine) as conn:
                for good, bad in self._batches(conn):
                    if good:
                        added, present = self.write_batch(conn, [item for _, item in good])
                        self.result.added += added
                        self.result.already_present += present
                    for record, reason in _one_per_line(bad):
                        if record.line not in bad_lines:
                            raise _FileChangedError(
                                f"{self.path} changed while it was imported: line "
                                f"{record.line} is now bad ({reason})"
                            )
                        if rejects is None:
                            assert self.result.rejects_file is not None
                            rejects = _Rejects(
                                self.result.rejects_file, self.result.encoding, self.header
                            )
                        rejects.write(record.line, record.raw, reason)
        finally:
            if rejects is not None:
                rejects.close()


def _one_per_line(bad: list[tuple[_Record, RowError]]) -> Iterator[tuple[_Record, str]]:
    """Each bad record once, with every reason: "column: message; column: message"."""
    by_line: dict[int, tuple[_Record, str]] = {}
    for record, err in bad:
        reason = f"{err.column}: {err.message}"
        if record.line in by_line:
            reason = f"{by_line[record.line][1]}; {reason}"
        by_line[record.line] = (record, reason)
    return iter(by_line.values())


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _conflicts(versions: dict[tuple[str, str], dict[int, list[int]]]) -> dict[int, RowError]:
    out: dict[int, RowError] = {}
    for (source, external_id), contents in versions.items():
        if len(contents) < 2:
            continue
        lines = sorted(line for group in contents.values() for line in group)
        shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
        message = (
            f'lead "{external_id}" from source "{source}" is on lines {shown} with '
            "different data; keep one row per lead (identical rows are one lead)"
        )
        for line in lines:
            out[line] = RowError(line, "external_id", message)
    return out


class LeadImporter(_Importer[LeadInput]):
    columns = LEAD_COLUMNS
    required = LEAD_REQUIRED

    bloom: _Bloom | None = None
    maybe_twice: set[int]  # set with the bloom
    keys_per_reading = 100_000  # keys in doubt checked in one reading of the file

    def validate(self, fields: Mapping[str, object]) -> LeadInput | list[FieldError]:
        lead = validate_lead(fields, self.settings.team_names)
        if isinstance(lead, list):
            return lead
        errors: list[FieldError] = []
        if self.checking:
            team = self.settings.team(lead.team)
            assert team is not None  # validate_lead refused unknown teams
            try:
                lead_schedule(team, lead.handed_off_at, self.clock.now())
            except (ValueError, ArithmeticError) as err:
                errors.append(
                    FieldError("handed_off_at", f"no SLA deadline can be computed from it: {err}")
                )
        return errors or lead

    def seen(self, record: _Record, item: LeadInput) -> None:  # noqa: ARG002
        if self.bloom is None:
            self.bloom = _Bloom(_bloom_bits(self.path.stat().st_size))
            self.maybe_twice = set()
        key = _digest(*item.key)
        if self.bloom.add(key):
            self.maybe_twice.add(key)

    def across_rows(self) -> dict[int, RowError]:
        """A lead named twice with different data: every line of it is bad (which one is
        right is not ours to guess). The same data twice is one lead."""
        if self.bloom is None or not self.maybe_twice:
            return {}
        # a third reading of the keys in doubt (only their rows are checked again); if
        # there are very many (a file with every lead twice), several readings, so that
        # the memory this takes stays bounded
        parts = -(-len(self.maybe_twice) // self.keys_per_reading)
        out: dict[int, RowError] = {}
        self.checking = False
        try:
            for part in range(parts):
                out.update(_conflicts(self._versions(part, parts)))
        finally:
            self.checking = True
        return out

    def _versions(self, part: int, parts: int) -> dict[tuple[str, str], dict[int, list[int]]]:
        """key -> content -> lines, for the keys in doubt whose digest % parts is part."""
        versions: dict[tuple[str, str], dict[int, list[int]]] = {}
        for record in self._read(on_read=lambda _: None):
            cells = record.cells
            if cells is None:
                continue
            key = (cells.get("source", "").strip(), cells.get("external_id", "").strip())
            digest = _digest(*key)
            if digest % parts != part or digest not in self.maybe_twice:
                continue
            parsed = self.validate(cells)
            if isinstance(parsed, list):
                continue
            content = _digest(
                parsed.handed_off_at.astimezone(UTC).isoformat(),
                parsed.team,
                parsed.owner_email,
                parsed.name,
                parsed.company,
                parsed.email,
                parsed.campaign,
            )
            versions.setdefault(parsed.key, {}).setdefault(content, []).append(record.line)
        return versions

    def write_batch(self, conn: Connection, items: list[LeadInput]) -> tuple[int, int]:
        created = ingest_leads(conn, self.settings, items, self.clock.now())
        return len(created), len(items) - len(created)


class ActionImporter(_Importer[ActionInput]):
    columns = ACTION_COLUMNS
    required = ACTION_REQUIRED

    def validate(self, fields: Mapping[str, object]) -> ActionInput | list[FieldError]:
        action = validate_action(fields)
        if isinstance(action, list):
            return action
        return action

    def check_batch(
        self, conn: Connection, batch: list[tuple[_Record, ActionInput]]
    ) -> list[tuple[int, FieldError]]:
        _, errors = check_actions(conn, [item for _, item in batch])
        return errors

    def write_batch(self, conn: Connection, items: list[ActionInput]) -> tuple[int, int]:
        outcome = record_actions(conn, self.settings, items, self.clock.now(), via="csv")
        return outcome.recorded, outcome.already_recorded

"""Any CSV file, however broken, is imported or refused with the bad line numbers listed:
`ignorerate import leads` exits 0 or 2 with a clean message, never with a traceback."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.fields import LEAD_COLUMNS
from bot.cli import main

CONFIG = """\
timezone: Asia/Tokyo
teams:
  - name: enterprise
    sla: {minutes: 60, business_hours: false}
    reps: [a@example.com]
"""
GOOD = ["form", "L-1", "2026-11-24T10:00:00+09:00", "enterprise", "a@example.com", "", "", "", ""]

CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(['"', '""', "\x00", "\ufeff", "\r\n", "\r", "\n", ",", "enterprise", ""]),
    st.sampled_from(GOOD),
    st.sampled_from([1000, 131_073]).map(lambda n: "x" * n),  # huge cells, one over the limit
)
ROWS = st.lists(st.lists(CELLS, min_size=0, max_size=12), max_size=8)


def _raw(header: list[str], rows: list[list[str]], bom: bool, crlf: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("csvfuzz")
    (path / "ignorerate.yml").write_text(CONFIG, encoding="utf-8")
    env = {"DATABASE_URL": f"sqlite:///{path / 'db.sqlite'}"}
    result = CliRunner().invoke(
        main, ["--config", str(path / "ignorerate.yml"), "db", "upgrade"], env=env
    )
    assert result.exit_code == 0, result.output
    return path


def _import(workdir: Path, raw: bytes) -> tuple[int, str, BaseException | None]:
    file = workdir / "leads.csv"
    file.write_bytes(raw)
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite'}"}
    result = CliRunner().invoke(
        main,
        ["--config", str(workdir / "ignorerate.yml"), "import", "leads", str(file)],
        env=env,
    )
    exc = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, exc


@settings(max_examples=60)
@given(
    header=st.one_of(
        st.just(list(LEAD_COLUMNS)),
        st.permutations(LEAD_COLUMNS).map(list),
        st.lists(st.sampled_from([*LEAD_COLUMNS, "colour", ""]), max_size=10),
    ),
    rows=ROWS,
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_random_rows_and_cells_import_or_list_the_bad_lines(
    workdir: Path, header: list[str], rows: list[list[str]], bom: bool, crlf: bool
) -> None:
    code, output, exc = _import(workdir, _raw(header, rows, bom, crlf))
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert "Traceback" not in output
    assert code in (0, 2), output
    if code == 2:
        assert "error: " in output
        assert re.search(r"line \d+|rows are bad|file is empty", output), output


@settings(max_examples=30)
@given(st.binary(max_size=300))
def test_random_bytes_after_a_good_header_are_refused_cleanly(workdir: Path, tail: bytes) -> None:
    raw = (",".join(LEAD_COLUMNS) + "\n").encode() + tail
    code, output, exc = _import(workdir, raw)
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert code in (0, 2), output
    if code == 2:
        assert "error: " in output


def test_a_cell_over_the_csv_field_limit_is_reported_with_its_line(workdir: Path) -> None:
    raw = _raw(list(LEAD_COLUMNS), [GOOD, [*GOOD[:5], "x" * 200_000, *GOOD[6:]]], False, False)
    code, output, exc = _import(workdir, raw)
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert code == 2
    assert "line 3" in output


def test_a_file_neither_utf8_nor_cp932_is_refused_with_its_line(workdir: Path) -> None:
    good = "form,L-1,2026-11-24T10:00:00+09:00,enterprise,,名前,,,\n".encode()
    raw = (",".join(LEAD_COLUMNS) + "\n").encode() + good + b"form,L-2,x,enterprise,,\x80,,,\n"
    code, output, exc = _import(workdir, raw)
    assert exc is None, f"{type(exc).__name__}: {exc}"
    assert code == 2
    assert "read as UTF-8 (detected)" in output
    assert "line 3: row: is not UTF-8 text; save the file as UTF-8 or CP932" in output


def test_a_nul_in_a_cell_is_a_bad_line_on_both_databases(tmp_path: Path, database_url: str) -> None:
    config = tmp_path / "ignorerate.yml"
    config.write_text(CONFIG, encoding="utf-8")
    file = tmp_path / "leads.csv"
    file.write_bytes(
        _raw(list(LEAD_COLUMNS), [GOOD, [*GOOD[:5], "Ha\x00nako", *GOOD[6:]]], False, False)
    )
    result = CliRunner().invoke(
        main,
        ["--config", str(config), "import", "leads", str(file)],
        env={"DATABASE_URL": database_url},
    )
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 2, result.output
    assert "line 3" in result.output
    assert "name: contains a NUL character" in result.output


NAME_BYTES = st.binary(max_size=20).filter(lambda b: not any(c in b for c in b',"\r\n'))


@settings(max_examples=40)
@given(names=st.lists(NAME_BYTES, min_size=1, max_size=8))
def test_every_row_is_imported_or_set_aside_byte_for_byte(
    workdir: Path, names: list[bytes]
) -> None:
    lines = [
        b"form,F-%d,2026-11-24T10:00:00+09:00,enterprise,,%s,,," % (i, name)
        for i, name in enumerate(names)
    ]
    raw = (",".join(LEAD_COLUMNS) + "\n").encode() + b"".join(line + b"\n" for line in lines)
    rejects = workdir / "leads.rejected.csv"
    rejects.unlink(missing_ok=True)
    file = workdir / "leads.csv"
    file.write_bytes(raw)
    result = CliRunner().invoke(
        main,
        [
            "--config",
            str(workdir / "ignorerate.yml"),
            "import",
            "leads",
            str(file),
            "--skip-invalid",
            "--encoding",
            "utf-8",
        ],
        env={"DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite'}"},
    )
    assert result.exit_code == 0, result.output

    def bad(name: bytes) -> bool:
        try:
            return "\x00" in name.decode("utf-8")
        except UnicodeDecodeError:
            return True

    expected = [(i + 2, line) for i, line in enumerate(lines) if bad(names[i])]
    if not expected:
        assert not rejects.exists()
        return
    written = rejects.read_bytes().split(b"\n")
    assert written[0] == b"line," + ",".join(LEAD_COLUMNS).encode() + b",error"
    assert len(written) == len(expected) + 2  # the header, the rows, "" after the last
    for (number, line), row in zip(expected, written[1:], strict=False):
        assert row.startswith(b"%d," % number + line + b",")

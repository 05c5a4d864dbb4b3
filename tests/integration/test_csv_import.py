"""`ignorerate import`: all or nothing, supported instants only, UTF-8 or CP932, honest
reject files; on SQLite and PostgreSQL through the real command line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from bot.app.imports import BATCH, LeadImporter, RowError
from bot.cli import main
from bot.clock import FixedClock
from bot.config import parse_settings
from storage.engine import make_engine
from storage.tables import Action, Lead, LeadOwner, Rep

CONFIG = """\
timezone: Asia/Tokyo
locale: en
teams:
  - name: enterprise
    timezone: Asia/Tokyo
    sla: {minutes: 240, business_hours: true}
    business_hours: {mon-fri: "09:00-18:00"}
    reps: [a@example.com]
"""
LEADS_HEADER = "source,external_id,handed_off_at,team,owner_email,name,company,email,campaign\n"
ACTIONS_HEADER = "source,external_id,at,kind,actor_email,reason,new_owner_email\n"
GOOD_ROWS = BATCH + 500  # a second batch: a failure after the first one was written


def lead_row(i: int, handed: str = "2026-10-05T09:00:00+09:00", team: str = "enterprise") -> str:
    return f"web,L-{i},{handed},{team},rep{i % 7}@example.com,Name {i},,,\n"


def action_row(i: int, reason: str = "") -> str:
    return f"web,L-{i},2026-10-05T10:00:00+09:00,contacted:call,a@example.com,{reason},\n"


class Cli:
    def __init__(self, tmp_path: Path, database_url: str) -> None:
        self.dir = tmp_path
        self.config = tmp_path / "ignorerate.yml"
        self.config.write_text(CONFIG, encoding="utf-8")
        self.env = {"DATABASE_URL": database_url, "IGNORERATE_CONFIG": str(self.config)}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def file(self, name: str, content: str | bytes) -> Path:
        path = self.dir / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path, database_url)


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def count(engine: Engine, table: type[Lead] | type[Action] | type[LeadOwner] | type[Rep]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table.__table__)).scalar_one())


def lead_keys(engine: Engine, source: str) -> set[str]:
    column = Lead.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(column.external_id).where(column.source == source))
        return {str(r) for (r,) in rows}


# ------------------------------------------------------------------ supported instants


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00"])
def test_an_out_of_range_handoff_is_a_listed_bad_row_and_nothing_is_imported(
    cli: Cli, db: Engine, moment: str
) -> None:
    rows = [lead_row(i) for i in range(GOOD_ROWS)]
    rows.insert(2400, lead_row(99_999, handed=moment))
    result = cli("import", "leads", str(cli.file("leads.csv", LEADS_HEADER + "".join(rows))))
    assert result.exit_code == 2, result.output
    assert (
        f"line 2402: handed_off_at: {moment} is outside the supported range "
        "(from 1970-01-01T00:00:00Z up to, not including, 2100-01-01T00:00:00Z)"
    ) in result.output
    assert "nothing was imported" in result.output
    assert count(db, Lead) == 0


def test_an_out_of_range_handoff_is_set_aside_with_skip_invalid(cli: Cli, db: Engine) -> None:
    text_ = LEADS_HEADER + lead_row(1) + lead_row(2, handed="2100-01-01T00:00:00Z") + lead_row(3)
    result = cli("import", "leads", str(cli.file("leads.csv", text_)), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "3 rows, 2 added, 0 already present, 1 bad" in result.output
    assert lead_keys(db, "web") == {"L-1", "L-3"}


def test_an_out_of_range_action_is_a_listed_bad_row(cli: Cli, db: Engine) -> None:
    assert (
        cli("import", "leads", str(cli.file("leads.csv", LEADS_HEADER + lead_row(1)))).exit_code
        == 0
    )
    rows = ACTIONS_HEADER + (
        action_row(1) + "web,L-1,9999-12-31T23:59:59+00:00,contacted:email,a@example.com,,\n"
    )
    result = cli("import", "actions", str(cli.file("actions.csv", rows)))
    assert result.exit_code == 2, result.output
    assert "line 3: at: 9999-12-31T23:59:59+00:00 is outside the supported range" in result.output
    assert count(db, Action) == 0


def test_a_team_whose_deadlines_cannot_be_computed_stops_the_import_before_any_row(
    cli: Cli, db: Engine
) -> None:
    """1,000 business minutes at one minute a week: more than the ten years a deadline may
    take. The config refuses such a team at start, so no import can reach a row whose
    deadline cannot be computed (the import's own check of each deadline stays, as a
    second line)."""
    cli.config.write_text(
        CONFIG
        + """\
  - name: trickle
    timezone: Asia/Tokyo
    sla: {minutes: 1000, business_hours: true}
    business_hours: {mon: "09:00-09:01"}
""",
        encoding="utf-8",
    )
    rows = [lead_row(i) for i in range(GOOD_ROWS)]
    rows.insert(2400, lead_row(99_999, team="trickle"))
    result = cli("import", "leads", str(cli.file("leads.csv", LEADS_HEADER + "".join(rows))))
    assert result.exit_code != 0, result.output
    assert "teams[1].sla.minutes: 1000 business minutes do not fit" in result.output
    assert "Traceback" not in result.output
    assert count(db, Lead) == 0


# ------------------------------------------------------------------ a write that fails


@pytest.fixture
def refusing(db: Engine) -> Iterator[Engine]:
    """A trigger that refuses one row, as a database may (a constraint, a full disk): the
    test fails a write on purpose, with nothing of ours patched."""
    sqlite = db.dialect.name == "sqlite"
    with db.begin() as conn:
        for table, condition in (
            ("leads", "external_id = 'L-2400'"),
            ("actions", "reason = 'refused-on-purpose'"),
        ):
            if sqlite:
                conn.execute(
                    text(
                        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                        f"WHEN NEW.{condition} BEGIN SELECT RAISE(ABORT, 'refused on purpose'); END"
                    )
                )
            else:
                conn.execute(
                    text(
                        f"CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        f"BEGIN IF NEW.{condition} THEN RAISE EXCEPTION 'refused on purpose'; "
                        "END IF; RETURN NEW; END $$"
                    )
                )
                conn.execute(
                    text(
                        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                        f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
                    )
                )
    yield db
    with db.begin() as conn:
        for table in ("leads", "actions"):
            conn.execute(
                text(f"DROP TRIGGER IF EXISTS refuse_{table}" + ("" if sqlite else f" ON {table}"))
            )
            if not sqlite:
                conn.execute(text(f"DROP FUNCTION IF EXISTS refuse_{table}()"))


def test_a_lead_write_failing_in_the_second_batch_rolls_back_the_whole_import(
    cli: Cli, refusing: Engine
) -> None:
    rows = "".join(lead_row(i) for i in range(GOOD_ROWS))
    result = cli("import", "leads", str(cli.file("leads.csv", LEADS_HEADER + rows)))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "writing failed, and everything this import wrote was rolled back" in result.output
    assert "refused on purpose" in result.output
    for table in (Lead, LeadOwner, Rep):
        assert count(refusing, table) == 0, table


def test_a_failed_write_with_skip_invalid_leaves_no_reject_file(cli: Cli, refusing: Engine) -> None:
    rows = "".join(lead_row(i) for i in range(GOOD_ROWS)) + lead_row(1, handed="soon")
    result = cli(
        "import", "leads", str(cli.file("leads.csv", LEADS_HEADER + rows)), "--skip-invalid"
    )
    assert result.exit_code == 1, result.output
    assert count(refusing, Lead) == 0
    assert not (cli.dir / "leads.rejected.csv").exists()


def test_an_action_write_failing_in_the_second_batch_rolls_back_the_whole_import(
    cli: Cli, refusing: Engine
) -> None:
    leads = "".join(lead_row(i) for i in range(GOOD_ROWS) if i != 2400)
    assert cli("import", "leads", str(cli.file("leads.csv", LEADS_HEADER + leads))).exit_code == 0
    actions = [action_row(i) for i in range(GOOD_ROWS) if i != 2400]
    actions[2300] = action_row(2300, reason="refused-on-purpose")
    result = cli(
        "import", "actions", str(cli.file("actions.csv", ACTIONS_HEADER + "".join(actions)))
    )
    assert result.exit_code == 1, result.output
    assert "rolled back" in result.output
    assert count(refusing, Action) == 0
    first = Lead.__table__.c.first_action_at
    with refusing.connect() as conn:
        touched = conn.execute(select(func.count()).where(first.is_not(None))).scalar_one()
    assert touched == 0


# ------------------------------------------------------------------ encodings


JAPANESE = LEADS_HEADER + (
    "web,J-1,2026-10-05T09:00:00+09:00,enterprise,a@example.com,"
    "山田 太郎,株式会社サンプル,,秋の展示会\n"
    "web,J-2,2026-10-05T10:00:00+09:00,enterprise,,髙橋 ①,,,\n"  # NEC and IBM extensions
)


def names(engine: Engine) -> dict[str, str | None]:
    c = Lead.__table__.c
    with engine.connect() as conn:
        return {str(e): n for e, n in conn.execute(select(c.external_id, c.name))}


@pytest.mark.one_backend
def test_a_cp932_file_from_excel_is_detected_and_read(cli: Cli, db: Engine) -> None:
    path = cli.file("excel.csv", JAPANESE.replace("\n", "\r\n").encode("cp932"))
    result = cli("import", "leads", str(path))
    assert result.exit_code == 0, result.output
    assert "read as CP932 (Shift_JIS) (detected)" in result.output
    assert "2 rows, 2 added" in result.output
    assert names(db) == {"J-1": "山田 太郎", "J-2": "髙橋 ①"}


@pytest.mark.one_backend
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_with_or_without_bom_is_detected_and_read(cli: Cli, db: Engine, bom: bytes) -> None:
    result = cli("import", "leads", str(cli.file("utf8.csv", bom + JAPANESE.encode())))
    assert result.exit_code == 0, result.output
    assert "read as UTF-8 (detected)" in result.output
    assert names(db) == {"J-1": "山田 太郎", "J-2": "髙橋 ①"}


@pytest.mark.one_backend
def test_encoding_named_on_the_command_line_is_used(cli: Cli, db: Engine) -> None:
    path = cli.file("excel.csv", JAPANESE.encode("cp932"))
    wrong = cli("import", "leads", str(path), "--encoding", "utf-8")
    assert wrong.exit_code == 2
    assert "read as UTF-8 (as asked)" in wrong.output
    assert (
        "line 2: row: is not UTF-8 text; save the file as UTF-8 or CP932 (or pass --encoding cp932)"
        in (wrong.output)
    )
    assert count(db, Lead) == 0
    right = cli("import", "leads", str(path), "--encoding", "cp932")
    assert right.exit_code == 0, right.output
    assert "read as CP932 (Shift_JIS) (as asked)" in right.output
    assert names(db)["J-1"] == "山田 太郎"


@pytest.mark.one_backend
def test_a_utf8_file_with_one_stray_byte_is_not_read_as_cp932(cli: Cli, db: Engine) -> None:
    raw = JAPANESE.encode() + b"web,J-3,2026-10-05T10:00:00+09:00,enterprise,,\x93\x63,,,\n"
    result = cli("import", "leads", str(cli.file("mixed.csv", raw)), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "read as UTF-8 (detected)" in result.output
    assert names(db) == {"J-1": "山田 太郎", "J-2": "髙橋 ①"}


# ------------------------------------------------------------------ the reject file


@pytest.mark.one_backend
def test_the_reject_file_keeps_each_bad_row_byte_for_byte(cli: Cli) -> None:
    undecodable = b"web,U-1,2026-10-05T09:00:00+09:00,enterprise,,Ha\xffnako,,,"
    quoted = b'web,"Q-1",yesterday,enterprise,,"Suzuki, ""Ichiro""",,,'
    short = b"web,S-1,2026-10-05T09:00:00+09:00"
    raw = (
        LEADS_HEADER.encode()
        + lead_row(1).encode()
        + undecodable
        + b"\n"
        + quoted
        + b"\r\n"
        + short
        + b"\n"
        + lead_row(2).encode()
    )
    result = cli("import", "leads", str(cli.file("leads.csv", raw)), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "5 rows, 2 added, 0 already present, 3 bad" in result.output
    rejected = (cli.dir / "leads.rejected.csv").read_bytes()
    lines = rejected.splitlines(keepends=True)
    assert lines[0] == b"line," + LEADS_HEADER.rstrip("\n").encode() + b",error\n"
    assert lines[1].startswith(b"3," + undecodable + b",row: is not UTF-8 text")
    assert lines[2].startswith(b"4," + quoted + b',"handed_off_at: ')
    assert lines[2].endswith(b"\r\n")
    assert lines[3] == b"5," + short + b",row: has 3 cells; the header has 9\n"
    rows = list(csv.DictReader(io.StringIO(rejected.decode(errors="replace"))))
    assert [r["line"] for r in rows] == ["3", "4", "5"]
    assert rows[1]["name"] == 'Suzuki, "Ichiro"'
    assert rows[1]["error"].startswith("handed_off_at:")


@pytest.mark.one_backend
def test_the_reject_file_of_a_cp932_file_is_cp932(cli: Cli) -> None:
    bad = "web,J-9,昨日,enterprise,,佐藤 花子,,,\r\n".encode("cp932")
    raw = JAPANESE.replace("\n", "\r\n").encode("cp932") + bad
    result = cli("import", "leads", str(cli.file("excel.csv", raw)), "--skip-invalid")
    assert result.exit_code == 0, result.output
    rejected = (cli.dir / "excel.rejected.csv").read_bytes()
    assert rejected.splitlines(keepends=True)[1].startswith(b"4," + bad.rstrip(b"\r\n") + b",")
    assert "佐藤 花子" in rejected.decode("cp932")


# ------------------------------------------------------------------ header and duplicates


@pytest.mark.one_backend
def test_a_header_naming_a_column_twice_is_refused(cli: Cli, db: Engine) -> None:
    header = LEADS_HEADER.rstrip("\n") + ",Name\n"
    row = "web,1,2026-10-05T09:00:00+09:00,enterprise,,Aiko,,,,Bob\n"
    result = cli("import", "leads", str(cli.file("twice.csv", header + row)))
    assert result.exit_code == 2
    assert "line 1: columns named more than once: name" in result.output
    assert count(db, Lead) == 0


def test_one_lead_twice_with_different_data_is_reported_on_both_lines(cli: Cli, db: Engine) -> None:
    rows = [lead_row(i) for i in range(GOOD_ROWS)]
    rows.append(lead_row(5).replace("Name 5", "Someone else"))  # another batch
    rows.append(lead_row(7))  # the same row again: the same lead
    result = cli("import", "leads", str(cli.file("leads.csv", LEADS_HEADER + "".join(rows))))
    assert result.exit_code == 2, result.output
    message = 'lead "L-5" from source "web" is on lines 7, 2502 with different data'
    assert f"line 7: external_id: {message}" in result.output
    assert f"line 2502: external_id: {message}" in result.output
    assert "2 of 2502 rows are bad" in result.output
    assert count(db, Lead) == 0
    skipped = cli("import", "leads", str(cli.dir / "leads.csv"), "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert (
        f"{GOOD_ROWS + 2} rows, {GOOD_ROWS - 1} added, 1 already present, 2 bad" in skipped.output
    )
    assert "L-5" not in lead_keys(db, "web")


def test_the_same_instant_written_two_ways_is_the_same_lead(cli: Cli, db: Engine) -> None:
    rows = lead_row(1) + lead_row(1, handed="2026-10-05T00:00:00Z")
    result = cli("import", "leads", str(cli.file("leads.csv", LEADS_HEADER + rows)))
    assert result.exit_code == 0, result.output
    assert "2 rows, 1 added, 1 already present, 0 bad" in result.output


# ------------------------------------------------------------------ the invariant

ROW_KIND = st.sampled_from(["good", "good", "good", "far", "early", "team", "twice"])


@settings(max_examples=25)
@given(kinds=st.lists(ROW_KIND, min_size=1, max_size=12), skip=st.booleans())
def test_stored_leads_are_the_good_rows_or_nothing(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, kinds: list[str], skip: bool
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    cli = Cli(tmp, database_url)
    source = tmp.name  # a fresh source for each example: the database is shared
    lines, good = [], set()
    for i, kind in enumerate(kinds):
        handed, team, name = "2026-10-05T09:00:00+09:00", "enterprise", f"n{i}"
        if kind == "far":
            handed = "9999-12-31T23:59:59+00:00"
        elif kind == "early":
            handed = "1969-12-31T23:59:59+00:00"
        elif kind == "team":
            team = "nowhere"
        key = f"K-{i}"
        lines.append(f"{source},{key},{handed},{team},,{name},,,\n")
        if kind == "twice":
            lines.append(f"{source},{key},{handed},{team},,{name}-other,,,\n")
        elif kind == "good":
            good.add(key)
    args = ["import", "leads", str(cli.file("leads.csv", LEADS_HEADER + "".join(lines)))]
    result = cli(*args, *(["--skip-invalid"] if skip else []))
    engine = make_engine(database_url)
    try:
        stored = lead_keys(engine, source)
    finally:
        engine.dispose()
    everything_good = all(k == "good" for k in kinds)
    if skip or everything_good:
        assert result.exit_code == 0, result.output
        assert stored == good
    else:
        assert result.exit_code == 2, result.output
        assert stored == set()


class FewKeysAtATime(LeadImporter):
    keys_per_reading = 2  # several readings of the file, as with a million keys in doubt


def test_many_leads_twice_are_checked_in_several_readings(
    tmp_path: Path, database_url: str, db: Engine
) -> None:
    rows = []
    for i in range(10):
        rows += [
            lead_row(i),
            lead_row(i).replace(f"Name {i}", "Other") if i in (3, 8) else lead_row(i),
        ]
    path = tmp_path / "twice.csv"
    path.write_text(LEADS_HEADER + "".join(rows), encoding="utf-8")
    settings_ = parse_settings(
        yaml.safe_load(CONFIG), "test.yml", env={"DATABASE_URL": database_url}
    )
    problems: list[RowError] = []
    result = FewKeysAtATime(
        db,
        settings_,
        FixedClock(datetime(2026, 11, 24, tzinfo=UTC)),
        path,
        skip_invalid=False,
        on_error=problems.append,
        on_progress=lambda _: None,
    ).run()
    assert not result.imported
    assert [(p.line, p.column) for p in problems] == [
        (8, "external_id"),
        (9, "external_id"),
        (18, "external_id"),
        (19, "external_id"),
    ]
    assert (
        'lead "L-8" from source "web" is on lines 18, 19 with different data' in problems[2].message
    )
    assert count(db, Lead) == 0

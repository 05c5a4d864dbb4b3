"""The dashboard's pieces without a server: the language chosen, tables sorted by a
column, CSV cells no spreadsheet runs, the chart, the numbers in words, and the sentence
saying why a rate moved."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from base64 import b64encode

from hypothesis import given
from hypothesis import strategies as st

from bot.web import markup
from bot.web.chart import segments, trend_svg
from bot.web.locale import accepted, choose
from bot.web.sorting import Sort, next_sort, parse_sort, sort_params, sort_rows
from bot.web.spreadsheet import BOM, csv_lines, in_chunks
from bot.web.why import headline, leader
from bot.web.words import change, duration, points, rate
from metrics.rates import Counts
from metrics.shift_share import decompose
from metrics.summary import TrendPoint

# ------------------------------------------------------------------ language


def test_accept_language_honours_q_values() -> None:
    assert accepted("en;q=0.4, ja-JP;q=0.9, fr") == "ja"
    assert accepted("fr, ja;q=0.1, en;q=0.2") == "en"
    assert accepted("ja;q=0, en;q=0.1") == "en"
    assert accepted("ja-JP,ja;q=0.9,en-US;q=0.8") == "ja"
    assert accepted("fr-FR, de") is None
    assert accepted("*") is None
    assert accepted("en;q=abc, ja;q=0.5") == "ja"  # an unreadable q drops its tag


def test_the_query_then_the_cookie_then_the_browser_then_the_config() -> None:
    assert choose("ja", "en", "en", "en") == "ja"
    assert choose(None, "ja", "en", "en") == "ja"
    assert choose("xx", None, "ja", "en") == "ja"
    assert choose(None, "zz", None, "ja") == "ja"
    assert choose(None, None, "de", "en") == "en"


@given(st.text(max_size=200))
def test_any_accept_language_gives_a_spoken_language_or_none(header: str) -> None:
    assert accepted(header) in (None, "en", "ja")


# ------------------------------------------------------------------ sorting

ROWS = [("b", 3.0), ("a", None), ("c", 1.0), ("d", 3.0)]


def value(row: tuple[str, float | None], column: str) -> float | str | None:
    return row[0] if column == "name" else row[1]


def test_rates_sort_largest_first_ties_keep_their_order_and_no_rate_goes_last() -> None:
    sort = parse_sort("rate", None, {"name", "rate"}, {"name"})
    assert sort == Sort("rate", descending=True)
    assert [r[0] for r in sort_rows(ROWS, sort, value)] == ["b", "d", "c", "a"]
    up = parse_sort("rate", "asc", {"name", "rate"})
    assert [r[0] for r in sort_rows(ROWS, up, value)] == ["c", "b", "d", "a"]


def test_names_sort_a_to_z_by_default() -> None:
    sort = parse_sort("name", None, {"name", "rate"}, {"name"})
    assert [r[0] for r in sort_rows(ROWS, sort, value)] == ["a", "b", "c", "d"]


def test_an_unknown_column_or_direction_is_ignored() -> None:
    assert parse_sort("1; DROP TABLE", "desc", {"rate"}) == Sort(None)
    assert sort_rows(ROWS, Sort(None), value) == ROWS
    assert parse_sort("rate", "sideways", {"rate"}) == Sort("rate", True)


def test_a_header_link_flips_the_current_column_and_keeps_the_other_params() -> None:
    assert next_sort(Sort("rate", True), "rate") == Sort("rate", False)
    assert next_sort(Sort("rate", True), "name", {"name"}) == Sort("name", False)
    params = sort_params({"period": "2026-10", "sort": "x", "dir": "asc"}, Sort("rate", True))
    assert params == {"period": "2026-10", "sort": "rate", "dir": "desc"}


# ------------------------------------------------------------------ CSV


@given(st.lists(st.lists(st.text(max_size=20), min_size=2, max_size=2), max_size=10))
def test_csv_reads_back_and_no_cell_starts_a_formula(rows: list[list[str]]) -> None:
    text = "".join(csv_lines(["a", "b"], rows))
    assert text.startswith(BOM)
    back = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert back[0] == ["a", "b"]
    assert len(back) == len(rows) + 1
    for written, read in zip(rows, back[1:], strict=True):
        for cell, got in zip(written, read, strict=True):
            assert got.lstrip(" ")[:1] not in set("=+-@\t\r＝＋－＠")
            assert got in (cell, "'" + cell)


@given(st.lists(st.text('ab,"é漢', max_size=5)), st.integers(min_value=1, max_value=4))
def test_chunks_hold_the_lines_in_order_a_few_at_a_time(lines: list[str], size: int) -> None:
    lines = [line + "\r\n" for line in lines]
    chunks = list(in_chunks(lines, size))
    assert b"".join(chunks) == "".join(lines).encode("utf-8")
    assert len(chunks) == -(-len(lines) // size)  # full chunks, the rest in the last
    assert all(chunk.count(b"\r\n") <= size for chunk in chunks)


def test_hostile_cells_are_neutralised() -> None:
    text = "".join(csv_lines(["x"], [["=1+1"], ["+A1"], ["-2"], ["@SUM(A1)"], ["\tx"], ["\rx"]]))
    lines = text[1:].split("\r\n")
    assert lines[1:7] == ["'=1+1", "'+A1", "'-2", "'@SUM(A1)", "'\tx", '"\'\rx"']


# ------------------------------------------------------------------ numbers


def test_numbers_in_words() -> None:
    assert rate(23.44, "en") == "23.4 %"
    assert rate(None, "en") == "—"
    assert rate(7.0, "ja") == "7.0%"
    assert points(2.26, "en") == "+2.3 pts"
    assert points(-0.01, "en") == "±0.0 pts"
    assert change(2.26, "en", higher_is_worse=True) == "up 2.3 pts (worse)"
    assert change(-1.0, "en", higher_is_worse=True) == "down 1.0 pts (better)"
    assert change(-1.0, "en", higher_is_worse=False) == "down 1.0 pts (worse)"
    assert change(None, "en", higher_is_worse=True) == "no comparison with the previous period"
    assert change(3.0, "ja", higher_is_worse=True) == "3.0ポイント上昇（悪化）"
    assert duration(3 * 3600 + 300, "en") == "3 h 5 min"
    assert duration(None, "en") == "—"


# ------------------------------------------------------------------ the chart


def test_a_week_without_a_rate_breaks_the_line() -> None:
    assert segments([1.0, None, 2.0, 3.0, None]) == [[(0, 1.0)], [(2, 2.0), (3, 3.0)]]
    assert segments([None, None]) == []


def test_the_chart_is_an_svg_image_with_a_title_and_a_description() -> None:
    points_ = [
        TrendPoint(f"2026-W{w:02d}", 10.0 + w, None if w == 40 else 60.0) for w in range(37, 49)
    ]
    svg = trend_svg("ent<er>prise", points_, "en", "trend-0")
    root = ET.fromstring(svg)  # noqa: S314 (our own markup: it must be well-formed XML)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "trend-0-title trend-0-desc"
    title, desc = root.find(f"{ns}title"), root.find(f"{ns}desc")
    assert title is not None
    assert desc is not None
    assert title.text == "ent<er>prise: ignore and SAL rates, last 12 weeks"
    assert "W48" in (desc.text or "")
    # the SAL line is broken at the week without a rate: two runs, dashed
    sal = root.findall(f".//{ns}g[@class='series-sal']/{ns}polyline")
    assert len(sal) == 2
    assert all(p.get("stroke-dasharray") == "6 4" for p in sal)
    ignore = root.findall(f".//{ns}g[@class='series-ignore']/{ns}polyline")
    assert len(ignore) == 1
    assert len(ignore[0].get("points", "").split()) == 12


# ------------------------------------------------------------------ the page


def test_the_stylesheet_is_allowed_by_its_hash_and_no_script_is() -> None:
    csp = markup.headers()["Content-Security-Policy"]
    digest = b64encode(hashlib.sha256(markup.stylesheet().encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    page = markup.document("ja", "<t>", markup.el("header"), markup.el("p", "<b>"))
    assert page.startswith('<!doctype html><html lang="ja">')
    assert "<h1>&lt;t&gt;</h1>" in page
    assert "<p>&lt;b&gt;</p>" in page
    assert f"<style>{markup.stylesheet()}</style>" in page


def test_values_are_escaped_and_void_elements_are_not_closed() -> None:
    html = markup.el("input", name="a", value='"><script>', data_x_y=1, hidden=True)
    assert html == '<input name="a" value="&quot;&gt;&lt;script&gt;" data-x-y="1" hidden>'
    assert markup.href("/leads", {"a": "x y", "b": None, "c": ""}) == "/leads?a=x+y"


def test_a_table_scrolls_in_a_named_region_the_keyboard_reaches() -> None:
    html = markup.table("By <rep>", ["Rep"], [markup.Row(["a"])])
    box = re.match(r"<div([^>]*)><table", html)
    assert box is not None
    assert 'class="scroll"' in box[1]
    assert 'role="region"' in box[1]
    assert 'aria-label="By &lt;rep&gt;"' in box[1]  # named by its caption
    assert 'tabindex="0"' in box[1]


# ------------------------------------------------------------------ why it moved


def counts(counted: int, ignored: int) -> Counts:
    return Counts(handed_off=counted, ignored=ignored, on_time=counted - ignored)


def test_the_sentence_names_the_group_that_doubled_and_its_rate() -> None:
    before = {"webinar": counts(100, 20), "website": counts(300, 60)}
    after = {"webinar": counts(200, 48), "website": counts(200, 40)}
    why = {"source": decompose(before, after)}
    found = leader(why)
    assert found is not None
    assert found.group.key == "webinar"
    en = headline(why, "en")
    assert en.startswith("The ignore rate went from 20.0 % to 22.0 % (+2.0 pts).")
    assert "Source “webinar” leads at least doubled, from 25.0 % to 50.0 %" in en
    assert "ignored at 24.0 %: +7.0 pts of the change, mostly from this shift in the mix" in en
    ja = headline(why, "ja")
    assert "流入元「webinar」" in ja
    assert "24.0%" in ja


def test_a_rate_change_is_said_to_be_mostly_rate() -> None:
    before = {"ads": counts(100, 10), "event": counts(100, 10)}
    after = {"ads": counts(100, 50), "event": counts(100, 10)}
    en = headline({"source": decompose(before, after), "rep": decompose({}, {})}, "en")
    assert "Source “ads” leads are ignored more, 50.0 % against 10.0 % before" in en
    assert "mostly from this rate" in en


def test_without_a_comparison_or_a_leader_the_sentence_says_so() -> None:
    assert "nothing to compare" in headline({"source": decompose({}, {"a": counts(5, 1)})}, "en")
    small = {"source": decompose({"a": counts(5, 1)}, {"a": counts(5, 4)})}
    assert "No single group stands out" in headline(small, "en")
    assert re.search("目立つ", headline(small, "ja"))

"""The dashboard's markup: escaped HTML fragments, tables that scroll on a phone, the
page around them, and the headers every page is sent with.

Every value is escaped (`esc`) unless it is already `Html`, built here. Nothing runs and
nothing loads from elsewhere: the one inline stylesheet (`dashboard.css`) is allowed by
its sha256 hash in the Content-Security-Policy, no script is allowed at all, and charts
are inline SVG.
"""

from __future__ import annotations

import hashlib
from base64 import b64encode
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.resources import files
from urllib.parse import urlencode

from bot.web.pages import Html


def esc(value: object) -> Html:
    """`value` as text in HTML, unless it is markup built here."""
    if isinstance(value, Html):
        return value
    return Html(escape("" if value is None else str(value)))


def join(parts: Iterable[object]) -> Html:
    return Html("".join(esc(p) for p in parts))


def attrs(values: Mapping[str, object | None]) -> str:
    """` name="value"` for each value that is not None (True: the bare name)."""
    out = []
    for name, value in values.items():
        if value is None or value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{escape(str(value))}"')
    return "".join(out)


VOID = frozenset({"input", "meta", "br", "hr", "img", "link"})


def el(tag: str, *children: object, **attributes: object | None) -> Html:
    """`<tag attributes>children</tag>`; an attribute's `_` in its Python name is `-`
    (`data_ignore_rate` is `data-ignore-rate`), a trailing `_` is dropped (`class_`)."""
    named = {k.rstrip("_").replace("_", "-"): v for k, v in attributes.items()}
    if tag in VOID:
        return Html(f"<{tag}{attrs(named)}>")
    return Html(f"<{tag}{attrs(named)}>{join(children)}</{tag}>")


def href(path: str, params: Mapping[str, str | None]) -> str:
    """`path?query` from the params that are set (non-empty)."""
    kept = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(kept)}" if kept else path


def link(url: str, *children: object, **attributes: object | None) -> Html:
    return el("a", *children, href=url, **attributes)


@dataclass(frozen=True)
class Cell:
    """A table cell: its content, whether it is a number (right-aligned), and extra
    attributes (data-* values the tests read)."""

    content: object
    numeric: bool = False
    data: Mapping[str, object | None] | None = None


def _td(cell: object) -> Html:
    if isinstance(cell, Cell):
        return el("td", cell.content, class_="n" if cell.numeric else None, **_data(cell.data))
    return el("td", cell)


def _data(values: Mapping[str, object | None] | None) -> dict[str, object | None]:
    return {f"data_{k}": v for k, v in (values or {}).items()}


@dataclass(frozen=True)
class Row:
    cells: Sequence[object]
    data: Mapping[str, object | None] | None = None
    header: object | None = None  # the row's own header cell (th scope=row), first


def table(
    caption: str,
    head: Sequence[Html | str],
    rows: Iterable[Row],
    *,
    numeric: Iterable[int] = (),
    head_attrs: Sequence[Mapping[str, object | None]] | None = None,
    data: Mapping[str, object | None] | None = None,
) -> Html:
    """A captioned table inside a box that scrolls sideways on a narrow screen (a region
    named by the caption, focusable so the keyboard scrolls it). `numeric`:
    the indexes of the right-aligned columns; `head_attrs`: extra attributes per head cell."""
    right = set(numeric)
    ths = []
    for i, label in enumerate(head):
        extra = dict(head_attrs[i]) if head_attrs else {}
        ths.append(el("th", label, scope="col", class_="n" if i in right else None, **extra))
    body = []
    for row in rows:
        cells: list[Html] = []
        if row.header is not None:
            cells.append(el("th", row.header, scope="row"))
        cells += [_td(c) for c in row.cells]
        body.append(el("tr", *cells, **_data(row.data)))
    inner = el(
        "table",
        el("caption", caption),
        el("thead", el("tr", *ths)),
        el("tbody", *body),
        **_data(data),
    )
    # a box that may scroll is a named region reachable from the keyboard, so a person
    # without a mouse or touch screen can scroll it too (WCAG 2.1.1; axe-core's rule
    # scrollable-region-focusable)
    return el("div", inner, class_="scroll", role="region", aria_label=caption, tabindex="0")


def definitions(pairs: Iterable[tuple[object, object]]) -> Html:
    return el("dl", *(join([el("dt", k), el("dd", v)]) for k, v in pairs))


# ------------------------------------------------------------------ the page


def _read(name: str) -> str:
    return (files("bot.web") / name).read_text(encoding="utf-8")


@cache
def stylesheet() -> str:
    return _read("dashboard.css")


@cache
def headers() -> dict[str, str]:
    """What every dashboard page is sent with: the stylesheet allowed by its hash only,
    no script, no frame, not cached, not indexed."""
    digest = b64encode(hashlib.sha256(stylesheet().encode()).digest()).decode()
    csp = (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Robots-Tag": "noindex, nofollow",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }


def document(locale: str, title: str, header: Html, main: Html) -> str:
    """The whole page: its language, title, the stylesheet, the header and the main part
    (whose first heading is the page's one h1)."""
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{stylesheet()}</style></head>"
        f"<body>{header}<main>{el('h1', title)}{main}</main></body></html>"
    )

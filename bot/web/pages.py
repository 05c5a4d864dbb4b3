"""The sign-in's own pages: a title, a few lines, a link or a form. Every value is
HTML-escaped; nothing runs and nothing loads (the Content-Security-Policy allows no
script, no style and no frame), and no page is cached."""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class Html(str):
    """Markup built here: put into a page as it is."""

    __slots__ = ()


def text(value: str) -> Html:
    return Html(f"<p>{escape(value)}</p>")


def link(href: str, label: str) -> Html:
    return Html(f'<p><a href="{escape(href)}">{escape(label)}</a></p>')


def post_form(action: str, fields: dict[str, str], button: str) -> Html:
    """A form that POSTs `fields` as hidden inputs: it works with scripts off."""
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return Html(
        f'<form method="post" action="{escape(action)}">{hidden}'
        f'<button type="submit">{escape(button)}</button></form>'
    )


def page(locale: str, title: str, *parts: Html, status: int = 200) -> HTMLResponse:
    body = "".join(parts)
    html = (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}"
        "</body></html>"
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)

"""Which language a dashboard page speaks: `?lang=en|ja` (then remembered in a cookie),
else the cookie, else the browser's `Accept-Language` (its q-values honoured, RFC 9110
section 12.5.4: the highest q wins, q=0 means "not this one", a tag's primary subtag
matches: `ja-JP` is `ja`), else the config's locale."""

from __future__ import annotations

from starlette.requests import Request

from bot.present.i18n import LOCALES

LANG_PARAM = "lang"
LANG_COOKIE = "ignorerate_lang"
LANG_COOKIE_AGE = 365 * 24 * 3600  # seconds
MAX_HEADER = 1000  # characters of Accept-Language read


def supported(value: str | None) -> str | None:
    """`value` if it names a language the dashboard speaks, else None."""
    return value if value in LOCALES else None


def _quality(text: str) -> float | None:
    try:
        q = float(text)
    except ValueError:
        return None
    return q if 0 <= q <= 1 else None


def accepted(header: str | None) -> str | None:
    """The language of `Accept-Language` the reader prefers among those spoken here;
    None when it names none of them. Of equal q-values the first listed wins."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header[:MAX_HEADER].split(",")):
        tag, *params = (part.strip() for part in item.split(";"))
        q: float | None = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _quality(value.strip())
        if q is None or q <= 0:
            continue
        primary = tag.split("-", 1)[0].lower()
        locale = supported(primary)
        if locale is None and tag == "*":
            continue  # "anything": leaves the choice to the config
        if locale is None:
            continue
        rank = (q, -position, locale)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return best[2] if best else None


def choose(
    asked: str | None, remembered: str | None, accept_language: str | None, default: str
) -> str:
    """The page's language: the one asked for in the query, the one remembered, the
    browser's preferred, or the config's."""
    return supported(asked) or supported(remembered) or accepted(accept_language) or default


def request_locale(request: Request, default: str) -> str:
    """`choose` for a request: its `?lang=`, its cookie, its `Accept-Language`."""
    return choose(
        request.query_params.get(LANG_PARAM),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
        default,
    )

"""`POST /hooks/handoff`: leads from a CRM or marketing tool, signed like Slack signs.

    X-Ignorerate-Timestamp: 1764000000
    X-Ignorerate-Signature: v0=hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))

The check is Slack's (constant-time compare, 5-minute window by our clock), over the
body's bytes as sent. Bodies: one lead object, or {"leads": [...]} of at
most 500; fields as the leads CSV, plus an optional `owner_slack_id`. See
docs/openapi.yml.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, overload

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.app.db import DatabaseError, Engine, is_unavailable
from bot.app.fields import LEAD_COLUMNS, FieldError, LeadInput, validate_lead
from bot.app.handoffs import receive_handoffs
from bot.app.ports import PeopleLookup
from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.config import Settings
from bot.http.prometheus import Metrics

MAX_BODY = 1024 * 1024
MAX_LEADS = 500
TIMESTAMP_HEADER = "x-ignorerate-timestamp"
SIGNATURE_HEADER = "x-ignorerate-signature"
FIELDS = (*LEAD_COLUMNS, "owner_slack_id")
_KNOWN = frozenset(FIELDS)
WINDOW_SECONDS = 5 * 60
_MAX_TIMESTAMP_DIGITS = 12  # Unix seconds have ten digits until the year 2286
_MAX_INT_DIGITS = 200  # any longer is no id of anyone's (and Python parses at most 4300)
log = logging.getLogger(__name__)


@dataclass
class HandoffDoor:
    engine: Engine
    settings: Settings
    secret: str | None
    clock: Clock
    metrics: Metrics
    directory: PeopleLookup | None = None  # to read `owner_slack_id` as an email
    wake_outbox: Callable[[], None] = lambda: None

    def _refuse(self, status: int, reason: str, message: str) -> JSONResponse:
        self.metrics.rejected_requests.labels("webhook", reason).inc()
        body: dict[str, Any] = {"error": message}
        if status == 400:  # docs/openapi.yml: every 400 is an Answer, lists included
            body.update(accepted=[], refused=[])
        return JSONResponse(body, status_code=status)

    async def handle(self, request: Request) -> Response:  # noqa: PLR0911 (one answer per refusal)
        if not self.secret:
            return self._refuse(
                503, "disabled", "the handoff webhook is off: IGNORERATE_WEBHOOK_SECRET is not set"
            )
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLargeError as err:
            return self._refuse(413, "too_large", str(err))
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not self._signed(body, timestamp, signature):
            return self._refuse(
                401,
                "bad_signature",
                "missing, bad or stale signature: sign v0:{timestamp}:{body} with HMAC-SHA256 "
                f"and send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} (5-minute window)",
            )
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return self._refuse(
                415,
                "media_type",
                f"Content-Type is {_echo(media_type) or 'missing'}; send application/json",
            )
        data, problem = _parse(body)
        if problem:
            return self._refuse(400, "not_json", problem)
        items, problem = _items(data)
        if problem:
            return self._refuse(400, "bad_shape", problem)
        return await run_in_threadpool(self._receive, items)

    def _signed(self, body: bytes, timestamp: str, signature: str) -> bool:
        """Slack's scheme, checked over the bytes as sent: slack_sdk's `SignatureVerifier`
        decodes the body as UTF-8 and the timestamp as an int first, and raises (a 500)
        on a body or a header that is neither."""
        assert self.secret
        if not (0 < len(timestamp) <= _MAX_TIMESTAMP_DIGITS and timestamp.isascii()):
            return False  # hundreds of digits would overflow the float arithmetic below
        if not timestamp.isdigit() or not signature:
            return False
        if abs(self.clock.now().timestamp() - int(timestamp)) > WINDOW_SECONDS:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        digest = hmac.new(self.secret.encode(), base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(f"v0={digest}".encode(), signature.encode("utf-8", "replace"))

    def _receive(self, items: list[Any]) -> Response:
        good: list[tuple[int, LeadInput]] = []
        first: dict[tuple[str, str], int] = {}  # a lead's key -> index of its first good item
        repeats: list[tuple[int, LeadInput]] = []
        refused: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            lead, errors = self._read(item)
            if lead is None:
                refused.append(
                    {
                        "index": index,
                        "external_id": _echo(item.get("external_id"))
                        if isinstance(item, Mapping)
                        else None,
                        "errors": [{"field": e.field, "message": e.message} for e in errors],
                    }
                )
            elif lead.key in first:
                repeats.append((index, lead))  # answered as the lead it repeats
            else:
                first[lead.key] = index
                good.append((index, lead))
        accepted: list[dict[str, Any]] = []
        if good:
            try:
                result = receive_handoffs(
                    self.engine, self.settings, [lead for _, lead in good], self.clock.now()
                )
            except DatabaseError as err:
                if not is_unavailable(err):
                    raise  # a fault of ours, not the database's absence: a 500
                return self._unavailable(err)
            for index, lead in good:
                lead_id = result.ids[lead.key]
                accepted.append(
                    {
                        "index": index,
                        "source": lead.source,
                        "external_id": lead.external_id,
                        "id": lead_id,
                        "new": lead_id in result.new,
                    }
                )
            for index, lead in repeats:
                accepted.append(
                    {
                        "index": index,
                        "source": lead.source,
                        "external_id": lead.external_id,
                        "id": result.ids[lead.key],
                        "new": result.ids[lead.key] in result.new,
                        "repeat_of": first[lead.key],
                    }
                )
            accepted.sort(key=lambda a: int(a["index"]))
            new = sum(1 for _, lead in good if result.ids[lead.key] in result.new)
            self.metrics.handoffs.labels("webhook", "new").inc(new)  # repeats not counted again
            self.metrics.handoffs.labels("webhook", "known").inc(len(good) - new)
            self.wake_outbox()
        self.metrics.handoffs.labels("webhook", "refused").inc(len(refused))
        if refused:
            return JSONResponse(
                {
                    "error": f"{len(refused)} of {len(items)} leads refused; the others were "
                    "stored",
                    "accepted": accepted,
                    "refused": refused,
                },
                status_code=400,
            )
        return JSONResponse({"accepted": accepted, "refused": []}, status_code=202)

    def _unavailable(self, err: Exception) -> JSONResponse:
        """The database is down, restarting or out of connections: nothing is promised.
        The transaction may or may not have committed, so the sender must send the same
        leads again; (source, external_id) makes that safe."""
        log.warning("handoff webhook: the database is unavailable: %s", type(err).__name__)
        return JSONResponse(
            {
                "error": "the database is unavailable; the leads may not be stored: send the "
                "same request again (a lead already stored is not stored twice)"
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )

    def _read(self, item: Any) -> tuple[LeadInput | None, list[FieldError]]:
        if not isinstance(item, Mapping):
            return None, [FieldError("lead", "expected an object of lead fields")]
        # the usual lead, known fields of text only, skips the two checks below
        if not all(k in _KNOWN and type(v) is str for k, v in item.items()):
            errors = [
                FieldError(_echo(str(k)), f"unknown field; known fields: {', '.join(FIELDS)}")
                for k in item
                if k not in _KNOWN
            ]
            errors += [
                FieldError(str(k), "expected a string or a number")
                for k, v in item.items()
                if k in _KNOWN
                and (isinstance(v, bool) or not (v is None or isinstance(v, (str, int, float))))
            ]
            if errors:
                return None, errors
        result = validate_lead(item, self.settings.team_names)
        if isinstance(result, list):
            return None, result
        slack_id = item.get("owner_slack_id")
        if slack_id and not result.owner_email and self.directory is not None:
            try:
                person = self.directory.by_slack_id(str(slack_id))
            except Exception:
                person = None
            if person is not None:
                result = replace(result, owner_email=person.email)
        return result, []


def _items(data: Any) -> tuple[list[Any], str | None]:  # noqa: PLR0911
    if isinstance(data, Mapping) and "leads" in data:
        others = [_echo(str(k)) for k in data if k != "leads"]
        if others:
            return [], (
                f'unknown field {", ".join(others)[:200]} beside "leads": a batch is '
                '{"leads": [...]} and nothing else'
            )
        leads = data["leads"]
        if not isinstance(leads, list):
            return [], '"leads" must be a list of lead objects'
        if not leads:
            return [], '"leads" is empty'
        if len(leads) > MAX_LEADS:
            return [], f'"leads" has {len(leads)} items; at most {MAX_LEADS} a request'
        return leads, None
    if isinstance(data, Mapping):
        return [data], None
    return [], 'expected one lead object or {"leads": [...]}'


def _parse(body: bytes) -> tuple[Any, str | None]:
    """The JSON of the body, or a message saying where it is not JSON (in our words, not
    the parser's)."""
    try:
        text = body.decode("utf-8-sig")  # a leading byte order mark is allowed (RFC 8259)
    except UnicodeDecodeError as err:
        return None, f"body is not UTF-8: byte {err.start} cannot be decoded"
    try:
        return json.loads(
            text, parse_float=_finite, parse_int=_int, parse_constant=_no_constant
        ), None
    except RecursionError:
        return None, "body is not JSON we read: nested too deeply"
    except json.JSONDecodeError as err:
        return None, f"body is not JSON: a syntax error at line {err.lineno}, column {err.colno}"
    except _NumberError as err:
        return None, f"body is not JSON we read: {err}"


class _NumberError(ValueError):
    pass


def _int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise _NumberError(f"a number of over {_MAX_INT_DIGITS} digits")
    return int(text)


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _NumberError(f"the number {text[:40]} is out of range")
    return number


def _no_constant(text: str) -> Any:
    raise _NumberError(f"{text} is not a JSON number")


@overload
def _echo(value: str) -> str: ...
@overload
def _echo(value: object) -> object: ...
def _echo(value: object) -> object:
    """A value of the request said back in the answer: text with an unpaired surrogate
    (valid JSON, not encodable as UTF-8) is escaped, and anything but text or a number
    is left out."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, int | float) or value is None:
        return value
    return None

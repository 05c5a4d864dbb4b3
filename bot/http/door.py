"""What the webhooks share (`POST /hooks/handoff`, `POST /hooks/action`; docs/openapi.yml):
who may post, the capped body, its JSON, its items, and the answers' shapes. Each door
(bot/http/webhooks.py) says what an item is and what becomes of the good ones.

Either of two proofs lets a request in. A signature, as Slack signs its requests:

    X-Ignorerate-Timestamp: 1764000000
    X-Ignorerate-Signature: v0=hex(HMAC-SHA256(IGNORERATE_WEBHOOK_SECRET, "v0:{timestamp}:{body}"))

checked as Slack checks its own (constant-time compare, 5-minute window by our clock), over
the body's bytes as sent. Or, for a tool that can send a fixed header but cannot sign
(HubSpot workflow webhooks, Salesforce Flow HTTP callouts):

    Authorization: Bearer <IGNORERATE_WEBHOOK_TOKEN>

compared in constant time. The token is the weaker: it carries no time and covers no body,
so a request captured on the way is good forever (sent again it changes nothing: every
item is keyed), and the token captured lets anyone send new items. With neither variable
set, the doors are off (503).

A door takes one object, or {"<items>": [...]} of at most 500. It names every bad field of
every item, keeps the good items, and answers what became of each item by its index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, overload

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.app.db import DatabaseError, Engine, is_unavailable
from bot.app.fields import FieldError
from bot.body import BodyTooLargeError, read_body
from bot.clock import Clock
from bot.config import Settings
from bot.http.prometheus import Metrics

MAX_BODY = 1024 * 1024
MAX_ITEMS = 500
TIMESTAMP_HEADER = "x-ignorerate-timestamp"
SIGNATURE_HEADER = "x-ignorerate-signature"
WINDOW_SECONDS = 5 * 60
_MAX_TIMESTAMP_DIGITS = 12  # Unix seconds have ten digits until the year 2286
_MAX_INT_DIGITS = 200  # any longer is no id of anyone's (and Python parses at most 4300)
_SIGN = (
    "sign v0:{timestamp}:{body} with HMAC-SHA256 and send "
    f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} (5-minute window)"
)
_BEARER = "Authorization: Bearer <IGNORERATE_WEBHOOK_TOKEN>"
log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Stored:
    """What a door's use case made of the good items: the answer for each (by index), the
    items it refused after all (their lead unknown, say), and how many distinct items it
    stored now or found stored before (for the counters)."""

    accepted: list[dict[str, Any]]
    refused: list[dict[str, Any]] = field(default_factory=list)
    new: int = 0
    known: int = 0


@dataclass
class WebhookDoor(ABC, Generic[T]):
    engine: Engine
    settings: Settings
    secret: str | None  # IGNORERATE_WEBHOOK_SECRET: v0 signatures
    clock: Clock
    metrics: Metrics
    token: str | None = None  # IGNORERATE_WEBHOOK_TOKEN: bearer tokens (module docstring)

    # what each door says of itself
    name: ClassVar[str]  # in its messages and the log, e.g. "handoff webhook"
    label: ClassVar[str]  # its `door` in ignorerate_rejected_requests_total
    batch: ClassVar[str]  # the one key of a batch, e.g. "leads"
    noun: ClassVar[str]  # one item, e.g. "lead"
    fields: ClassVar[tuple[str, ...]]  # the fields an item may have
    done: ClassVar[str]  # what becomes of a good item, e.g. "stored"
    again: ClassVar[str]  # why sending again is safe, e.g. "a lead already stored is ..."

    @abstractmethod
    def _validate(self, item: Mapping[str, Any]) -> tuple[T | None, list[FieldError]]:
        """One item, whose keys are all known and whose values are text or numbers: the
        input it reads as, or every problem it has."""

    @abstractmethod
    def _store(self, good: list[tuple[int, T]]) -> Stored:
        """Stores the good items (with their indexes in the request), in one transaction.
        Raises DatabaseError if the database fails."""

    @abstractmethod
    def _tally(self, result: str, count: int) -> None:
        """Counts `count` items of a result (new, known, refused)."""

    def _refuse(
        self, status: int, reason: str, message: str, headers: Mapping[str, str] | None = None
    ) -> JSONResponse:
        self.metrics.rejected_requests.labels(self.label, reason).inc()
        body: dict[str, Any] = {"error": message}
        if status == 400:  # docs/openapi.yml: every 400 is an Answer, lists included
            body.update(accepted=[], refused=[])
        return JSONResponse(body, status_code=status, headers=headers)

    async def handle(self, request: Request) -> Response:  # noqa: PLR0911 (one answer per refusal)
        if not self.secret and not self.token:
            return self._refuse(
                503,
                "disabled",
                f"the {self.name} is off: neither IGNORERATE_WEBHOOK_SECRET nor "
                "IGNORERATE_WEBHOOK_TOKEN is set",
            )
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLargeError as err:
            return self._refuse(413, "too_large", str(err))
        refusal = self._unauthorised(request.headers, body)
        if refusal is not None:
            return refusal
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return self._refuse(
                415,
                "media_type",
                f"Content-Type is {echo(media_type) or 'missing'}; send application/json",
            )
        data, problem = parse_json(body)
        if problem:
            return self._refuse(400, "not_json", problem)
        items, problem = self._items(data)
        if problem:
            return self._refuse(400, "bad_shape", problem)
        return await run_in_threadpool(self._receive, items)

    def _unauthorised(self, headers: Headers, body: bytes) -> Response | None:
        """None if the request carries the token or a good signature; else its 401."""
        authorization = headers.get("authorization", "")
        bearer = authorization.partition(" ")[0].lower() == "bearer"
        if self.token and bearer and bearer_matches(authorization, self.token):
            return None
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if self.secret and self._signed(body, timestamp, signature):
            return None
        if bearer and self.token:
            reason, message = "bad_token", f"wrong bearer token: send {_BEARER}"
            if self.secret:
                message += f", or {_SIGN}"
        elif bearer:
            reason = "bad_token"
            message = (
                f"bearer tokens are not taken here (IGNORERATE_WEBHOOK_TOKEN is not set): {_SIGN}"
            )
        elif self.secret:
            reason = "bad_signature"
            message = f"missing, bad or stale signature: {_SIGN}"
            if self.token:
                message += f"; or send {_BEARER}"
        else:
            reason = "bad_token"
            message = (
                f"missing bearer token: send {_BEARER} (signatures are not checked here: "
                "IGNORERATE_WEBHOOK_SECRET is not set)"
            )
        challenge = {"WWW-Authenticate": 'Bearer realm="ignorerate"'} if self.token else None
        return self._refuse(401, reason, message, challenge)

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

    def _items(self, data: Any) -> tuple[list[Any], str | None]:  # noqa: PLR0911
        key, noun = self.batch, self.noun
        if isinstance(data, Mapping) and key in data:
            others = [echo(str(k)) for k in data if k != key]
            if others:
                return [], (
                    f'unknown field {", ".join(others)[:200]} beside "{key}": a batch is '
                    f'{{"{key}": [...]}} and nothing else'
                )
            items = data[key]
            if not isinstance(items, list):
                return [], f'"{key}" must be a list of {noun} objects'
            if not items:
                return [], f'"{key}" is empty'
            if len(items) > MAX_ITEMS:
                return [], f'"{key}" has {len(items)} items; at most {MAX_ITEMS} a request'
            return items, None
        if isinstance(data, Mapping):
            return [data], None
        return [], f'expected one {noun} object or {{"{key}": [...]}}'

    def _receive(self, items: list[Any]) -> Response:
        good: list[tuple[int, T]] = []
        refused: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            value, errors = self._read(item)
            if value is None:
                external_id = item.get("external_id") if isinstance(item, Mapping) else None
                refused.append(refused_item(index, external_id, errors))
            else:
                good.append((index, value))
        accepted: list[dict[str, Any]] = []
        if good:
            try:
                stored = self._store(good)
            except DatabaseError as err:
                if not is_unavailable(err):
                    raise  # a fault of ours, not the database's absence: a 500
                return self._unavailable(err)
            accepted = stored.accepted
            refused = sorted(refused + stored.refused, key=lambda r: int(r["index"]))
            self._tally("new", stored.new)  # an item repeated in the batch counted once
            self._tally("known", stored.known)
        self._tally("refused", len(refused))
        if refused:
            return JSONResponse(
                {
                    "error": f"{len(refused)} of {len(items)} {self.batch} refused; the "
                    f"others were {self.done}",
                    "accepted": accepted,
                    "refused": refused,
                },
                status_code=400,
            )
        return JSONResponse({"accepted": accepted, "refused": []}, status_code=202)

    def _unavailable(self, err: Exception) -> JSONResponse:
        """The database is down, restarting or out of connections: nothing is promised.
        The transaction may or may not have committed, so the sender must send the same
        items again; their keys make that safe."""
        log.warning("%s: the database is unavailable: %s", self.name, type(err).__name__)
        return JSONResponse(
            {
                "error": f"the database is unavailable; the {self.batch} may not be "
                f"{self.done}: send the same request again ({self.again})"
            },
            status_code=503,
            headers={"Retry-After": "1"},
        )

    def _read(self, item: Any) -> tuple[T | None, list[FieldError]]:
        if not isinstance(item, Mapping):
            return None, [FieldError(self.noun, f"expected an object of {self.noun} fields")]
        known = self.fields
        # the usual item, known fields of text only, skips the two checks below
        if not all(k in known and type(v) is str for k, v in item.items()):
            errors = [
                FieldError(echo(str(k)), f"unknown field; known fields: {', '.join(known)}")
                for k in item
                if k not in known
            ]
            errors += [
                FieldError(str(k), "expected a string or a number")
                for k, v in item.items()
                if k in known
                and (isinstance(v, bool) or not (v is None or isinstance(v, (str, int, float))))
            ]
            if errors:
                return None, errors
        return self._validate(item)


def refused_item(index: int, external_id: object, errors: list[FieldError]) -> dict[str, Any]:
    """A refused item as the answer lists it: where it was, its external_id as sent, and
    every problem, each naming its field."""
    return {
        "index": index,
        "external_id": echo(external_id),
        "errors": [{"field": e.field, "message": e.message} for e in errors],
    }


def bearer_matches(header: str, token: str) -> bool:
    """Whether `Authorization` carries `token` as a bearer token (constant-time compare)."""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8", "replace")
    )


def parse_json(body: bytes) -> tuple[Any, str | None]:
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
def echo(value: str) -> str: ...
@overload
def echo(value: object) -> object: ...
def echo(value: object) -> object:
    """A value of the request said back in the answer: text with an unpaired surrogate
    (valid JSON, not encodable as UTF-8) is escaped, and anything but text or a number
    is left out."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, int | float) or value is None:
        return value
    return None

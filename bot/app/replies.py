"""A handoff announced in a Slack channel that could not be read is answered in its
thread, naming what could not be read."""

from __future__ import annotations

from datetime import datetime

from bot.app.messages import enqueue
from storage import leads as store
from storage.engine import Engine, writing


def refuse_handoff(
    engine: Engine,
    event_id: str,
    *,
    channel: str,
    thread_ts: str | None,
    text: str,
    now: datetime,
) -> bool:
    """Marks the Slack event seen and queues `text` as a reply in the message's thread, in
    one transaction: a retried event neither replies twice nor loses the reply. False: the
    event was seen before, and nothing is queued."""
    with writing(engine) as conn:
        if not store.first_delivery(conn, event_id, now):
            return False
        enqueue(
            conn,
            f"reply:{event_id}",
            {"kind": "post", "channel": channel, "thread_ts": thread_ts, "text": text},
            now,
        )
    return True

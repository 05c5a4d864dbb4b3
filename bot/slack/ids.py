"""The ids our Block Kit carries and our listeners match: spelled once, here."""

from __future__ import annotations

import re
from enum import StrEnum

from metrics.model import ContactChannel


class ActionId(StrEnum):
    """A card's interactive elements (`action_id`)."""

    TAKE = "lead.take"
    SNOOZE = "lead.snooze"
    REASSIGN = "lead.reassign"
    REJECT = "lead.reject"


def contacted(channel: ContactChannel) -> str:
    """The "Contacted" button of one way of contact: `lead.contacted.call`, ..."""
    return f"lead.contacted.{channel.value}"


# every "Contacted" button, the way of contact as its last part
CONTACTED = re.compile(
    r"^lead\.contacted\.(" + "|".join(re.escape(c.value) for c in ContactChannel) + r")$"
)
# the reject modal's `callback_id`; its submission is recorded as the reject button's click
REJECT_VIEW = ActionId.REJECT.value

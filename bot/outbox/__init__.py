"""The delivery engine: outbox rows claimed, sent by their platform's sender, retried,
paced and parked; it knows no platform (docs/architecture.md)."""

"""Microsoft Teams delivery: Adaptive Cards through Workflows webhooks."""

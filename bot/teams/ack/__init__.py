"""The one-click pages a Teams card's links open."""

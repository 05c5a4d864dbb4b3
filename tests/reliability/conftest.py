"""The reliability tests drive the same running bot as the end-to-end ones."""

from tests.e2e.conftest import bot  # noqa: F401 (a fixture, found by name)

"""Handwritten items."""

from itemlib import Q  # noqa: F401

ITEMS: list[dict] = []

"""Fixtures of the reliability suite; the helpers themselves live in ``helpers.py``.

The session fixtures of ``tests/conftest.py`` (``settings``, ``documents``, ``catalog``,
``built_index``, ``assistant``) are reused: the real project index is never modified here —
tests that damage or rebuild an index work on a copy under ``tmp_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .helpers import StubLLM, copy_index


@pytest.fixture
def index_copy(built_index: Path, tmp_path: Path) -> Path:
    """A private copy of the real index, for tests that damage, rebuild or kill builds."""
    return copy_index(built_index, tmp_path / "index")


@pytest.fixture
def stub_llm() -> Iterator[Callable[..., StubLLM]]:
    stubs: list[StubLLM] = []

    def make(behaviour: str, **kw: object) -> StubLLM:
        stubs.append(StubLLM(behaviour, **kw))  # type: ignore[arg-type]
        return stubs[-1]

    yield make
    for s in stubs:
        s.close()

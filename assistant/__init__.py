"""jplan-assistant: cited answers about 「デジタル社会の実現に向けた重点計画」.

Public API (imported lazily so that ``python -m assistant catalog`` stays light)::

    from assistant import answer, Answer, Citation, Assistant, InvalidQuestion
"""

from __future__ import annotations

from typing import Any

__all__ = ["Answer", "Assistant", "Citation", "InvalidQuestion", "answer"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("Answer", "Citation"):
        from assistant import answering

        return getattr(answering, name)
    if name == "InvalidQuestion":
        from assistant.questions import InvalidQuestion

        return InvalidQuestion
    if name in ("Assistant", "answer"):
        from assistant import api

        return getattr(api, name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")

"""Input checks: the question and the history as they arrive from a user or a client.

Cleaning happens here, once, before anything else sees the text; what the question means is
worked out in :mod:`assistant.understanding`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

# Characters that can't be displayed or stored safely: C0/C1 controls (except tab/newline),
# lone surrogates, non-characters. They are removed, not rejected.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# 「[No. 3-27]」 as this assistant cites, or a bare 「No. 3-27（…）」 as a pasted answer may name it
_CITATION_RE = re.compile(r"\[No\.\s*(\d+-\d+)\]|(?<![\w\[-])No\.\s*(\d+-\d+)(?![\d-])")
# 「No. 2-1、2-2」「No. 1-47と1-90」: numbers enumerated after one written with 「No.」 are cited too
_ENUMERATED_NO_RE = re.compile(r"\s*(?:、|,|・|と|及び|および|や|/)\s*(?:No\.\s*)?(\d{1,2}-\d{1,3})(?![\d-])")


# Retrieval and sentence scoring look at this much of a question: staff questions are short, and a
# pasted page would otherwise cost seconds of embedding and scoring for no better answer.
MAX_QUERY_CHARS = 300


class InvalidQuestion(ValueError):
    """The question is empty or too long. ``str(exc)`` is a Japanese message for the user."""

    def __init__(self, message: str, *, reason: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason  # "empty" or "too_long"
        self.limit = limit


def clean_question(question: object, max_chars: int) -> str:
    """Normalise user input; raise :class:`InvalidQuestion` for empty or over-long questions."""
    if not isinstance(question, str):
        raise InvalidQuestion("質問は文字列で入力してください。", reason="empty")
    text = _SURROGATE_RE.sub("", question)
    text = _CONTROL_RE.sub(" ", text)
    text = re.sub(r"[ \t\u3000]+", " ", text).strip()
    if not text:
        raise InvalidQuestion("質問が空です。施策の番号（例: No. 1-57）や知りたいことを入力してください。", reason="empty")
    if len(text) > max_chars:
        raise InvalidQuestion(
            f"質問が長すぎます（{len(text):,}文字）。{max_chars:,}文字以内で入力してください。",
            reason="too_long", limit=max_chars,
        )
    return text


def cited_measures(text: str) -> list[str]:
    """Measure numbers an earlier answer cites (``[No. X-Y]``, or a bare ``No. X-Y`` and the
    numbers enumerated right after it), in order of first mention, without repeats."""
    out: list[str] = []
    text = unicodedata.normalize("NFKC", text)
    for m in _CITATION_RE.finditer(text):
        numbers = [m.group(1) or m.group(2)]
        end = m.end()
        while m.group(2) and (more := _ENUMERATED_NO_RE.match(text, end)):
            numbers.append(more.group(1))
            end = more.end()
        out.extend(no for no in numbers if no not in out)
    return out


def message_text(message: dict) -> str:
    """The text of one chat message: a string, or the text parts of a Gradio 6 part list."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # Gradio 6 sends a list of parts; only text parts count
        return " ".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return "" if content is None else str(content)


def normalize_history(history: Sequence[dict] | None, max_turns: int) -> list[dict[str, str]]:
    """Keep well-formed ``{"role", "content"}`` turns (OpenAI/Gradio format), the last ``max_turns``."""
    out: list[dict[str, str]] = []
    for message in history or []:
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        text = _SURROGATE_RE.sub("", message_text(message))
        out.append({"role": message["role"], "content": _CONTROL_RE.sub(" ", text)[:20000]})
    return out[-max_turns * 2 :] if max_turns > 0 else []

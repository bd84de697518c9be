"""Shared fixtures: the real corpus and catalog, and the real index built into a temporary directory.

Isolation from the developer's project and environment:

* Every ``ASSISTANT_*`` variable of the caller is removed (at import, and again before every
  test), so a developer's LLM, Chroma server or index directory never leaks into a test.
* Every test runs with ``ASSISTANT_INDEX_DIR`` pointing at the session's temporary index and
  ``ASSISTANT_FEEDBACK_PATH`` at a file in the test's own ``tmp_path``; child processes started
  by tests inherit both. Nothing here writes into the project's ``index/`` or ``feedback/``.
* The session index is built once, on first use, from a *copy* of an existing embedding cache
  (the caller's ``$ASSISTANT_INDEX_DIR/cache`` or the project's ``index/cache``, only read), so
  it embeds nothing and costs seconds; it takes its own build lock, so a build running in the
  project at the same time neither blocks nor disturbs it. Without any cache it embeds the
  whole corpus (minutes).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "ASSISTANT_"

# Never phone home from tests.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# The caller's settings, kept only to find an embedding cache to copy; then gone from the process.
_CALLER_ENV = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
for _name in _CALLER_ENV:
    del os.environ[_name]


def embedding_cache_sources() -> list[Path]:
    """Directories whose ``*.npz`` embedding caches the session index may copy, best first."""
    candidates = []
    if _CALLER_ENV.get(ENV_PREFIX + "INDEX_DIR"):
        candidates.append(Path(_CALLER_ENV[ENV_PREFIX + "INDEX_DIR"]).expanduser() / "cache")
    candidates.append(ROOT / "index" / "cache")
    return [c for c in candidates if c.is_dir() and any(c.glob("*.npz"))]


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's private directory: ``index/`` (built on demand) and ``feedback/``."""
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session", autouse=True)
def _session_env(session_dir: Path) -> Iterator[None]:
    """Session-wide defaults, so that module fixtures and their child processes are isolated too."""
    saved = {k: os.environ.get(k) for k in (ENV_PREFIX + "INDEX_DIR", ENV_PREFIX + "FEEDBACK_PATH")}
    os.environ[ENV_PREFIX + "INDEX_DIR"] = str(session_dir / "index")
    os.environ[ENV_PREFIX + "FEEDBACK_PATH"] = str(session_dir / "feedback" / "feedback.jsonl")
    yield
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, session_dir: Path, tmp_path: Path) -> None:
    """Before every test: no ``ASSISTANT_*`` but the session index and this test's feedback file."""
    for name in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setenv(ENV_PREFIX + "INDEX_DIR", str(session_dir / "index"))
    monkeypatch.setenv(ENV_PREFIX + "FEEDBACK_PATH", str(tmp_path / "feedback" / "feedback.jsonl"))


@pytest.fixture(scope="session")
def settings(session_dir: Path):
    """Default settings on the session's index (explicit, not read from the environment)."""
    from assistant.config import Settings

    return Settings(index_dir=session_dir / "index", feedback_path=session_dir / "feedback" / "feedback.jsonl")


@pytest.fixture(scope="session")
def documents(settings):
    from assistant.corpus import load_corpus

    return load_corpus(settings.corpus_dir)


@pytest.fixture(scope="session")
def plan_doc(documents):
    return next(d for d in documents if d.info.doc_id == "plan2025")


@pytest.fixture(scope="session")
def catalog(documents):
    from assistant.catalog import build_catalog

    return build_catalog(documents)


@pytest.fixture(scope="session")
def built_index(settings) -> Path:
    """The session's index of the real corpus, built with ``python -m assistant index`` into the
    temporary directory from a copy of the embedding cache."""
    cache = settings.index_dir / "cache"
    sources = embedding_cache_sources()
    if sources:
        cache.mkdir(parents=True, exist_ok=True)
        for npz in sources[0].glob("*.npz"):  # the cache is replaced atomically: any copy is whole
            shutil.copy2(npz, cache / npz.name)
    else:
        warnings.warn("no embedding cache to copy (run `make index` first): the test index embeds the "
                      "whole corpus, which takes minutes", stacklevel=1)
    env = {**os.environ, ENV_PREFIX + "INDEX_DIR": str(settings.index_dir)}
    r = subprocess.run([sys.executable, "-m", "assistant", "index", "--quiet"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=3600)
    assert r.returncode == 0, f"building the test index failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return settings.index_dir


@pytest.fixture(scope="session")
def assistant(settings, built_index, documents):
    from assistant.api import Assistant

    return Assistant(settings, documents=documents)

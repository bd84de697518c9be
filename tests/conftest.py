"""Shared fixtures: the real corpus, catalog and index (built by `make test` before pytest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Never phone home from tests.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def settings():
    from assistant.config import Settings

    return Settings.from_env()


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
def built_index(settings):
    """The project's index (incremental build: seconds when `make test` already built it)."""
    r = subprocess.run([sys.executable, "-m", "assistant", "index", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return settings.index_dir


@pytest.fixture(scope="session")
def assistant(settings, built_index, documents):
    from assistant.api import Assistant

    return Assistant(settings, documents=documents)

"""Exit codes tell the truth: 2 only for the user's input and settings, 3 index, 4 corpus,
1 for an internal error (one line; the traceback only with ``--debug``).

The other codes' end-to-end cases live where their faults are made: empty/long questions in
``test_inputs.py``, path-like filters in ``test_security.py``, missing/damaged/stale indexes and
changed corpus files in ``test_index_faults.py`` and ``test_stale_index.py``.
"""

from __future__ import annotations

import subprocess

import pytest

from assistant.cli import EXIT_BAD_INPUT, EXIT_CORPUS, EXIT_INDEX, EXIT_INTERNAL, exit_code_for
from assistant.config import InvalidSetting
from assistant.corpus import CorpusError
from assistant.index import ChromaUnavailable, IndexBusy, IndexCorrupt, IndexMissing, IndexStale
from assistant.llm import LLMConfigError
from assistant.questions import InvalidQuestion
from assistant.retrieval import InvalidFilter

from .helpers import PROBE, PY, ROOT, child_env, run_cli


@pytest.mark.parametrize(("exc", "code"), [
    (InvalidQuestion("質問が空です。", reason="empty"), EXIT_BAD_INPUT),
    (InvalidFilter("文書IDが見つかりません"), EXIT_BAD_INPUT),
    (InvalidSetting("ASSISTANT_TOP_K"), EXIT_BAD_INPUT),
    (LLMConfigError("ASSISTANT_LLM"), EXIT_BAD_INPUT),
    (IndexMissing("/x"), EXIT_INDEX), (IndexCorrupt("x"), EXIT_INDEX), (IndexStale("x"), EXIT_INDEX),
    (IndexBusy(ROOT / ".build.lock"), EXIT_INDEX), (ChromaUnavailable("http://127.0.0.1:9"), EXIT_INDEX),
    (CorpusError("x"), EXIT_CORPUS),
    # Bugs: a plain ValueError used to be reported as the user's fault (exit 2).
    (ValueError("bug"), EXIT_INTERNAL), (KeyError("bug"), EXIT_INTERNAL), (TypeError("bug"), EXIT_INTERNAL),
    (RuntimeError("bug"), EXIT_INTERNAL),
])
def test_each_kind_of_error_has_its_code(exc, code):
    assert exit_code_for(exc) == code


@pytest.mark.parametrize(("env", "named"), [
    ({"ASSISTANT_TOP_K": "たくさん"}, "ASSISTANT_TOP_K は整数で指定してください"),
    ({"ASSISTANT_EMBEDDER": "word2vec"}, "埋め込みモデルの指定 'word2vec' が不正です"),
    ({"ASSISTANT_CHROMA_URL": "ftp://127.0.0.1"}, "ASSISTANT_CHROMA_URL が不正です"),
    ({"ASSISTANT_AUTO_REINDEX": "たぶん"}, "ASSISTANT_AUTO_REINDEX は 1 か 0 で指定してください"),
], ids=["top-k", "embedder", "chroma-url", "auto-reindex"])
def test_unusable_setting_is_bad_input(built_index, env, named):
    r = run_cli(["ask", PROBE], **env)
    assert r.returncode == EXIT_BAD_INPUT, (r.returncode, r.stderr[-2000:])
    assert r.stderr.startswith("エラー: ") and named in r.stderr and "Traceback" not in r.stderr


# A real command with a bug planted in the pipeline it calls: a ValueError that is nobody's input.
_BUGGY = """
import sys
import assistant.pipeline as pipeline

def load_catalog(settings):
    raise ValueError("計画の読み込みで不具合が起きました\\n(二行目)")

pipeline.load_catalog = load_catalog
from assistant.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _buggy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-c", _BUGGY, *args], cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=120)


def test_internal_error_is_one_line_and_exit_1():
    r = _buggy("catalog")
    assert r.returncode == EXIT_INTERNAL, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("内部エラー: ValueError: 計画の読み込みで不具合が起きました (二行目)")
    assert "--debug" in lines[0] and "Traceback" not in r.stderr


@pytest.mark.parametrize("argv", [["catalog", "--debug"], ["--debug", "catalog"]], ids=["after", "before"])
def test_debug_shows_the_traceback(argv):
    r = _buggy(*argv)
    assert r.returncode == EXIT_INTERNAL, (r.returncode, r.stderr)
    assert "Traceback (most recent call last)" in r.stderr and "in load_catalog" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("内部エラー: ValueError: ")

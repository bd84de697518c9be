"""Helpers for the reliability suite: CLI subprocesses, index copies, a real Chroma server, a stub LLM.

Every server here binds 127.0.0.1 and every wait is bounded in time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CHROMA_BIN = Path(sys.executable).with_name("chroma")
PROBE = "No. 1-57 の主担当は？"  # a question whose answer is a catalog fact: cheap and exact


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# tests/conftest.py has already removed the caller's ASSISTANT_* settings and pointed
# ASSISTANT_INDEX_DIR / ASSISTANT_FEEDBACK_PATH at temporary paths, which children inherit (so a
# child opens the session's index and never writes the project's feedback file). Behaviour
# settings a test may have set for itself (LLM, UI, limits) are not passed on unless asked for.
_NOT_INHERITED = ("ASSISTANT_LLM", "ASSISTANT_UI_", "ASSISTANT_MAX_")


def child_env(**extra: object) -> dict[str, str]:
    """The environment for a child process: no LLM/UI settings from the caller, no telemetry, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    env.update(ANONYMIZED_TELEMETRY="False", GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1",
               PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_cli(args: list[str], *, timeout: float = 180, **env: object) -> subprocess.CompletedProcess[str]:
    """``python -m assistant <args>`` in a subprocess (cwd = project root), bounded by ``timeout``."""
    return subprocess.run([PY, "-m", "assistant", *args], cwd=ROOT, env=child_env(**env), capture_output=True,
                          text=True, timeout=timeout)


def current_build(index_dir: Path) -> Path:
    return index_dir / "builds" / (index_dir / "CURRENT").read_text(encoding="utf-8").strip()


def copy_index(src: Path, dest: Path, *, with_build: bool = True) -> Path:
    """Copy what serving needs: ``CURRENT``, the current ``builds/<id>`` and the embedding ``cache/``."""
    dest.mkdir(parents=True, exist_ok=True)
    if (src / "cache").is_dir():
        shutil.copytree(src / "cache", dest / "cache")
    if with_build:
        build = current_build(src)
        shutil.copytree(build, dest / "builds" / build.name)
        shutil.copy2(src / "CURRENT", dest / "CURRENT")
    return dest


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class ChromaServer:
    """A real ``chroma run`` on 127.0.0.1 that can be killed and restarted on the same port and path."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        import httpx

        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [str(CHROMA_BIN), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=child_env(),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"chroma did not answer its heartbeat in {timeout} s")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        # The port must be free again before a restart on the same port.
        wait_until(lambda: not port_open(self.port), 10)


# -- a stub OpenAI-compatible endpoint ---------------------------------------------------------


class StubLLM:
    """``/v1/chat/completions`` on 127.0.0.1 with a chosen behaviour; records request bodies."""

    def __init__(self, behaviour: str, *, sleep_s: float = 0.0, reply: str = "") -> None:
        self.behaviour, self.sleep_s, self.reply = behaviour, sleep_s, reply
        self.bodies: list[str] = []
        self._stop = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                stub.bodies.append(body)
                if stub.behaviour == "slow":
                    stub._stop.wait(stub.sleep_s)  # bounded; cut short when the stub is closed
                streaming = '"stream": true' in body or '"stream":true' in body
                ctype = "text/event-stream" if streaming else "application/json"
                if stub.behaviour == "garbage":
                    payload = b"data: {this is not json\n\n" if streaming else b"{this is not json"
                elif streaming:
                    chunks = [{"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "fake",
                               "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                              for piece in (stub.reply[: len(stub.reply) // 2], stub.reply[len(stub.reply) // 2 :])]
                    payload = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
                else:
                    payload = json.dumps({
                        "id": "x", "object": "chat.completion", "created": 0, "model": "fake",
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": stub.reply}}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout): expected for "slow"

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

"""A real ``python -m assistant serve`` child process on a free loopback port, for the HTTP tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 300.0  # two shared cores: loading can be slow while other suites run


def free_port() -> int:
    from assistant.http_bench import free_port as pick

    return pick()


class LiveServer:
    """Starts ``serve`` with extra CLI args and environment; ``wait()`` blocks until it answers."""

    def __init__(self, *args: str, env: dict[str, str] | None = None, token: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.log = Path(tempfile.mkstemp(prefix="serve-", suffix=".log")[1])
        full_env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "ANONYMIZED_TELEMETRY": "False",
                    "HF_HUB_OFFLINE": "1", **(env or {})}
        if token:
            full_env["ASSISTANT_API_TOKEN"] = token
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(self.port), *args],
            cwd=ROOT, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT,
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}

    def client(self, **kwargs: object) -> httpx.Client:
        """An httpx client for this server, authorised unless ``headers`` are given."""
        kwargs.setdefault("headers", self.headers)
        kwargs.setdefault("timeout", 120)
        return httpx.Client(base_url=self.url, **kwargs)  # type: ignore[arg-type]

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait(self) -> LiveServer:
        """Until the server prints its start-up line (the socket is bound then)."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.output()[-4000:]}")
            if "起動しました" in self.output():
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"serve did not start in {START_TIMEOUT_S:.0f} s:\n{self.output()[-4000:]}")

    def stop(self) -> None:
        """Ctrl+C (graceful: worker processes are shut down too), then kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()

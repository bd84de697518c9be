"""HTTP throughput benchmark: ``python -m assistant bench --http [--queries N]``.

Starts ``python -m assistant serve`` on free loopback ports with 1 worker and with 2, and
sends the same new questions (never asked of that server before, so no query-vector cache
helps) to ``POST /api/answer`` from concurrent clients. Prints questions per second, latency
p50/p95 and the speed-up side by side. A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from assistant.config import PROJECT_ROOT, Settings

ITEMS = PROJECT_ROOT / "evals" / "items.jsonl"
CLIENTS = 8
WARMUP = 24
START_TIMEOUT_S = 300.0
TARGET_SPEEDUP = 1.6
ROUNDS = 3


def settings_env(settings: Settings) -> dict[str, str]:
    """``ASSISTANT_*`` variables for the fields where ``settings`` differ from the environment
    (the CLI flags), so a child process sees the same settings."""
    from_env = Settings.from_env()
    return {"ASSISTANT_" + f.name.upper(): str(getattr(settings, f.name)) for f in dataclasses.fields(settings)
            if getattr(settings, f.name) != getattr(from_env, f.name)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_questions(n: int) -> list[str]:
    """``n`` distinct questions from the evaluation suite (numbered copies if it has fewer)."""
    seen: dict[str, None] = {}
    for line in ITEMS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            seen.setdefault(json.loads(line)["question"], None)
    base = list(seen)
    out = list(base)
    round_no = 2
    while len(out) < n:  # a suffix makes the text (and so the query vector) new
        out += [f"{q}（その{round_no}）" for q in base]
        round_no += 1
    return out[:n]


def launch_server(settings: Settings, workers: int, port: int, log_path: Path) -> subprocess.Popen:
    """``python -m assistant serve --workers N`` in a child process, output to ``log_path``."""
    env = {**os.environ, **settings_env(settings), "ASSISTANT_UI_HOST": "127.0.0.1", "ASSISTANT_UI_PORT": str(port)}
    with log_path.open("wb") as log:
        return subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--workers", str(workers)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT)


def wait_ready(proc: subprocess.Popen, url: str, token: str, log_path: Path) -> None:
    """Until ``/api/health`` answers 200; raises if the server exits or takes too long."""
    import httpx

    headers = {"authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"{url}/api/health", headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"serve did not become ready in {START_TIMEOUT_S:.0f} s; see {log_path}")


def stop_server(proc: subprocess.Popen) -> None:
    """Ctrl+C, then kill if it does not stop."""
    proc.send_signal(2)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ask_all(url: str, questions: list[str], token: str = "", clients: int = CLIENTS) -> dict[str, Any]:
    """Send every question once from ``clients`` concurrent keep-alive clients; time it.

    The clients use ``http.client``: they share the two cores with the server, and the
    lightest client takes the least from it.
    """
    from http.client import HTTPConnection
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    latencies: list[float] = []
    failures = 0
    chunks = [questions[i::clients] for i in range(clients)]

    def run(chunk: list[str]) -> tuple[list[float], int]:
        lat, bad = [], 0
        conn = HTTPConnection(parts.hostname, parts.port, timeout=120)
        try:
            for q in chunk:
                body = json.dumps({"question": q}, ensure_ascii=False).encode("utf-8")
                t0 = time.perf_counter()
                conn.request("POST", "/api/answer", body=body, headers=headers)
                response = conn.getresponse()
                response_body = response.read()
                lat.append((time.perf_counter() - t0) * 1000)
                bad += response.status != 200 or not response_body
        finally:
            conn.close()
        return lat, bad

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for lat, bad in pool.map(run, chunks):
            latencies += lat
            failures += bad
    elapsed = time.perf_counter() - t0
    ordered = sorted(latencies)
    return {
        "questions": len(questions), "failures": failures, "seconds": round(elapsed, 2),
        "questions_per_s": round(len(questions) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
    }


def run(settings: Settings, n_queries: int, worker_counts: tuple[int, ...] = (1, 2),
        rounds: int = ROUNDS) -> dict[str, Any]:
    """One benchmark run. A server per worker count, started together; then ``rounds`` rounds
    that take turns between them (so a change in background load hits both alike), each with
    questions new to that server. Figures are the medians over the rounds."""
    import tempfile

    per_round = max(CLIENTS, n_queries // rounds)
    questions = new_questions(WARMUP + per_round * rounds)
    warmup = questions[:WARMUP]
    batches = [questions[WARMUP + i * per_round: WARMUP + (i + 1) * per_round] for i in range(rounds)]
    results: dict[str, Any] = {"clients": CLIENTS, "cores": os.cpu_count(), "embedder": settings.embedder,
                               "rounds": rounds, "questions_per_round": per_round, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        servers: dict[int, tuple[subprocess.Popen, str]] = {}
        try:
            for workers in worker_counts:
                port = free_port()
                servers[workers] = (launch_server(settings, workers, port, Path(tmp) / f"serve-{workers}.log"),
                                    f"http://127.0.0.1:{port}")
            for workers, (proc, url) in servers.items():
                wait_ready(proc, url, settings.api_token, Path(tmp) / f"serve-{workers}.log")
                # Every worker loads its model on start-up; the warm-up also fills the OS caches.
                ask_all(url, warmup, settings.api_token)
            measured: dict[int, list[dict[str, Any]]] = {w: [] for w in servers}
            for batch in batches:
                for workers, (_proc, url) in servers.items():
                    measured[workers].append(ask_all(url, batch, settings.api_token))
        finally:
            for proc, _url in servers.values():
                stop_server(proc)
    for workers, runs in measured.items():
        results["runs"][str(workers)] = {
            "questions": sum(r["questions"] for r in runs), "failures": sum(r["failures"] for r in runs),
            "questions_per_s": statistics.median(r["questions_per_s"] for r in runs),
            "p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "p95_ms": statistics.median(r["p95_ms"] for r in runs),
            "rounds_questions_per_s": [r["questions_per_s"] for r in runs],
        }
    base = results["runs"].get("1", {}).get("questions_per_s")
    for r in results["runs"].values():
        r["speedup"] = round(r["questions_per_s"] / base, 2) if base else None
    return results


def print_table(results: dict[str, Any]) -> None:
    """The runs side by side."""
    runs = results["runs"]
    n = next(iter(runs.values()))["questions"] if runs else 0
    print(f"HTTP throughput of new questions: POST /api/answer, {results['clients']} concurrent clients, "
          f"{n} questions per server in {results['rounds']} alternating rounds, {results['cores']} cores (medians)")
    print(f"{'workers':>7}  {'questions/s':>11}  {'p50 ms':>7}  {'p95 ms':>7}  {'failures':>8}  {'speed-up':>8}  rounds q/s")
    for workers, r in runs.items():
        print(f"{workers:>7}  {r['questions_per_s']:>11}  {r['p50_ms']:>7}  {r['p95_ms']:>7}  {r['failures']:>8}  "
              f"{str(r['speedup']) + 'x':>8}  {r['rounds_questions_per_s']}")
    if "2" in runs:
        print(f"2 workers vs 1: {runs['2']['speedup']}x (target >= {TARGET_SPEEDUP}x)")


def main(args: argparse.Namespace, settings: Settings) -> int:
    """CLI entry for ``bench --http``."""
    from assistant.bench import emit

    return emit(run(settings, getattr(args, "queries", 200)), print_table, as_json=getattr(args, "json", False))

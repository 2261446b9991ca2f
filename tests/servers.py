"""Running ``invoicekit`` as real processes in tests: the CLI, ``serve`` on a free port, and
the benchmark scripts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest


def kit_env(home: Path, database_url: str, queue_url: str | None) -> dict[str, str]:
    """The environment of an ``invoicekit`` process on the test database and queue (the
    instance's own SQLite queue when no test queue is set)."""
    env = {**os.environ, "INVOICEKIT_HOME": str(home), "INVOICEKIT_DATABASE_URL": database_url}
    env.pop("INVOICEKIT_QUEUE_URL", None)
    if queue_url:
        env["INVOICEKIT_QUEUE_URL"] = queue_url
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def invoicekit(env: dict[str, str], *args: str) -> str:
    """Run an ``invoicekit`` command; its standard output, or a failed assertion."""
    result = subprocess.run([sys.executable, "-m", "webhooks.cli", *args], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def start_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    """``invoicekit serve`` on ``port``, once it answers ``/healthz``."""
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "webhooks.cli", "serve", "--port",
                                    str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_until(lambda: healthy(port))
    return process


def stop_serve(process: subprocess.Popen) -> None:
    """Stop ``invoicekit serve`` as Ctrl-C would; kill it if it has not ended in 30 s."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_bench(script: Path, *args: str, timeout: float) -> str:
    """Run a benchmark script to its end and return what it printed; it must exit 0 within
    ``timeout`` seconds. It gets its own process group, so on a timeout the processes it
    started are killed with it."""
    process = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the benchmark took more than {timeout:.0f} s:\n{out}{err}")
    assert process.returncode == 0, out + err
    return out

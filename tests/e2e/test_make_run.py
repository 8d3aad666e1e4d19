"""`make run` on embedded defaults: web, worker and beat start from nothing, a task sent by the
web process completes in the worker, everything under var/ is the owner's only, and Ctrl-C stops
all three quietly with exit status 0."""

import fcntl
import os
import pty
import re
import signal
import socket
import stat
import subprocess
import termios
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, *, status: int, timeout: float, **kwargs) -> requests.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=15, **kwargs)
            if last.status_code == status:
                return last
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never answered {status}; last: {last and last.text}")


def _children(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except FileNotFoundError:
        return []


@pytest.fixture
def make_run(tmp_path):
    """`make run` with a pseudo-terminal as its controlling terminal, so a test can press
    Ctrl-C (write ^C to the terminal) exactly as a user does."""
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "CELERY_BROKER_URL",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_SECRET_KEY",
            "FLOWKER_ENCRYPTION_KEY",
            "TEST_DATABASE_URL",
            # The suite's metrics folder: make run empties the one it is given.
            "PROMETHEUS_MULTIPROC_DIR",
        }
    }
    env.update(
        FLOWKER_VAR_DIR=str(tmp_path / "var"),
        PORT=str(port),
        FLOWKER_BEAT_HEARTBEAT_SECONDS="1",
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
    )
    terminal, terminal_side = pty.openpty()
    log_path = tmp_path / "make-run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=REPO,
            env=env,
            stdin=terminal_side,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # After setsid, the pseudo-terminal on stdin becomes the controlling terminal.
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
        )
    os.close(terminal_side)

    def ctrl_c() -> None:
        os.write(terminal, b"\x03")

    try:
        yield f"http://127.0.0.1:{port}", process, log_path, tmp_path / "var", ctrl_c
    finally:
        if process.poll() is None:
            # The supervisor (make's child, in its own process group) stops web, worker and
            # beat on SIGTERM; SIGKILL would orphan them.
            for child in _children(process.pid):
                os.kill(child, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        os.close(terminal)


def test_make_run_serves_and_runs_tasks_then_stops_on_ctrl_c(make_run):
    base, process, log_path, var_dir, ctrl_c = make_run
    health = _wait_for(f"{base}/health", status=200, timeout=300).json()
    assert health["checks"]["database"]["status"] == "healthy"
    assert (var_dir / "flowker.sqlite3").exists()
    assert (var_dir / "secrets.env").exists()

    assert _wait_for(f"{base}/swagger/", status=200, timeout=10).text.count("swagger") > 0

    # /readyz sends a ping task from the web process; it is healthy only when the worker ran it
    # (and beat's heartbeat task ran in the worker too).
    ready = _wait_for(f"{base}/readyz", status=200, timeout=60).json()
    assert ready["deployment_mode"] == "embedded"
    assert ready["checks"]["worker"]["status"] == "up"
    assert ready["checks"]["scheduler"]["status"] == "up"

    key = re.search(r"flk_[0-9a-f]{8}_[A-Za-z0-9_-]+", log_path.read_text()).group(0)
    events = requests.get(f"{base}/v1/audit-events", headers={"X-API-Key": key}, timeout=5)
    assert events.status_code == 200
    assert events.json()["items"][0]["eventType"] == "API_KEY_CREATED"

    # Everything under var/ is the owner's only: the database, broker, cache, schedule, secrets.
    shared = [
        f"{path.relative_to(var_dir)} {stat.filemode(path.stat().st_mode)}"
        for path in [var_dir, *var_dir.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & 0o077
    ]
    assert not shared, shared
    assert stat.S_IMODE((var_dir / "flowker.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(var_dir.stat().st_mode) == 0o700

    stopping_from = len(log_path.read_text())
    ctrl_c()
    assert process.wait(timeout=90) == 0
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
    shutdown = log_path.read_text()[stopping_from:]
    assert "stopped" in shutdown
    for noise in ("ERROR", "Error", "Traceback", "make: ***", "signal 15"):
        assert noise not in shutdown, shutdown
    port = base.rsplit(":", 1)[1]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/health", timeout=2)

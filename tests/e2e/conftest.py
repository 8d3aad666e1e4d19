"""End-to-end harness: a real Celery worker (with beat's reaper) against the test PostgreSQL
and Redis, and provider stubs on 127.0.0.1. Timing settings are shortened for the worker it
starts; the defaults are the guide's numbers."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.support.browser import console_page, screenshot  # noqa: F401 - fixtures
from tests.support.stub_server import stub_server  # noqa: F401 - fixture

REPO = Path(__file__).resolve().parents[2]

# The worker's timing (tests override the same names in their own process where they matter).
WORKER_ENV = {
    "FLOWKER_RETRY_BACKOFF_SECONDS": "0.25",
    "FLOWKER_BREAKER_RESET_SECONDS": "2",
    "FLOWKER_EXECUTION_LEASE_SECONDS": "3",
    "FLOWKER_REAPER_INTERVAL_SECONDS": "1",
    "FLOWKER_DISPATCH_GRACE_SECONDS": "2",
    "FLOWKER_RETRY_AFTER_MAX_SECONDS": "3",
    "FLOWKER_BEAT_HEARTBEAT_SECONDS": "1",
    "FLOWKER_CALLBACK_BACKOFF_SECONDS": "0.2",
    "FLOWKER_CALLBACK_MAX_ATTEMPTS": "4",
}


def _environment(**extra: str) -> dict[str, str]:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        **WORKER_ENV,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TEST_DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        **extra,
    }
    env.pop("CELERY_BROKER_URL", None)
    return env


class Worker:
    """A `celery worker` subprocess; `beat=True` also runs beat (the reaper) inside it."""

    def __init__(
        self,
        tmp: Path,
        name: str,
        *,
        beat: bool,
        concurrency: int = 2,
        queue: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.log = tmp / f"{name}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "flowker", "worker",
            "--loglevel", "INFO", "--concurrency", str(concurrency),
            "--without-gossip", "--without-mingle", "--hostname", f"{name}@%h",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(tmp / f"{name}-beat-schedule")]
        extra = dict(env or {})
        if queue:
            command += ["--queues", queue]
            extra["FLOWKER_EXECUTION_QUEUE"] = queue
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=_environment(**extra),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log.read_text()[-4000:]}")
            if "ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready:\n{self.log.read_text()[-4000:]}")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children), as a crash would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """The suite's worker, with beat; started once, after the test database exists."""
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    running = Worker(tmp_path_factory.mktemp("worker"), "e2e", beat=True)
    yield running
    running.stop()


@pytest.fixture
def victim_worker(worker, tmp_path, settings) -> Iterator[Worker]:
    """A second worker that alone consumes the `victim` queue, where this test's executions
    are sent, so a test can kill the worker that runs them; the suite's worker (with the
    reaper) is what resumes them."""
    settings.FLOWKER_EXECUTION_QUEUE = "victim"
    extra = Worker(tmp_path, "victim", beat=False, concurrency=1, queue="victim")
    yield extra
    extra.stop()

"""Broker outages, on a stack of their own: a private redis-server (started and stopped by the
test, its data kept across the restart as a real server keeps it), gunicorn, a Celery worker
with 8 pool processes and beat, all against the test PostgreSQL.

- The worker survives the broker going away and coming back while tasks are in flight and
  acknowledged late (kombu/Celery 5.7 used to stop it for good: flowker/broker.py), and goes on
  executing what arrives after.
- While the broker is down a start is answered at once (one bounded connection attempt, no
  retry loop on the request path) and `/health` answers too; the execution's dispatch record
  says the broker never took it, and the reaper sends it once the broker is back.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from executions.choices import ACTIVE
from executions.models import Execution
from tests.e2e.conftest import REPO, Worker, _environment
from tests.e2e.helpers import call_workflow
from tests.support.stub_server import StubResponse

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REQUEST_TIMEOUT = 5  # a request that takes longer than this fails the test


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of this test's own, on a free loopback port; its data survives a stop
    (saved on shutdown) as a production server's does."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--save", "1 1", "--appendonly", "no",
        ]  # fmt: skip
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


class Web:
    """gunicorn as the Procfile runs it (one process, 8 threads)."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.url = f"http://127.0.0.1:{_free_port()}"
        self.log = folder / "web.log"
        command = [
            sys.executable, "-m", "gunicorn", "-c", "python:flowker.gunicorn_conf",
            "flowker.wsgi:application", "--bind", self.url.removeprefix("http://"),
            "--workers", "1", "--threads", "8", "--error-logfile", "-",
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.url}/version", timeout=10)
                return
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(self.log.read_text()[-4000:]) from None
                time.sleep(0.2)

    def stop(self) -> None:
        _stop(self.process)


class Beat:
    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.log = folder / "beat.log"
        command = [
            sys.executable, "-m", "celery", "-A", "flowker", "beat", "--loglevel", "INFO",
            "--schedule", str(folder / "beat-schedule"),
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        _stop(self.process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Stack:
    def __init__(self, folder: Path, api_key: str) -> None:
        self.redis = RedisServer(folder)
        # The reaper's last resort (a task the broker took but nobody ran, e.g. one popped from
        # its list as the connection died) is shortened to fit the test's wait.
        overrides = {"REDIS_URL": self.redis.url, "FLOWKER_DISPATCH_REPUBLISH_SECONDS": "20"}
        env = _environment(**overrides)
        self.headers = {"X-API-Key": api_key}
        self.web = self.worker = self.beat = None
        try:
            self.web = Web(folder, env)
            self.worker = Worker(folder, "outage", beat=False, concurrency=8, env=overrides)
            self.beat = Beat(folder, env)
        except BaseException:
            self.stop()
            raise

    def start_execution(self, workflow_id: str) -> str:
        response = requests.post(
            f"{self.web.url}/v1/workflows/{workflow_id}/executions",
            json={"inputData": {}},
            headers=self.headers,
            timeout=REQUEST_TIMEOUT,
        )
        assert response.status_code == 201, response.text
        return response.json()["executionId"]

    def stop(self) -> None:
        for process in (self.beat, self.worker, self.web):
            if process is not None:
                process.stop()
        self.redis.stop()


@pytest.fixture
def stack(tmp_path, api_key) -> Iterator[Stack]:
    running = Stack(tmp_path, api_key[1])
    yield running
    running.stop()


def _wait_all_ended(stack: "Stack", timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while Execution.objects.filter(status__in=ACTIVE).exists():
        if time.monotonic() > deadline:
            left = list(
                Execution.objects.filter(status__in=ACTIVE).values(
                    "id", "status", "dispatched_at", "published_at", "dispatch_count",
                    "lease_owner", "lease_expires_at",
                )
            )  # fmt: skip
            broker = redis.Redis.from_url(stack.redis.url)
            lists = [name for name in broker.keys("*") if broker.type(name) == b"list"]
            queues = {name: broker.llen(name) for name in lists}
            raise AssertionError(f"executions still active: {left}; queues: {queues}")
        time.sleep(0.2)


def test_a_worker_with_8_processes_survives_broker_restarts_and_goes_on(
    stack, stub_server, client_api
):
    stub_server.on("POST", "/call", StubResponse(200, {"value": "ok"}, delay=0.2))
    workflow_id = call_workflow(client_api, stub_server)
    for outage in range(2):
        started = [stack.start_execution(workflow_id) for _ in range(24)]
        # Tasks in flight (late acknowledgement pending) when the broker goes away.
        stub_server.wait_for(outage * 24 + 8, "POST", "/call", timeout=30)
        stack.redis.stop()
        time.sleep(5)
        stack.redis.start()
        _wait_all_ended(stack)
        assert stack.worker.process.poll() is None, stack.worker.log.read_text()[-4000:]
        statuses = set(Execution.objects.filter(pk__in=started).values_list("status", flat=True))
        assert statuses == {"completed"}
    log = stack.worker.log.read_text()
    assert "Connection to broker lost" in log  # the outages did reach the worker
    assert "Unrecoverable error" not in log
    # And it goes on executing what arrives after the broker came back.
    after = [stack.start_execution(workflow_id) for _ in range(8)]
    _wait_all_ended(stack)
    assert set(Execution.objects.filter(pk__in=after).values_list("status", flat=True)) == {
        "completed"
    }


def test_starts_during_a_broker_outage_answer_at_once_and_run_once_it_returns(
    stack, stub_server, client_api
):
    stub_server.on("POST", "/call", StubResponse(200, {"value": "ok"}))
    workflow_id = call_workflow(client_api, stub_server)
    stack.redis.stop()
    # Each request fails the test if it takes over REQUEST_TIMEOUT (it used to wait ~6 s per
    # publish in kombu's connection retries, and every web thread with it).
    started = [stack.start_execution(workflow_id) for _ in range(10)]
    health = requests.get(f"{stack.web.url}/health", timeout=REQUEST_TIMEOUT)
    assert health.status_code == 503
    assert health.json()["checks"]["broker"]["status"] == "unhealthy"
    unpublished = Execution.objects.filter(pk__in=started, published_at__isnull=True)
    assert unpublished.count() == 10  # the dispatch records say the broker never took them
    stack.redis.start()
    _wait_all_ended(stack)
    ended = Execution.objects.filter(pk__in=started)
    assert set(ended.values_list("status", flat=True)) == {"completed"}
    assert all(execution.dispatch_count == 2 for execution in ended)  # sent by the reaper
    assert len(stub_server.requests("POST", "/call")) == 10

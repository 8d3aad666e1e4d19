"""Processes, databases and load loops for `make bench`: everything it starts is stopped by PID,
every loop is bounded in count and time, and all traffic goes to 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests

REPO = Path(__file__).resolve().parents[2]
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def recreate_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def run(command: list[str], env: dict[str, str]) -> int:
    return subprocess.run(command, cwd=REPO, env=env, check=False).returncode


class Process:
    """A child in its own session, so stopping it stops its whole process group."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.command = command
        with open(log, "ab") as out:
            self.popen = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)


def gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> Process:
    """The web tier as `make run` starts it (Procfile): 2 workers x 8 threads."""
    return Process(
        [sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
         "--workers", env.get("WEB_CONCURRENCY", "2"), "--threads", env.get("WEB_THREADS", "8")],
        env, log,
    )  # fmt: skip


def celery(app: str, env: dict[str, str], log: Path, *extra: str) -> Process:
    """A Celery worker as `make run` starts it (Procfile)."""
    return Process(
        [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "WARNING",
         "--concurrency", env.get("WORKER_CONCURRENCY", "2"),
         "--pool", env.get("WORKER_POOL", "prefork"), "--without-gossip",
         "--without-mingle", *extra],
        env, log,
    )  # fmt: skip


def wait_http(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class LoadResult:
    started: float  # wall clock (time.time) of the first request
    ended: float  # wall clock when the last request returned
    latencies_ms: list[float] = field(default_factory=list)  # of accepted requests
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.statuses.get(201, 0) + self.statuses.get(200, 0)


def closed_loop(
    send: Callable[[requests.Session, int], requests.Response],
    *,
    clients: int,
    seconds: float | None = None,
    requests_per_client: int | None = None,
    accept: Callable[[requests.Response], bool] = lambda r: r.status_code in (200, 201),
) -> LoadResult:
    """`clients` threads, each sending one request after the other until the time or count is
    up. A refused request waits as a well-behaved caller does (a payment platform's webhook
    sender backs off): after a 503 the `Retry-After` it names (never past the end of the load),
    after a connection error or 429 a moment."""
    assert seconds or requests_per_client
    lock = threading.Lock()
    result = LoadResult(started=time.time(), ended=0.0)
    stop_at = time.monotonic() + (seconds or 600)
    counter = iter(range(10**9))

    def client() -> None:
        session = requests.Session()
        sent = 0
        while time.monotonic() < stop_at and (
            requests_per_client is None or sent < requests_per_client
        ):
            with lock:
                index = next(counter)
            begun = time.perf_counter()
            pause = 0.02
            try:
                response = send(session, index)
                status = response.status_code
                if status == 503:
                    pause = _retry_after(response, default=pause)
                if status in (200, 201) and not accept(response):
                    status = 299  # answered, but without what the caller waited for
            except requests.RequestException:
                status = 0
            elapsed = (time.perf_counter() - begun) * 1000
            sent += 1
            with lock:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status in (200, 201):
                    result.latencies_ms.append(elapsed)
            if status in (0, 429, 503):
                time.sleep(max(0.0, min(pause, stop_at - time.monotonic())))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=(seconds or 600) + 60)
    result.ended = time.time()
    return result


def _retry_after(response: requests.Response, *, default: float) -> float:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return default


class RssSampler:
    """Peak resident memory of any one process in a process group, sampled twice a second."""

    def __init__(self, process_group: int) -> None:
        self.process_group = process_group
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _members(self) -> list[str]:
        members = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) == self.process_group:
                members.append(entry)
        return members

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            for pid in self._members():
                try:
                    resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                self.peak_bytes = max(self.peak_bytes, resident * PAGE_SIZE)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak_bytes / 2**20


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: str) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def _command(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class CpuMeter:
    """CPU seconds (user + system) spent by named parts of the system between `start` and
    `stop`: process groups this bench started, PostgreSQL's and Redis's server processes (all
    of them: while one side is measured the other is idle), and this process (the load
    generator). Processes that exit meanwhile are missed, so it is a lower bound."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups  # name → process group id
        self._before: dict[str, float] = {}

    def _sample(self) -> dict[str, float]:
        totals = {name: 0.0 for name in (*self.groups, "postgres", "redis")}
        by_group = {pgid: name for name, pgid in self.groups.items()}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            fields = _stat_fields(entry)
            if fields is None:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            name = by_group.get(int(fields[2]))
            if name is None:
                command = _command(entry)
                if command.startswith("postgres"):
                    name = "postgres"
                elif command.startswith("redis-server"):
                    name = "redis"
            if name is not None:
                totals[name] += seconds
        own = os.times()
        totals["load generator"] = own.user + own.system
        return totals

    def start(self) -> None:
        self._before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        return {name: after[name] - self._before.get(name, 0.0) for name in after}

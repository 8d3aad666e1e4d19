"""`make chaos`: Flowker's real processes (the Procfile's web, worker and beat) on a PostgreSQL
cluster and a Redis server of the run's own, the guide's payment workflow driven through its
webhook with unique Idempotency-Keys while faults are injected; then every accepted request is
checked against the database and the provider stub's own log (tests/chaos/checker.py).

Scenarios: worker crash, broker outage, database outage, beat down during a worker crash,
provider faults, concurrency, soak. Prints one JSON document, writes var/chaos/latest.json and
exits non-zero when any scenario has lost executions, duplicate provider calls, 5xx answers other
than a 503 refusal, or a violated expectation (listed under `violations`).

Bounded: CHAOS_BUDGET_SECONDS (900) for the whole run; the soak gets CHAOS_SOAK_SECONDS (600)
or what the budget leaves, whichever is shorter (both are reported). Loopback only; every
process it starts is stopped by PID.
"""

import contextlib
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests

from flowker.procfile import read_procfile
from tests.benchmarks import harness
from tests.benchmarks.harness import Process, free_port, percentile
from tests.chaos import checker
from tests.chaos.checker import Sent
from tests.chaos.cluster import Postgres, Redis
from tests.chaos.setup import FAULTS, TOKEN

STARTED = time.monotonic()
BUDGET_S = float(os.environ.get("CHAOS_BUDGET_SECONDS", "900"))
SOAK_S = float(os.environ.get("CHAOS_SOAK_SECONDS", "600"))
GRACE_S = float(os.environ.get("CHAOS_GRACE_SECONDS", "150"))
WORKER_CONCURRENCY = os.environ.get("CHAOS_WORKER_CONCURRENCY", "4")
HTTP_TIMEOUT_S = "2"  # the provider call timeout, so timeouts and trickles end quickly
WORK = Path(os.environ.get("CHAOS_DIR", "/tmp/flowker-chaos"))
OUTPUT = harness.REPO / "var" / "chaos" / "latest.json"
CLIENT_TIMEOUT_S = 10
TERMINAL_SQL = "('completed', 'failed', 'cancelled')"


def _say(text: str) -> None:
    print(f"[chaos {time.monotonic() - STARTED:6.1f}s] {text}", file=sys.stderr, flush=True)


class Flowker:
    """The Procfile's processes, each in a session of its own (its PID is its process group)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.commands = read_procfile(harness.REPO / "Procfile")
        self.processes: dict[str, Process] = {}

    def start(self, name: str) -> Process:
        self.processes[name] = Process(
            ["bash", "-c", f"exec {self.commands[name]}"], self.env, WORK / f"{name}.log"
        )
        return self.processes[name]

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)

    def kill(self, name: str) -> None:
        """SIGKILL to the whole process group (a prefork worker and all its children)."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.popen.wait(timeout=10)

    def alive(self, name: str) -> bool:
        return self.processes[name].popen.poll() is None

    def members(self) -> list[int]:
        """Every process of every group this run started for Flowker."""
        groups = {process.pid for process in self.processes.values()}
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) in groups:
                found.append(int(entry))
        return found

    def group_rss_mb(self, name: str) -> float:
        return sum(self.process_rss_mb(name))

    def process_rss_mb(self, name: str) -> list[float]:
        """Resident memory of each process of one group."""
        pid = self.processes[name].pid
        found = []
        for member in self.members():
            try:
                stat = Path(f"/proc/{member}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[2]) != pid:
                    continue
                pages = int(Path(f"/proc/{member}/statm").read_text().split()[1])
            except (OSError, ValueError, IndexError):
                continue
            found.append(pages * harness.PAGE_SIZE / 2**20)
        return found

    def open_fds(self) -> int:
        count = 0
        for member in self.members():
            try:
                count += len(os.listdir(f"/proc/{member}/fd"))
            except OSError:
                continue
        return count

    def stop_all(self) -> None:
        for process in self.processes.values():
            process.stop()


class Driver:
    """Webhook requests with unique Idempotency-Keys, sent from a pool of threads."""

    def __init__(self, base: str, api_key: str) -> None:
        self.base = base
        self.api_key = api_key
        self.local = threading.local()
        self.pool = ThreadPoolExecutor(max_workers=96)

    def _session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def webhook(self, path: str, key: str, body: dict | None = None) -> Sent:
        body = body or {"transactionId": key, "amount": 1500.00}
        headers = {"X-Webhook-Token": TOKEN, "Idempotency-Key": key}
        return self.request("POST", f"/v1/webhooks/{path}", key, json=body, headers=headers)

    def request(self, method: str, path: str, key: str = "", **kwargs) -> Sent:
        begun = time.monotonic()
        at = time.time()
        try:
            response = self._session().request(
                method, self.base + path, timeout=CLIENT_TIMEOUT_S, **kwargs
            )
        except requests.RequestException:
            return Sent(key, 0, latency_s=time.monotonic() - begun, at=at)
        code = ""
        if response.status_code >= 300:
            try:
                code = str(response.json().get("code", ""))
            except ValueError:
                code = "not JSON"
        return Sent(
            key, response.status_code, code, "Retry-After" in response.headers,
            time.monotonic() - begun, response.headers.get("X-Webhook-Execution-ID"), at=at,
        )  # fmt: skip

    def api(self, method: str, path: str, **kwargs) -> Sent:
        return self.request(method, path, headers={"X-API-Key": self.api_key}, **kwargs)

    def paced(self, path: str, prefix: str, rate: float, seconds: float) -> list[Sent]:
        """Open loop: one request every 1/rate s, whatever the answers do."""
        futures = []
        begun = time.monotonic()
        for index in range(int(rate * seconds)):
            delay = begun + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(self.pool.submit(self.webhook, path, f"{prefix}-{index}-{_nonce()}"))
        return [future.result() for future in futures]

    def batch(self, path: str, prefix: str, count: int, clients: int = 16) -> list[Sent]:
        """`count` webhooks from `clients` callers, each sending one after the other."""
        with ThreadPoolExecutor(max_workers=clients) as pool:
            return list(
                pool.map(lambda i: self.webhook(path, f"{prefix}-{i}-{_nonce()}"), range(count))
            )

    def burst(self, count: int, send) -> list[Sent]:
        """`count` calls of `send(index)` released together."""
        barrier = threading.Barrier(count)

        def one(index: int) -> Sent:
            barrier.wait(timeout=30)
            return send(index)

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(one, range(count)))


def _nonce() -> str:
    return uuid.uuid4().hex[:12]


class Run:
    def __init__(self, database: str, stub_url: str, flowker: Flowker, driver: Driver) -> None:
        self.database = database
        self.stub_url = stub_url
        self.flowker = flowker
        self.driver = driver
        self.calls: list[list] = []

    def stub_log(self) -> list[list]:
        answer = requests.get(f"{self.stub_url}/__log?since={len(self.calls)}", timeout=30)
        self.calls += answer.json()["calls"]
        return self.calls

    def latency(self, milliseconds: int) -> None:
        requests.post(f"{self.stub_url}/__config", json={"latency_ms": milliseconds}, timeout=5)

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with psycopg.connect(self.database, autocommit=True, connect_timeout=3) as connection:
            return connection.execute(sql, params or []).fetchall()

    def wait_terminal(self, sent: list[Sent], timeout: float) -> None:
        """Until every execution of these keys is terminal (and every 2xx has its row)."""
        keys = [s.key for s in sent]
        answered = len({s.key for s in sent if 200 <= s.status < 300})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                rows, terminal = self.query(
                    f"SELECT count(*), count(*) FILTER (WHERE status IN {TERMINAL_SQL}) "
                    "FROM executions_execution WHERE idempotency_key = ANY(%s::text[])",
                    [keys],
                )[0]
                if rows == terminal and rows >= answered:
                    return
            except psycopg.Error:
                pass
            time.sleep(1)

    def check(self, sent: list[Sent]) -> dict:
        calls = checker.calls_by_step(self.stub_log())
        with psycopg.connect(self.database, autocommit=True) as connection:
            return checker.check(connection.cursor(), sent, calls)

    def ensure_alive(self, violations: list[str], *names: str) -> None:
        """A process that died on its own is a defect: say so, then start it again so the
        remaining scenarios still measure something."""
        for name in names:
            if not self.flowker.alive(name):
                code = self.flowker.processes[name].popen.returncode
                violations.append(f"{name} died (exit {code}) and was restarted by the program")
                self.flowker.start(name)


def _recovery(result: dict, since: float) -> float | None:
    last = result.get("last_completed_epoch")
    return round(max(0.0, last - since), 1) if last else None


def _background(target, *args) -> tuple[threading.Thread, list]:
    out: list = []
    thread = threading.Thread(target=lambda: out.extend(target(*args)), daemon=True)
    thread.start()
    return thread, out


# --- Scenarios --------------------------------------------------------------------------------


def worker_crash(run: Run, ids: dict) -> dict:
    """300 executions in flight against a 200 ms stub; the worker's whole prefork group
    SIGKILLed twice and restarted each time."""
    run.latency(200)
    violations: list[str] = []
    thread, sent = _background(run.driver.batch, "payments/received", "crash", 300)
    restarted = time.time()
    for pause in (3, 10):
        time.sleep(pause)
        _say("worker crash: SIGKILL to the worker's process group")
        run.flowker.kill("worker")
        run.flowker.start("worker")
        restarted = time.time()
    thread.join()
    run.wait_terminal(sent, GRACE_S)
    result = run.check(sent)
    return {**result, "recovery_s": _recovery(result, restarted), "violations": violations}


def beat_down(run: Run, ids: dict) -> dict:
    """Beat SIGKILLed for 60 s; during it the worker is SIGKILLed (and restarted) with
    executions in flight. When beat returns, its reaper must finish everything."""
    run.latency(200)
    violations: list[str] = []
    down_at = time.monotonic()
    run.flowker.kill("beat")
    thread, sent = _background(run.driver.batch, "payments/received", "beat", 100)
    time.sleep(3)
    _say("beat down: SIGKILL to the worker's process group")
    run.flowker.kill("worker")
    run.flowker.start("worker")
    thread.join()
    time.sleep(max(0.0, 60 - (time.monotonic() - down_at)))
    terminal_before = run.query(
        f"SELECT count(*) FILTER (WHERE status IN {TERMINAL_SQL}) FROM executions_execution "
        "WHERE idempotency_key = ANY(%s::text[])",
        [[s.key for s in sent]],
    )[0][0]
    run.flowker.start("beat")
    back = time.time()
    run.wait_terminal(sent, GRACE_S)
    result = run.check(sent)
    return {
        **result, "recovery_s": _recovery(result, back),
        "terminal_while_beat_was_down": terminal_before, "violations": violations,
    }  # fmt: skip


def _outage(run: Run, prefix: str, stop, start, names: tuple[str, ...]) -> dict:
    """Webhooks at 20/s for 25 s; the dependency down from 5 s to 15 s."""
    run.latency(20)
    violations: list[str] = []
    thread, sent = _background(run.driver.paced, "payments/received", prefix, 20, 25)
    time.sleep(5)
    _say(f"{prefix}: stopping")
    stop()
    time.sleep(10)
    start()
    back = time.time()
    _say(f"{prefix}: started again")
    thread.join()
    time.sleep(5)
    run.ensure_alive(violations, *names)
    run.wait_terminal(sent, GRACE_S)
    run.ensure_alive(violations, *names)
    result = run.check(sent)
    if result["lost"]:
        # The scenario's verdict stands (they were to recover without a restart); restarting
        # the worker and beat then shows whether a restart recovers them, and lets the next
        # scenarios start from a working system.
        violations.append(f"{result['lost']} accepted executions not terminal {GRACE_S:.0f} s "
                          "after the outage, without a restart")  # fmt: skip
        for name in ("worker", "beat"):
            run.flowker.kill(name)
            run.flowker.start(name)
        run.wait_terminal(sent, GRACE_S)
        after = run.check(sent)
        result["after_restarting_worker_and_beat"] = {
            "completed": after["completed"], "failed": after["failed"], "lost": after["lost"],
        }  # fmt: skip
    during = [s for s in sent if back - 10 <= s.at < back]
    slow = {
        phase: sum(1 for s in sent if s.latency_s > checker.SLOW_ANSWER_S and when(s.at))
        for phase, when in (
            ("before", lambda at: at < back - 10),
            ("during", lambda at: back - 10 <= at < back),
            ("after", lambda at: at >= back),
        )
    }
    if result["answers_over_5s"]:
        violations.append(f"{result['answers_over_5s']} answers took over 5 s (sent before, "
                          f"during and after the outage: {slow})")  # fmt: skip
    if result["refusals_without_retry_after"]:
        violations.append(f"{result['refusals_without_retry_after']} 503s were not FLK-0006 "
                          "with Retry-After")  # fmt: skip
    return {
        **result, "recovery_s": _recovery(result, back),
        "during_outage": {
            "sent": len(during),
            "p99_answer_s": round(percentile([s.latency_s for s in during], 0.99), 2),
            "max_answer_s": round(max((s.latency_s for s in during), default=0), 2),
            "answers": _distribution(during),
        },
        "violations": violations,
    }  # fmt: skip


def broker_outage(run: Run, ids: dict, redis: Redis) -> dict:
    return _outage(run, "broker", redis.stop, redis.start, ("web", "worker", "beat"))


def database_outage(run: Run, ids: dict, postgres: Postgres) -> dict:
    return _outage(run, "database", postgres.stop, postgres.start, ("web", "worker", "beat"))


TRANSIENT = ("refused", "reset", "timeout", "trickle", "5xx", "429")


def _fault_round(run: Run, number: int) -> list[Sent]:
    return run.driver.burst(
        len(FAULTS),
        lambda i: run.driver.webhook(f"faults/{FAULTS[i]}", f"fault-{FAULTS[i]}-{number}-"
                                     f"{_nonce()}"),
    )  # fmt: skip


def _started_at(attempt: dict) -> float:
    return datetime.datetime.fromisoformat(attempt["startedAt"]).timestamp()


def provider_faults(run: Run, ids: dict) -> dict:
    """Each fault behind a provider configuration (so a breaker) of its own. Round 1: one
    execution per fault, alone on its breaker: a transient fault is retried (1, 2, 4, 8 s) and
    fails FLK-0504 after 5 attempts, which open the breaker; the others fail FLK-0504 after one
    attempt. Round 2: one more each: the open breakers refuse theirs with FLK-0507."""
    run.latency(0)
    violations: list[str] = []
    baseline = max(run.flowker.process_rss_mb("worker"), default=0.0)
    sampler = harness.RssSampler(run.flowker.processes["worker"].pid)
    first = _fault_round(run, 1)
    run.wait_terminal(first, 120)
    second = _fault_round(run, 2)
    run.wait_terminal(second, 60)
    peak_process_mb = sampler.stop()
    sent = first + second
    result = run.check(sent)
    rows = run.query(
        "SELECT e.idempotency_key, e.status, e.error->>'code', e.error->>'message', "
        "e.error->>'nodeId', coalesce(s.attempts, '[]'::jsonb) FROM executions_execution e "
        "LEFT JOIN executions_executionstep s ON s.execution_id = e.id "
        "AND s.node_id = 'check-fraud' WHERE e.idempotency_key = ANY(%s::text[])",
        [[s.key for s in sent]],
    )
    found = {row[0]: row for row in rows}
    by_mode: dict[str, dict] = {}
    for mode in FAULTS:
        mine = [found.get(s.key) for s in sent if s.key.startswith(f"fault-{mode}-")]
        if any(row is None or row[1] != "failed" for row in mine):
            violations.append(f"{mode}: not every execution failed: {mine}")
            continue
        by_mode[mode] = {
            "codes": [row[2] for row in mine], "attempts": [len(row[5]) for row in mine],
            "failed_node": [row[4] for row in mine],
            "messages": [(row[3] or "")[:160] for row in mine],
        }  # fmt: skip
        expected = (
            {"codes": ["FLK-0504", "FLK-0507"], "attempts": [5, 1]}
            if mode in TRANSIENT
            else {"codes": ["FLK-0504", "FLK-0504"], "attempts": [1, 1]}
        )
        got = {"codes": by_mode[mode]["codes"], "attempts": by_mode[mode]["attempts"]}
        if got != expected:
            violations.append(f"{mode}: {got}, expected {expected}")
        if mode == "429" and len(mine[0][5]) >= 2:
            gaps = [
                round(_started_at(b) - _started_at(a), 2)
                for a, b in zip(mine[0][5], mine[0][5][1:], strict=False)
            ]
            by_mode[mode]["gaps_between_attempts_s"] = gaps
            if gaps[0] < 1.9:
                violations.append(f"429: Retry-After 2 not honoured (gaps {gaps} s)")
    huge = by_mode.get("huge", {}).get("messages", [""])[0]
    if "FLOWKER_MAX_RESPONSE_BYTES" not in huge:
        violations.append(f"huge: the error does not name FLOWKER_MAX_RESPONSE_BYTES: {huge}")
    limit_mb = 10.0  # the FLOWKER_MAX_RESPONSE_BYTES default
    if peak_process_mb > baseline + 2 * limit_mb + 16:
        violations.append(f"huge: a worker process reached {peak_process_mb:.0f} MiB "
                          f"(largest before: {baseline:.0f} MiB)")  # fmt: skip
    return {
        **result, "recovery_s": None, "by_fault": by_mode,
        "worker_rss_mb": {"largest_process_before": round(baseline, 1),
                          "largest_process_peak": round(peak_process_mb, 1),
                          "bound": "peak ≤ before + 2 × FLOWKER_MAX_RESPONSE_BYTES + 16 MiB"},
        "violations": violations,
    }  # fmt: skip


def concurrency(run: Run, ids: dict) -> dict:
    run.latency(50)
    violations: list[str] = []
    driver = run.driver
    # 100 parallel starts with one Idempotency-Key.
    key = f"same-{_nonce()}"
    body = {"transactionId": key, "amount": 1500.00}
    same = driver.burst(100, lambda i: driver.webhook("payments/received", key, body))
    run.wait_terminal(same, 60)
    result = run.check(same)
    rows = run.query("SELECT id::text FROM executions_execution WHERE idempotency_key = %s", [key])
    calls = sum(1 for _, _, k in run.stub_log() if rows and k.startswith(rows[0][0]))
    statuses = sorted({s.status for s in same})
    ids_answered = {s.execution_id for s in same if s.execution_id}
    if len(rows) != 1 or calls != 1 or len(ids_answered) != 1:
        violations.append(f"one key: {len(rows)} executions, {calls} provider calls, "
                          f"{len(ids_answered)} execution ids answered")  # fmt: skip
    # 50 parallel activations racing for one webhook path.
    racers = ids["racers"]
    race = driver.burst(
        len(racers), lambda i: driver.api("POST", f"/v1/workflows/{racers[i]}/activate")
    )
    owners = run.query("SELECT count(*) FROM webhooks_webhookroute WHERE path LIKE %s",
                       ["%race/owner%"])[0][0]  # fmt: skip
    won = sum(1 for s in race if s.status == 200)
    if won != 1 or owners != 1:
        violations.append(f"activation race: {won} activations answered 200, {owners} routes")
    # Parallel transitions on one workflow.
    transition = driver.burst(
        20, lambda i: driver.api("POST", f"/v1/workflows/{ids['transition']}/activate")
    )
    won_transition = sum(1 for s in transition if s.status == 200)
    # A loser that read the status before the winner committed is refused by the conditional
    # update (409 FLK-0350); one that read it after finds it active (422 FLK-0102).
    others = {f"{s.status} {s.code}" for s in transition if s.status != 200}
    if won_transition != 1 or not others <= {"409 FLK-0350", "422 FLK-0102"}:
        violations.append(f"transitions: {won_transition} won, answers "
                          f"{_distribution(transition)}")  # fmt: skip
    # 8 parallel audited writers, then the chain is verified.
    writers = driver.burst(
        8, lambda i: [driver.api("POST", "/v1/provider-configurations", json={
            "name": f"chaos-writer-{i}-{n}-{_nonce()}", "providerId": "http",
            "config": {"base_url": "http://127.0.0.1:9/"}}) for n in range(10)],
    )  # fmt: skip
    writes = [s for batch in writers for s in batch]
    verify = subprocess.run(
        [sys.executable, "manage.py", "verify_audit_chain"], cwd=harness.REPO,
        env=run.flowker.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if verify.returncode != 0 or any(s.status != 201 for s in writes):
        violations.append(
            f"audit writers: answers {_distribution(writes)}, verify exit "
            f"{verify.returncode}: {verify.stdout[-300:]}{verify.stderr[-300:]}"
        )
    everything = same + race + transition + writes
    return {
        **result,
        "http_500": sum(1 for s in everything if s.status >= 500 and s.status != 503),
        "recovery_s": None,
        "one_key": {"answers": statuses, "executions": len(rows), "provider_calls": calls},
        "activation_race": {"answers": _distribution(race), "routes": owners},
        "transitions": {"answers": _distribution(transition)},
        "audit_writers": {"answers": _distribution(writes), "verify_exit": verify.returncode,
                          "verify_output": verify.stdout.strip()[-200:]},
        "violations": violations,
    }  # fmt: skip


def _distribution(sent: list[Sent]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in sent:
        label = f"{s.status} {s.code}".strip()
        out[label] = out.get(label, 0) + 1
    return dict(sorted(out.items()))


def soak(run: Run, ids: dict, redis: Redis, database_name: str) -> dict:
    """Half the measured maximum, steadily; resources sampled every 5 s."""
    run.latency(20)
    violations: list[str] = []
    # The maximum: 16 clients for 10 s, then the time until their executions are done.
    begun = time.time()
    probe = []
    lock = threading.Lock()

    def send(session, index):
        sent = run.driver.webhook("payments/received", f"max-{index}-{_nonce()}")
        with lock:
            probe.append(sent)
        return requests.Response()

    harness.closed_loop(send, clients=16, seconds=10)
    run.wait_terminal(probe, 120)
    measured = run.check(probe)
    span = (measured["last_completed_epoch"] or time.time()) - begun
    maximum = measured["completed"] / max(span, 1e-9)
    rate = max(1.0, maximum / 2)
    left = BUDGET_S - (time.monotonic() - STARTED) - 90
    seconds = max(30.0, min(SOAK_S, left))
    _say(f"soak: max {maximum:.1f}/s measured, {rate:.1f}/s for {seconds:.0f} s")
    samples: list[dict] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(5):
            try:
                connections = run.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database_name]
                )[0][0]
                samples.append({
                    "t": round(time.monotonic() - soak_begun, 1), "db_connections": connections,
                    "redis_mb": round(redis.used_memory() / 2**20, 2),
                    "worker_rss_mb": round(run.flowker.group_rss_mb("worker"), 1),
                    "fds": run.flowker.open_fds(),
                })  # fmt: skip
            except Exception as error:
                samples.append({"t": round(time.monotonic() - soak_begun, 1), "error": str(error)})

    soak_begun = time.monotonic()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent = run.driver.paced("payments/received", "soak", rate, seconds)
    stop.set()
    sampler.join(timeout=10)
    run.wait_terminal(sent, 60)
    result = run.check(sent)
    window = min(60.0, seconds / 4)
    start_at = min(s.at for s in sent)
    first = [s.latency_s for s in sent if s.at < start_at + window and 200 <= s.status < 300]
    last = [s.latency_s for s in sent if s.at >= start_at + seconds - window
            and 200 <= s.status < 300]  # fmt: skip
    p99_first, p99_last = percentile(first, 0.99) * 1000, percentile(last, 0.99) * 1000
    if p99_last > 1.5 * p99_first:
        violations.append(f"p99 grew from {p99_first:.0f} ms to {p99_last:.0f} ms")
    good = [s for s in samples if "error" not in s]
    fifth = max(1, len(good) // 5)
    bounds = {  # the last fifth's maximum against the first fifth's maximum
        "db_connections": lambda a, b: b <= a + 4,
        "redis_mb": lambda a, b: b <= a + 8,
        "worker_rss_mb": lambda a, b: b <= a * 1.2 + 16,
        "fds": lambda a, b: b <= a + 16,
    }
    growth = {}
    for name, within in bounds.items():
        if len(good) < 2:
            break
        a = max(s[name] for s in good[:fifth])
        b = max(s[name] for s in good[-fifth:])
        growth[name] = {"first": a, "last": b}
        if not within(a, b):
            violations.append(f"{name} grew from {a} to {b}")
    return {
        **result, "recovery_s": None,
        "max_exec_per_s": round(maximum, 1), "rate_per_s": round(rate, 1),
        "soak_seconds": round(seconds), "soak_seconds_requested": SOAK_S,
        "p99_ms": {"first_window": round(p99_first, 1), "last_window": round(p99_last, 1),
                   "window_s": window},
        "growth": growth,
        "bounds": "last fifth vs first fifth (max): db connections +4, Redis +8 MiB, worker "
                  "RSS ×1.2 + 16 MiB, fds +16; p99 last window ≤ 1.5 × first",
        "samples": samples[:: max(1, len(samples) // 20)],
        "violations": violations,
    }  # fmt: skip


# --- The program ------------------------------------------------------------------------------


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupted)  # stop what was started, as on Ctrl-C
    WORK.mkdir(parents=True, exist_ok=True)
    for log in WORK.glob("*.log"):
        log.unlink()
    postgres, redis = Postgres(WORK), Redis(WORK)
    stub_port, refused_port, web_port = free_port(), free_port(), free_port()
    stub_url = f"http://127.0.0.1:{stub_port}"
    base = f"http://127.0.0.1:{web_port}"
    stub = None
    flowker = None
    report: dict = {"scenarios": {}}
    try:
        _say("starting PostgreSQL and Redis…")
        postgres.init()
        postgres.start()
        redis.start()
        database = postgres.create_database("flowker_chaos")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "flowker.settings",
            "DATABASE_URL": database,
            "REDIS_URL": redis.url,
            "DJANGO_SECRET_KEY": "chaos-secret-key",
            "FLOWKER_ENCRYPTION_KEY": "X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA=",
            "FLOWKER_OUTBOUND_ALLOW_PRIVATE": "true",
            "FLOWKER_LOG_LEVEL": "WARNING",
            "FLOWKER_VAR_DIR": str(WORK / "var"),
            "FLOWKER_HTTP_TIMEOUT_SECONDS": HTTP_TIMEOUT_S,
            "PROMETHEUS_MULTIPROC_DIR": str(WORK / "metrics"),
            "HOST": "127.0.0.1",
            "FLOWKER_PORT": str(web_port),
            "WEB_CONCURRENCY": "2",
            "WORKER_CONCURRENCY": WORKER_CONCURRENCY,
            # Recovery with hundreds of executions in flight is what the crash and outage
            # scenarios test: the paced admission bound (executions.admission, measured by
            # `make bench`) would refuse most of each burst, so only the fixed bound applies.
            "FLOWKER_MAX_QUEUE_SECONDS": "0",
        }
        for name in ("CELERY_BROKER_URL", "TEST_DATABASE_URL"):
            env.pop(name, None)
        (WORK / "var").mkdir(exist_ok=True)
        (WORK / "metrics").mkdir(exist_ok=True)
        stub = Process([sys.executable, "-m", "tests.chaos.stub", str(stub_port)],
                       dict(os.environ), WORK / "stub.log")  # fmt: skip
        harness.wait_http(f"{stub_url}/__log")
        _say("migrating and creating the workflows…")
        done = subprocess.run(
            [sys.executable, "-m", "tests.chaos.setup", stub_url,
             f"http://127.0.0.1:{refused_port}/refused"],
            cwd=harness.REPO, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"setup failed:\n{done.stderr[-3000:]}")
        ids = json.loads(done.stdout.strip().splitlines()[-1])
        _say("starting the Procfile's processes…")
        flowker = Flowker(env)
        flowker.start_all()
        harness.wait_http(f"{base}/health")
        run = Run(database, stub_url, flowker, Driver(base, ids["api_key"]))
        run.driver.burst(
            8, lambda i: run.driver.webhook("payments/received", f"warm-{i}-{_nonce()}")
        )
        scenarios = [
            ("concurrency", lambda: concurrency(run, ids)),
            ("provider_faults", lambda: provider_faults(run, ids)),
            ("worker_crash", lambda: worker_crash(run, ids)),
            ("beat_down", lambda: beat_down(run, ids)),
            ("broker_outage", lambda: broker_outage(run, ids, redis)),
            ("database_outage", lambda: database_outage(run, ids, postgres)),
            ("soak", lambda: soak(run, ids, redis, "flowker_chaos")),
        ]
        only = {name for name in os.environ.get("CHAOS_ONLY", "").split(",") if name}
        for name, scenario in scenarios:
            if only and name not in only:
                continue
            _say(f"{name}…")
            begun = time.monotonic()
            try:
                outcome = scenario()
            except Exception as error:
                outcome = {"error": f"{type(error).__name__}: {error}", "violations": [str(error)]}
            outcome["seconds"] = round(time.monotonic() - begun, 1)
            report["scenarios"][name] = outcome
            _say(f"{name}: {json.dumps({k: outcome.get(k) for k in _HEADLINE})}")
    finally:
        if flowker is not None:
            flowker.stop_all()
        if stub is not None:
            stub.stop()
        redis.remove()
        postgres.remove()
    report["seconds"] = round(time.monotonic() - STARTED, 1)
    report["setup"] = {
        "web": "gunicorn 2 workers x 4 threads (Procfile)",
        "worker": f"celery prefork, concurrency {WORKER_CONCURRENCY} (Procfile)",
        "provider_timeout_s": float(HTTP_TIMEOUT_S),
        "postgres": "own cluster (initdb + pg_ctl), fsync off",
        "redis": "own redis-server, appendonly everysec",
    }
    failing = {
        name: {k: outcome.get(k) for k in ("lost", "duplicate_calls", "http_500", "violations")}
        for name, outcome in report["scenarios"].items()
        if outcome.get("lost") or outcome.get("duplicate_calls") or outcome.get("http_500")
        or outcome.get("violations") or "error" in outcome
    }  # fmt: skip
    report["ok"] = not failing
    report["failing"] = failing
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0 if report["ok"] else 1


_HEADLINE = ("accepted", "completed", "failed", "lost", "duplicate_calls", "http_500", "recovery_s")


if __name__ == "__main__":
    sys.exit(main())

"""`make bench`: Flowker against the floor of its own stack, measured in the same run.

Flowker runs as `make run` runs it (gunicorn 2×8, a Celery worker of 2 processes, beat) on
PostgreSQL and Redis, deciding the guide's payment workflow started by webhook; the provider is
an asyncio stub that answers in well under a millisecond. Beside it runs the floor
(`tests/benchmarks/floor`): a plain Django view that inserts a row and enqueues a plain Celery
task that makes the same call, takes the same branch and writes the same rows. Their runs
alternate, so both see the same machine; the floor is this stack's limit, and
`ratio_to_floor` says how close Flowker gets.

Printed as JSON and written to var/bench/latest.json: each figure is the median of BENCH_RUNS
runs, with every run's values under `runs`. Also measured: SQL statements per execution (from
PostgreSQL's own statement log), the worker's peak RSS per process, and read-API latency with
1,000,000 executions in the table (`tests/benchmarks/dataset.py`).
"""

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import psycopg
import requests

from tests.benchmarks import harness
from tests.benchmarks.harness import Process, closed_loop, free_port, percentile

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
DECISION_CONCURRENCY = (1, 8)
DECISION_SECONDS = float(os.environ.get("BENCH_DECISION_SECONDS", "8"))
STATEMENT_EXECUTIONS = 20
API_SAMPLES = int(os.environ.get("BENCH_API_SAMPLES", "100"))
# BENCH_ONLY=api measures the read API alone, BENCH_ONLY=load the load runs alone (neither writes
# var/bench/latest.json): for iterating on one part.
ONLY = os.environ.get("BENCH_ONLY", "")
DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowker_bench")
FLOOR_DATABASE = os.environ.get(
    "BENCH_FLOOR_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowker_bench_floor"
)
HISTORY_DATABASE = os.environ.get(
    "BENCH_HISTORY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowker_bench_history"
)
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/flowker-bench"))
OUTPUT = harness.REPO / "var" / "bench" / "latest.json"
TOKEN = "bench-token"

FLOWKER_ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "flowker.settings",
    "DATABASE_URL": DATABASE,
    "REDIS_URL": REDIS,
    "DJANGO_SECRET_KEY": "bench-secret-key",
    "FLOWKER_ENCRYPTION_KEY": "X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA=",
    "FLOWKER_OUTBOUND_ALLOW_PRIVATE": "true",
    "FLOWKER_LOG_LEVEL": "WARNING",
    "FLOWKER_VAR_DIR": str(WORK / "var"),
}
FLOWKER_ENV.pop("CELERY_BROKER_URL", None)


def _setup_flowker(stub_url: str) -> None:
    """Fresh database, the guide's payment workflow from its template, active."""
    harness.recreate_database(DATABASE)
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', '--noinput', verbosity=0)\n"
        "from flowker.actors import Actor\n"
        "from providers.services import provider_config_create\n"
        "from workflows.services import workflow_activate, workflow_create_from_template\n"
        "actor = Actor.system()\n"
        f"provider = provider_config_create(name='bench-fraud', provider_id='http', "
        f"config={{'base_url': '{stub_url}'}}, actor=actor)\n"
        "workflow = workflow_create_from_template(template_id='payment-fraud-check', params={"
        "'workflowName': 'bench-payments', 'fraudProviderConfigId': str(provider.pk), "
        f"'verifyToken': '{TOKEN}'}}, actor=actor)\n"
        "workflow_activate(workflow=workflow, actor=actor)\n"
    )
    if harness.run([sys.executable, "-c", script], FLOWKER_ENV) != 0:
        raise RuntimeError("could not set up the Flowker bench database")


def _floor_env(stub_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.benchmarks.floor.settings",
        "FLOOR_DATABASE_URL": FLOOR_DATABASE,
        "FLOOR_BROKER_URL": REDIS,
        "FLOOR_STUB_URL": f"{stub_url}/score-transaction",
    }


def _terminal(database: str, table: str, since: float) -> tuple[int, int, float | None]:
    """(terminal, completed, epoch of the last completion) of rows started since `since`."""
    # Off from the connection's start: a `SET log_statement` would itself be logged, and this
    # polls every 20 ms while the statement count runs (it added ~3 "statements" per execution).
    with psycopg.connect(database, autocommit=True, options="-c log_statement=none") as connection:
        row = connection.execute(
            f"SELECT count(*) FILTER (WHERE status IN ('completed', 'failed', 'cancelled')), "
            f"count(*) FILTER (WHERE status = 'completed'), "
            f"extract(epoch FROM max(completed_at)) FROM {table} "
            f"WHERE started_at >= to_timestamp(%s)",
            [since],
        ).fetchone()
    return row[0], row[1], float(row[2]) if row[2] is not None else None


def _throughput(send, database: str, table: str, cpu: harness.CpuMeter) -> dict:
    """Load for SECONDS at CLIENTS, then wait (≤ 300 s) until every accepted one has ended.
    `cpu_ms_per_execution`: CPU each part of the system spent per completed execution."""
    since = time.time() - 1
    cpu.start()
    load = closed_loop(send, clients=CLIENTS, seconds=SECONDS)
    deadline = time.monotonic() + 300
    while True:
        terminal, completed, last = _terminal(database, table, since)
        if terminal >= load.accepted or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    spent = cpu.stop()
    last = last or load.ended
    per_execution = {
        name: round(seconds * 1000 / max(completed, 1), 2) for name, seconds in spent.items()
    }
    per_execution["total"] = round(sum(per_execution.values()), 2)
    return {
        "accepted": load.accepted,
        "refused": sum(n for status, n in load.statuses.items() if status not in (200, 201)),
        "completed": completed,
        "exec_per_s": completed / max(last - load.started, 1e-9),
        "trigger_p50_ms": percentile(load.latencies_ms, 0.5),
        "trigger_p99_ms": percentile(load.latencies_ms, 0.99),
        "drain_s": max(0.0, last - load.ended),
        "cpu_ms_per_execution": per_execution,
    }


def _webhook(base: str, prefer_wait: bool = False):
    headers = {"Content-Type": "application/json", "X-Webhook-Token": TOKEN}
    if prefer_wait:
        headers["Prefer"] = "wait=5"

    def send(session: requests.Session, index: int) -> requests.Response:
        body = json.dumps({"transactionId": f"t{time.time_ns()}-{index}", "amount": 1500.00})
        return session.post(
            f"{base}/v1/webhooks/payments/received", data=body, headers=headers, timeout=30
        )

    return send


def _floor_webhook(base: str):
    def send(session: requests.Session, index: int) -> requests.Response:
        body = json.dumps({"transactionId": f"t{time.time_ns()}-{index}", "amount": 1500.00})
        return session.post(f"{base}/webhook", data=body, timeout=30)

    return send


def _decided(response: requests.Response) -> bool:
    return response.status_code == 200 and response.json().get("status") == "completed"


def _decisions(base: str) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, float]] = {"p50": {}, "p99": {}, "undecided": {}}
    for clients in DECISION_CONCURRENCY:
        load = closed_loop(
            _webhook(base, prefer_wait=True), clients=clients, seconds=DECISION_SECONDS,
            accept=_decided,
        )  # fmt: skip
        figures["p50"][str(clients)] = percentile(load.latencies_ms, 0.5)
        figures["p99"][str(clients)] = percentile(load.latencies_ms, 0.99)
        figures["undecided"][str(clients)] = load.statuses.get(299, 0)
    return figures


def _postgres_log() -> Path | None:
    logs = sorted(Path("/var/log/postgresql").glob("postgresql-*.log"), key=os.path.getmtime)
    return logs[-1] if logs else None


def _statements_per_execution(base: str) -> float | None:
    """Every statement PostgreSQL received for the bench database (BEGIN, COMMIT and SAVEPOINT
    included) while STATEMENT_EXECUTIONS webhooks were decided one after the other, divided by
    that number. Needs the server's log file; None when it cannot be read."""
    log = _postgres_log()
    if log is None or not os.access(log, os.R_OK):
        return None
    name = DATABASE.rsplit("/", 1)[1]
    send = _webhook(base)
    session = requests.Session()
    since = time.time() - 1
    offset = log.stat().st_size
    for index in range(STATEMENT_EXECUTIONS):
        send(session, index).raise_for_status()
        deadline = time.monotonic() + 30
        while _terminal(DATABASE, "executions_execution", since)[0] < index + 1:
            if time.monotonic() > deadline:
                raise RuntimeError("an execution did not end in the statement run")
            time.sleep(0.02)
    time.sleep(1)  # let the last commit reach the log
    with open(log, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    marker = re.compile(rf"@{re.escape(name)} LOG:  (statement|execute [^:]*):")
    return sum(1 for line in text.splitlines() if marker.search(line)) / STATEMENT_EXECUTIONS


def _set_statement_log(on: bool) -> None:
    name = DATABASE.rsplit("/", 1)[1]
    admin = DATABASE.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if on:
            connection.execute(f"ALTER DATABASE \"{name}\" SET log_statement = 'all'")
        else:
            connection.execute(f'ALTER DATABASE "{name}" RESET log_statement')


def _api_latency() -> dict[str, float]:
    """p99 of three reads with a million executions in the table, one client."""
    env = {**FLOWKER_ENV, "DATABASE_URL": HISTORY_DATABASE}
    check = [sys.executable, "-m", "tests.benchmarks.dataset", "--check"]
    if harness.run(check, env) != 0:
        print("loading 1,000,000 executions (once per schema)…", file=sys.stderr)
        harness.recreate_database(HISTORY_DATABASE)
        if harness.run([sys.executable, "-m", "tests.benchmarks.dataset"], env) != 0:
            raise RuntimeError("could not load the execution history")
    key = _api_key(env)
    with psycopg.connect(HISTORY_DATABASE) as connection:
        (execution_id,) = connection.execute(
            "SELECT id FROM executions_execution ORDER BY started_at DESC LIMIT 1 OFFSET 5000"
        ).fetchone()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = harness.gunicorn("flowker.wsgi:application", port, env, WORK / "history-web.log")
    try:
        # /version, not /health: no worker runs beside this web tier, and once the heartbeats
        # of the load runs' worker have aged (loading the history takes minutes) /health is 503.
        harness.wait_http(f"{base}/version")
        session = requests.Session()
        session.headers["X-API-Key"] = key
        day_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
        reads = {
            "execution_by_id": f"{base}/v1/executions/{execution_id}",
            "executions_failed_limit_100": f"{base}/v1/executions?limit=100&status=failed",
            "dashboard_executions_24h": f"{base}/v1/dashboards/executions?startTime={day_ago}",
        }
        figures = {}
        for name, url in reads.items():
            latencies = []
            for sample in range(API_SAMPLES + 5):
                started = time.perf_counter()
                session.get(url, timeout=60).raise_for_status()
                if sample >= 5:  # the first few warm the caches and connections
                    latencies.append((time.perf_counter() - started) * 1000)
            figures[name] = percentile(latencies, 0.99)
            median = percentile(latencies, 0.5)
            print(f"{name}: p50 {median:.1f} ms, p99 {figures[name]:.1f} ms", file=sys.stderr)
        return figures
    finally:
        web.stop()


def _api_key(env: dict[str, str]) -> str:
    script = (
        "import django; django.setup()\n"
        "from flowker.actors import Actor\n"
        "from flowker.apikeys.services import api_key_create\n"
        "import time\n"
        "print(api_key_create(name=f'bench-{time.time_ns()}', actor=Actor.system())[1])\n"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=harness.REPO, env=env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"could not create the bench API key:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "var").mkdir(exist_ok=True)
    if ONLY == "api":
        _main_api_only()
        return
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    stub_port = free_port()
    stub_url = f"http://127.0.0.1:{stub_port}"
    started: list[Process] = []
    try:
        stub = Process(
            [sys.executable, "-m", "tests.benchmarks.stub", str(stub_port)], dict(os.environ),
            WORK / "stub.log",
        )  # fmt: skip
        started.append(stub)
        harness.wait_http(f"{stub_url}/__count")
        _setup_flowker(stub_url)
        floor_env = _floor_env(stub_url)
        harness.recreate_database(FLOOR_DATABASE)
        migrate = [sys.executable, "manage.py", "migrate", "--run-syncdb", "-v", "0"]
        if harness.run(migrate, floor_env) != 0:
            raise RuntimeError("could not set up the floor database")

        port, floor_port = free_port(), free_port()
        base, floor_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{floor_port}"
        web = harness.gunicorn("flowker.wsgi:application", port, FLOWKER_ENV, WORK / "web.log")
        worker = harness.celery("flowker", FLOWKER_ENV, WORK / "worker.log")
        beat = Process(
            [sys.executable, "-m", "celery", "-A", "flowker", "beat", "--loglevel", "WARNING",
             "--schedule", str(WORK / "beat-schedule")],
            FLOWKER_ENV, WORK / "beat.log",
        )  # fmt: skip
        floor_web = harness.gunicorn(
            "tests.benchmarks.floor.wsgi:application", floor_port, floor_env, WORK / "floor.log"
        )
        floor_worker = harness.celery(
            "tests.benchmarks.floor.celery", floor_env, WORK / "floor-worker.log"
        )
        started += [web, worker, beat, floor_web, floor_worker]
        harness.wait_http(f"{base}/health")
        harness.wait_http(f"{floor_base}/health")
        rss = harness.RssSampler(worker.pid)
        flowker_cpu = harness.CpuMeter(
            {"web": web.pid, "worker": worker.pid, "beat": beat.pid, "stub": stub.pid}
        )
        floor_cpu = harness.CpuMeter(
            {"web": floor_web.pid, "worker": floor_worker.pid, "stub": stub.pid}
        )

        flowker_send, floor_send = _webhook(base), _floor_webhook(floor_base)
        # Warm-up: imports, connections, caches on both sides.
        closed_loop(flowker_send, clients=4, requests_per_client=10)
        closed_loop(floor_send, clients=4, requests_per_client=10)
        time.sleep(3)

        runs = []
        for number in range(RUNS):
            print(f"run {number + 1}/{RUNS}…", file=sys.stderr)
            floor = _throughput(floor_send, FLOOR_DATABASE, "floor_decision", floor_cpu)
            flowker = _throughput(flowker_send, DATABASE, "executions_execution", flowker_cpu)
            decisions = _decisions(base)
            runs.append({"flowker": flowker, "floor": floor, "decision": decisions})
        worker_peak_rss_mb = rss.stop()
        for process in (web, worker, beat, floor_web, floor_worker):
            process.stop()
        if ONLY == "load":
            summary = _summary(runs, None, worker_peak_rss_mb, {"not measured": 0.0})
            print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))
            return

        # Statements per execution: a quiet system (no beat), the database's statement log on.
        _set_statement_log(True)
        try:
            web = harness.gunicorn("flowker.wsgi:application", port, FLOWKER_ENV, WORK / "web.log")
            worker = harness.celery("flowker", FLOWKER_ENV, WORK / "worker.log")
            started += [web, worker]
            harness.wait_http(f"{base}/health")
            closed_loop(flowker_send, clients=1, requests_per_client=5)
            time.sleep(2)
            statements = _statements_per_execution(base)
        finally:
            _set_statement_log(False)
            web.stop()
            worker.stop()
        api = _api_latency()
    finally:
        for process in started:
            process.stop()

    summary = _summary(runs, statements, worker_peak_rss_mb, api)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


def _main_api_only() -> None:
    """`BENCH_ONLY=api`: the read-API figure alone (no load runs), e.g. while tuning queries."""
    api = _api_latency()
    summary = {
        "api_get_p99_ms": round(max(api.values()), 2),
        "api_get_p99_ms_by_read": {name: round(value, 2) for name, value in api.items()},
        "setup": {
            "only": "api",
            "samples": API_SAMPLES,
            "history_executions": int(os.environ.get("BENCH_HISTORY_EXECUTIONS", "1000000")),
        },
    }
    print(json.dumps(summary, indent=2))


def _summary(runs: list[dict], statements: float | None, rss_mb: float, api: dict) -> dict:
    e2e = [run["flowker"]["exec_per_s"] for run in runs]
    floor = [run["floor"]["exec_per_s"] for run in runs]
    ratios = [mine / theirs for mine, theirs in zip(e2e, floor, strict=True)]
    concurrency = [str(c) for c in DECISION_CONCURRENCY]
    return {
        "e2e_exec_per_s": _median(e2e),
        "trigger_p50_ms": _median([run["flowker"]["trigger_p50_ms"] for run in runs]),
        "trigger_p99_ms": _median([run["flowker"]["trigger_p99_ms"] for run in runs]),
        "drain_s": _median([run["flowker"]["drain_s"] for run in runs]),
        "decision_p50_ms": {
            c: _median([run["decision"]["p50"][c] for run in runs]) for c in concurrency
        },
        "decision_p99_ms": {
            c: _median([run["decision"]["p99"][c] for run in runs]) for c in concurrency
        },
        "floor_exec_per_s": _median(floor),
        "floor_trigger_p50_ms": _median([run["floor"]["trigger_p50_ms"] for run in runs]),
        "ratio_to_floor": round(statistics.median(ratios), 3),
        "cpu_ms_per_execution": {
            side: {
                part: _median([run[side]["cpu_ms_per_execution"][part] for run in runs])
                for part in runs[0][side]["cpu_ms_per_execution"]
            }
            for side in ("flowker", "floor")
        },
        "db_statements_per_execution": statements,
        "worker_peak_rss_mb": round(rss_mb, 1),
        "api_get_p99_ms": round(max(api.values()), 2),
        "api_get_p99_ms_by_read": {name: round(value, 2) for name, value in api.items()},
        "setup": {
            "runs": RUNS,
            "load_seconds": SECONDS,
            "clients": CLIENTS,
            "web": "gunicorn 2 workers x 8 threads (both sides)",
            "worker": "celery prefork, concurrency 2 (both sides); Flowker also runs beat",
            "history_executions": int(os.environ.get("BENCH_HISTORY_EXECUTIONS", "1000000")),
        },
        "runs": runs,
    }


if __name__ == "__main__":
    main()

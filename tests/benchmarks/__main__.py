"""`make bench`: webhook-started executions end to end on this machine (PostgreSQL + Redis,
gunicorn, a Celery worker, a provider stub on 127.0.0.1), printed as a JSON summary.

Each figure is the median of several runs. Next to it stands a baseline measured in the same
run on the same server — `GET /version` (the HTTP stack alone) — and the ratio, because this
machine is shared and absolute numbers drift.
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import requests

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
REQUESTS_PER_RUN = int(os.environ.get("BENCH_REQUESTS", "200"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowker_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "flowker.settings",
    "DATABASE_URL": DATABASE,
    "REDIS_URL": REDIS,
    "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-secret-key"),
    "FLOWKER_ENCRYPTION_KEY": os.environ.get(
        "FLOWKER_ENCRYPTION_KEY", "X7pDIiUQxJ1MIDJ7PmkxgoNBCKTEyI6dLSfWEUL_uiA="
    ),
    "FLOWKER_OUTBOUND_ALLOW_PRIVATE": "true",
    "FLOWKER_LOG_LEVEL": "WARNING",
}
ENV.pop("CELERY_BROKER_URL", None)
os.environ.update({k: v for k, v in ENV.items() if k != "DJANGO_SETTINGS_MODULE"})
os.environ["DJANGO_SETTINGS_MODULE"] = "flowker.settings"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database() -> None:
    name = DATABASE.rsplit("/", 1)[1]
    admin_url = DATABASE.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=REPO,
        env=ENV,
        check=True,
    )
    import redis

    redis.Redis.from_url(REDIS).flushdb()


def _start(command: list[str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            command, cwd=REPO, env=ENV, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _setup_workflow(stub_url: str) -> tuple[str, str]:
    """Provider configuration, the guide's payment workflow (template) and an API key."""
    import django

    django.setup()
    from flowker.actors import Actor
    from flowker.apikeys.services import api_key_create
    from providers.services import provider_config_create
    from workflows.services import workflow_activate, workflow_create_from_template

    actor = Actor.system()
    provider = provider_config_create(
        name="bench-fraud", provider_id="http", config={"base_url": stub_url}, actor=actor
    )
    workflow = workflow_create_from_template(
        template_id="payment-fraud-check",
        params={
            "workflowName": "bench-payments",
            "fraudProviderConfigId": str(provider.pk),
            "verifyToken": "bench-token",
        },
        actor=actor,
    )
    workflow_activate(workflow=workflow, actor=actor)
    _, key = api_key_create(name="bench", actor=actor)
    from django.db import connections

    connections.close_all()
    return str(workflow.pk), key


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _timed_calls(count: int, call) -> tuple[list[float], float]:
    """Run `call(i)` count times over CLIENTS threads; returns latencies (ms) and wall time."""
    local = threading.local()

    def one(index: int) -> float:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        started = time.perf_counter()
        call(local.session, index)
        return (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        latencies = list(pool.map(one, range(count)))
    return latencies, time.perf_counter() - started


def _terminal_count(workflow_id: str) -> int:
    with psycopg.connect(DATABASE) as connection:
        row = connection.execute(
            "SELECT count(*) FROM executions_execution WHERE workflow_id = %s "
            "AND status IN ('completed', 'failed', 'cancelled')",
            [workflow_id],
        ).fetchone()
    return row[0]


def _one_run(base: str, workflow_id: str, run: int) -> dict[str, float]:
    before = _terminal_count(workflow_id)

    def webhook(session: requests.Session, index: int) -> None:
        response = session.post(
            f"{base}/v1/webhooks/payments/received",
            data=json.dumps({"transactionId": f"r{run}-{index}", "amount": 1500.00}),
            headers={"Content-Type": "application/json", "X-Webhook-Token": "bench-token"},
            timeout=30,
        )
        if response.status_code != 201:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")

    started = time.perf_counter()
    latencies, _ = _timed_calls(REQUESTS_PER_RUN, webhook)
    deadline = time.monotonic() + 300
    while _terminal_count(workflow_id) - before < REQUESTS_PER_RUN:
        if time.monotonic() > deadline:
            raise RuntimeError("executions did not finish within 300 s")
        time.sleep(0.05)
    elapsed = time.perf_counter() - started

    def version(session: requests.Session, index: int) -> None:
        session.get(f"{base}/version", timeout=30).raise_for_status()

    baseline, _ = _timed_calls(REQUESTS_PER_RUN, version)
    return {
        "executions_per_second": REQUESTS_PER_RUN / elapsed,
        "webhook_p50_ms": _percentile(latencies, 0.5),
        "webhook_p99_ms": _percentile(latencies, 0.99),
        "baseline_version_p50_ms": _percentile(baseline, 0.5),
        "baseline_version_p99_ms": _percentile(baseline, 0.99),
    }


def main() -> None:
    from tests.support.stub_server import StubResponse, StubServer

    work = Path(os.environ.get("BENCH_DIR", "/tmp/flowker-bench"))
    work.mkdir(parents=True, exist_ok=True)
    _fresh_database()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with StubServer() as stub:
        stub.on("POST", "/score-transaction", StubResponse(200, {"score": 42}))
        workflow_id, _ = _setup_workflow(stub.url)
        web = _start(
            [sys.executable, "-m", "gunicorn", "flowker.wsgi:application", "--bind",
             f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
            work / "web.log",
        )  # fmt: skip
        worker = _start(
            [sys.executable, "-m", "celery", "-A", "flowker", "worker", "--concurrency", "2",
             "--without-gossip", "--without-mingle", "--loglevel", "WARNING"],
            work / "worker.log",
        )  # fmt: skip
        try:
            _wait_http(f"{base}/health")
            _one_run(base, workflow_id, -1)  # warm-up: connections, imports, caches
            runs = [_one_run(base, workflow_id, run) for run in range(RUNS)]
        finally:
            _stop(web)
            _stop(worker)
    summary: dict[str, object] = {
        "runs": RUNS,
        "requests_per_run": REQUESTS_PER_RUN,
        "client_threads": CLIENTS,
        "web": "gunicorn 2 workers x 4 threads",
        "worker": "celery prefork, concurrency 2",
    }
    for key in runs[0]:
        summary[key] = round(statistics.median(run[key] for run in runs), 2)
    summary["webhook_p50_vs_baseline"] = round(
        summary["webhook_p50_ms"] / summary["baseline_version_p50_ms"], 2
    )
    summary["webhook_p99_vs_baseline"] = round(
        summary["webhook_p99_ms"] / summary["baseline_version_p99_ms"], 2
    )
    summary["all_runs"] = runs
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

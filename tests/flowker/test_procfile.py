"""`make run`'s supervisor starts a process that exited on its own again, after a pause that
doubles while it keeps failing, and stops everything on request."""

import threading
from pathlib import Path

from flowker import procfile


def test_a_crashed_process_is_restarted_with_backoff(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(procfile, "RESTART_DELAY", 0.05)
    monkeypatch.setattr(procfile, "RESTART_DELAY_MAX", 0.2)
    runs = tmp_path / "runs"
    supervisor = procfile.Supervisor({"flaky": f"bash -c 'echo run >> {runs}; exit 3'"})
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        _wait(lambda: runs.exists() and len(runs.read_text().split()) >= 4)
    finally:
        supervisor.request_stop(None, None)
        thread.join(timeout=30)
    assert not thread.is_alive()
    out = capsys.readouterr().out
    assert "flaky exited (rc=3); restarting in 0.05 s" in out
    assert "restarting in 0.1 s" in out
    assert "restarting in 0.2 s" in out  # doubled, up to the cap
    assert "restarting in 0.4 s" not in out
    assert "stopped" in out


def test_a_process_that_runs_is_left_alone_and_stopped_on_request(tmp_path, capsys):
    supervisor = procfile.Supervisor({"steady": "sleep 60"})
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    try:
        _wait(lambda: "steady" in supervisor.children)
    finally:
        supervisor.request_stop(None, None)
        thread.join(timeout=40)
    assert not thread.is_alive()
    out = capsys.readouterr().out
    assert "exited" not in out and "steady started" in out


def _wait(condition, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never met"
        time.sleep(0.02)


def test_the_procfile_gives_beat_tasks_a_worker_of_their_own():
    """Housekeeping (reaper, heartbeats, audit) has its own queue and worker: the executions'
    worker excludes that queue, so a backlog of executions cannot delay the reaper."""
    from django.conf import settings

    from flowker.celery import app

    processes = procfile.read_procfile(Path(__file__).resolve().parents[2] / "Procfile")
    queue = settings.FLOWKER_HOUSEKEEPING_QUEUE
    assert f"--exclude-queues ${{FLOWKER_HOUSEKEEPING_QUEUE:-{queue}}}" in processes["worker"]
    assert f"--queues ${{FLOWKER_HOUSEKEEPING_QUEUE:-{queue}}}" in processes["housekeeping"]
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert app.amqp.router.route({}, entry["task"])["queue"].name == queue, entry
    assert app.amqp.router.route({}, "executions.run")["queue"].name != queue

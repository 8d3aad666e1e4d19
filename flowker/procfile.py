"""Runs the Procfile's processes in the foreground for `make run` and stops them all on Ctrl-C.

Ctrl-C reaches this supervisor alone: it takes the terminal's foreground, so `make` never sees
the interrupt and exits 0, and each process runs in a session of its own, so only its main
process is asked to stop (SIGTERM). That lets Celery and gunicorn shut their children down
themselves, without the errors a signal sent to every child prints. A second Ctrl-C, or
processes still running after STOP_TIMEOUT seconds, end them with SIGKILL.

A process that exits on its own (a crash, a worker that gave up on its broker) is started again
after a pause that doubles from RESTART_DELAY up to RESTART_DELAY_MAX seconds while it keeps
failing, and is back to the shortest once it has stayed up for RESTART_RESET seconds: recovery
never waits for someone to notice. (In production, systemd's `Restart=always` does the same:
see README, Production layout.)

Usage: python -m flowker.procfile Procfile
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

STOP_TIMEOUT = float(os.environ.get("FLOWKER_STOP_TIMEOUT_SECONDS", "30"))
RESTART_DELAY = float(os.environ.get("FLOWKER_RESTART_DELAY_SECONDS", "1"))
RESTART_DELAY_MAX = float(os.environ.get("FLOWKER_RESTART_DELAY_MAX_SECONDS", "30"))
RESTART_RESET = 60.0
_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+):\s*(?P<command>.+)$")


def read_procfile(path: Path) -> dict[str, str]:
    processes = {}
    for line in path.read_text().splitlines():
        match = _LINE.match(line.strip())
        if match:
            processes[match["name"]] = match["command"]
    return processes


class Supervisor:
    def __init__(self, processes: dict[str, str]) -> None:
        self.commands = processes
        self.width = max(len(name) for name in processes) + 2
        self.children: dict[str, subprocess.Popen] = {}
        self.stopping = threading.Event()
        self.requested = False
        self.lock = threading.RLock()  # also taken by the signal handler's messages
        self.pumps: list[threading.Thread] = []
        self.started_at: dict[str, float] = {}
        self.delays: dict[str, float] = {}
        self.restart_at: dict[str, float] = {}  # name -> monotonic time it starts again

    def say(self, name: str, text: str) -> None:
        with self.lock:
            sys.stdout.write(f"{time.strftime('%H:%M:%S')} {name:<{self.width}}| {text}\n")
            sys.stdout.flush()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(name, raw.decode("utf-8", "replace").rstrip("\n"))

    def start(self) -> None:
        for name in self.commands:
            self.start_one(name)

    def start_one(self, name: str) -> None:
        child = subprocess.Popen(
            ["bash", "-c", f"exec {self.commands[name]}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the terminal's Ctrl-C is for the supervisor only
        )
        self.children[name] = child
        self.started_at[name] = time.monotonic()
        self.say("system", f"{name} started (pid {child.pid})")
        pump = threading.Thread(target=self._pump, args=(name, child.stdout), daemon=True)
        pump.start()
        self.pumps.append(pump)

    def watch(self) -> None:
        """Schedule a restart for each process that exited; start those whose pause is over."""
        now = time.monotonic()
        for name, child in self.children.items():
            if child.poll() is None or name in self.restart_at:
                continue
            if now - self.started_at[name] >= RESTART_RESET:
                self.delays[name] = RESTART_DELAY
            delay = self.delays.get(name, RESTART_DELAY)
            self.delays[name] = min(delay * 2, RESTART_DELAY_MAX)
            self.restart_at[name] = now + delay
            self.say("system", f"{name} exited (rc={child.returncode}); restarting in {delay:g} s")
        for name, due in list(self.restart_at.items()):
            if now >= due and not self.stopping.is_set():
                del self.restart_at[name]
                with self.lock:  # a Ctrl-C now finds the new process in the list
                    self.start_one(name)

    def request_stop(self, signum: int, frame: object) -> None:
        if self.requested:
            self.say("system", "stopping now")
            self._kill()
            return
        self.requested = True
        self.say("system", f"stopping {', '.join(self.commands)} (Ctrl-C again to force)")
        self.stopping.set()

    def _running(self) -> list[tuple[str, subprocess.Popen]]:
        return [(name, child) for name, child in self.children.items() if child.poll() is None]

    def _kill(self) -> None:
        for _, child in self._running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)

    def run(self) -> int:
        self.start()
        while not self.stopping.wait(0.2):
            self.watch()
        for _, child in self._running():
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self._running() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._running():
            self.say("system", f"still running after {STOP_TIMEOUT:g} s: killing")
            self._kill()
        for child in self.children.values():
            child.wait()
        for pump in self.pumps:
            pump.join(timeout=2)
        self.say("system", "stopped")
        return 0 if self.requested else 1


def _take_terminal() -> int | None:
    """Become the terminal's foreground process group; returns the group to give it back to."""
    if not os.isatty(0):
        return None
    previous = os.tcgetpgrp(0)
    if previous != os.getpgrp():
        return None  # started in the background (`make run &`): the terminal is not ours to take
    os.setpgid(0, 0)
    handler = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(0, os.getpgrp())
    finally:
        signal.signal(signal.SIGTTOU, handler)
    return previous


def _give_back_terminal(previous: int | None) -> None:
    if previous is None:
        return
    handler = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(0, previous)
    except OSError:
        pass  # the previous group is gone (e.g. make was killed): nothing to give back
    finally:
        signal.signal(signal.SIGTTOU, handler)


def main(argv: list[str]) -> int:
    supervisor = Supervisor(read_procfile(Path(argv[1] if len(argv) > 1 else "Procfile")))
    signal.signal(signal.SIGINT, supervisor.request_stop)
    signal.signal(signal.SIGTERM, supervisor.request_stop)
    previous = _take_terminal()
    try:
        return supervisor.run()
    finally:
        _give_back_terminal(previous)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

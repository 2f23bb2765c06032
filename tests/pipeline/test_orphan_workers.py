"""Engine workers die with their parent: SIGKILL an app-like process that started both real
workers (tiny models) and both are gone within a few seconds. Before engine_process, the
280 MB and 170 MB workers kept running. Also: a worker spawned from a thread, where only the
pipe/ppid watcher can notice, goes too; and it is NOT killed when merely its thread ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"            # a zombie has ended; only its exit status waits for a reaper


def _start_app(*args: str) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "desktop")}
    app = subprocess.Popen([sys.executable, str(HERE / "orphan_app.py"), *args],
                           stdout=subprocess.PIPE, text=True, env=env)
    line = app.stdout.readline()
    if not line:
        app.kill()
        pytest.fail(f"the app-like parent did not start its workers (exit {app.wait()})")
    return app, json.loads(line)


def _gone_within(pids: list[int], seconds: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if not any(_alive(p) for p in pids):
            return time.monotonic() - start
        time.sleep(0.1)
    return None


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the workers")
def test_both_engine_workers_die_with_a_sigkilled_app(tiny_models):
    app, pids = _start_app()
    workers = [pids["asr"], pids["draft"]]
    try:
        assert all(_alive(p) for p in workers) and app.pid not in workers
        os.kill(app.pid, signal.SIGKILL)
        app.wait(10)
        took = _gone_within(workers, 5.0)
        assert took is not None, f"orphaned engine workers still running: {workers}"
    finally:
        for p in workers:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the worker")
def test_a_worker_spawned_from_a_thread_outlives_the_thread_but_not_the_app():
    app, pids = _start_app("--thread")
    worker = pids["idle"]
    try:
        assert _alive(worker), "the worker died with its spawning thread"
        os.kill(app.pid, signal.SIGKILL)
        app.wait(10)
        assert _gone_within([worker], 5.0) is not None, "the watcher missed the parent's death"
    finally:
        if _alive(worker):
            os.kill(worker, signal.SIGKILL)

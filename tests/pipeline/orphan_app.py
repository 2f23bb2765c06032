"""An app-like parent for test_orphan_workers.py: starts both engine workers the way a visit
does (real tiny models), prints their pids as JSON, then waits to be killed.

``--thread``: spawn a bare engine process from a non-main thread instead (the kernel's
parent-death signal is not armed there, so only the pipe/ppid watcher can end it).
"""

from __future__ import annotations

import json
import sys
import threading
import time


def idle_engine(requests, events) -> None:
    from localscribe.engine_process import child_ready
    child_ready(events, None)
    requests.get()        # blocks until told to stop, or until its parent is gone


def main() -> None:
    if "--thread" in sys.argv:
        from localscribe.engine_process import EngineProcess
        pids = []

        def start() -> None:
            proc = EngineProcess(idle_engine, (), name="idle", what="the idle engine", crash_hint="")
            proc.start(60)
            pids.append(proc.pid)
            globals()["keep"] = proc
        t = threading.Thread(target=start)
        t.start()
        t.join()          # the spawning thread is gone; the parent lives on
        time.sleep(1.5)   # ... and so must the child (checked by the test)
        print(json.dumps({"idle": pids[0]}), flush=True)
    else:
        from localscribe.models import select_models
        from localscribe.config import resolve_paths
        from localscribe.pipeline.engines import drafter_factory, transcriber_factory
        asr_model, llm_model = select_models("tiny", resolve_paths())
        asr = transcriber_factory(asr_model, n_threads=1)()
        drafter = drafter_factory(llm_model, "soap", n_threads=1)()
        print(json.dumps({"asr": asr.worker_pid, "draft": drafter.worker.pid}), flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()

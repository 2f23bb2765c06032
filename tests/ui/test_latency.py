"""No UI freeze over 100 ms (issue 12): a QTimer samples the event loop every 5 ms while the
window creates the first admin, adds a user and unlocks with the production key derivation
(scrypt n=2^16, about a second per derivation, much more on a loaded machine), and while Stop
follows Record at once. A slow step on the UI thread shows as a gap between two ticks.

What is asserted is the UI thread's own CPU time between two ticks (`time.thread_time`): on
a shared, overloaded test machine the OS may not schedule the process for a while, which says
nothing about the code, whereas key derivation or a device scan on the UI thread burns its CPU
right there. The wall-clock gaps are printed beside it. A UI thread blocked *waiting* (a join,
a sleep) is not caught by the CPU measure; the wall figure shows it on an idle machine."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt, QTimer

from lock_helpers import start_recording, require_models_and_speech
from ui_helpers import PASSPHRASE, pump, require_core, wait_until

MAX_GAP_S = 0.100


class LoopSampler:
    """Records the longest time between two event-loop ticks, and which step it fell in."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.worst: dict[str, float] = {}        # UI-thread CPU seconds between two ticks
        self.wall: dict[str, float] = {}         # wall-clock seconds between two ticks
        self.step = ""
        self._last = self._last_cpu = 0.0

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap, busy = now - self._last, cpu - self._last_cpu
        self._last, self._last_cpu = now, cpu
        self.worst[self.step] = max(self.worst.get(self.step, 0.0), busy)
        self.wall[self.step] = max(self.wall.get(self.step, 0.0), gap)

    def begin(self, step: str) -> None:
        self.step = step
        self._last, self._last_cpu = time.perf_counter(), time.thread_time()
        self.timer.start()

    def end(self) -> None:
        self._tick()                       # a freeze just before the end counts too
        self.timer.stop()

    def assert_smooth(self) -> None:
        slow = {k: round(v * 1000) for k, v in self.worst.items() if v > MAX_GAP_S}
        wall = {k: round(v * 1000) for k, v in self.wall.items()}
        print(f"UI-thread CPU per tick, worst (ms): "
              f"{ {k: round(v * 1000) for k, v in self.worst.items()} }; wall gaps (ms): {wall}")
        assert not slow, f"UI thread busy without returning to the event loop (ms): {slow}; " \
                         f"wall gaps (ms): {wall}"


def test_no_freeze_creating_the_first_admin_adding_a_user_and_unlocking(qtbot, window, paths):
    require_core("localscribe.vault:Vault")
    from localscribe.vault import Vault, kdf
    sampler = LoopSampler()
    view = window.unlock_view
    view.user.setText("admin")
    view.passphrase.setText(PASSPHRASE)
    view.confirm.setText(PASSPHRASE)
    sampler.begin("create first admin")
    view.button.click()
    assert window.is_locked and not view.button.isEnabled()     # the work went to a thread
    wait_until(lambda: not window.is_locked, timeout=120_000)
    sampler.end()
    assert Vault.open(paths).users()[0].kdf.n >= kdf.PRODUCTION_FLOOR.n   # the real cost was paid

    window.show_settings()
    s = window.settings
    s.new_user.setText("ursula")
    s.new_role.setCurrentText("auditor")
    s.new_pass.setText(PASSPHRASE + " 2")
    sampler.begin("add user")
    s.add_button.click()
    wait_until(lambda: "Added ursula" in s.users_state.text() or "Not added" in s.users_state.text(),
               timeout=120_000)
    sampler.end()
    assert "Added ursula" in s.users_state.text(), s.users_state.text()

    window.lock("Locked.")
    view.user.setText("admin")
    view.passphrase.setText(PASSPHRASE)
    sampler.begin("unlock")
    view.button.click()
    wait_until(lambda: not window.is_locked, timeout=120_000)
    sampler.end()
    sampler.assert_smooth()


@pytest.mark.slow
def test_no_freeze_on_stop_right_after_record(virtual_microphone, qtbot, vault, window, paths):
    require_models_and_speech(paths)
    sampler = LoopSampler()
    enc = window.encounter
    sampler.begin("record")
    start_recording(window, qtbot)
    sampler.end()
    sampler.begin("stop right after record")
    enc.panel.stop_button.click()
    pump(1500)                                   # the device closes on its own thread
    sampler.end()
    sampler.assert_smooth()
    wait_until(lambda: not enc.visit_in_progress, timeout=600_000)

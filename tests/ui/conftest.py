"""Fixtures for the desktop UI tests: offscreen Qt, a real vault in a temporary folder, and
helpers that read what a user could see on screen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOCALSCRIBE_PROFILE", "tiny")

import pytest

from localscribe.config import Paths, resolve_paths

from ui_helpers import PASSPHRASE, require_core


@pytest.fixture
def paths(tmp_path) -> Paths:
    models = os.environ.get("LOCALSCRIBE_MODELS_DIR")
    return resolve_paths(tmp_path / "data", models)


@pytest.fixture
def vault(paths):
    """A real vault with an admin, a clinician and an assistant."""
    require_core("localscribe.vault:Vault")
    from localscribe.vault import TEST_PARAMS, Vault
    v = Vault.create(paths, "admin", PASSPHRASE, kdf_params=TEST_PARAMS)
    admin = v.unlock("admin", PASSPHRASE)
    admin.add_user("drjones", "clinician", PASSPHRASE)
    admin.add_user("sam", "assistant", PASSPHRASE)
    admin.add_user("audrey", "auditor", PASSPHRASE)
    admin.lock()
    for name in ("drjones", "sam", "audrey"):     # each has chosen their own passphrase since
        s = v.unlock(name, PASSPHRASE)
        s.set_passphrase(name, PASSPHRASE)
        s.lock()
    yield v
    close = getattr(v, "close", None)
    if close:
        close()


@pytest.fixture
def window(qtbot, paths):
    from localscribe.ui import style
    from localscribe.ui.main_window import MainWindow
    from localscribe.ui.prefs import UiPrefs
    from PySide6.QtWidgets import QApplication
    style.apply(QApplication.instance())
    w = MainWindow(paths, "tiny", UiPrefs())
    qtbot.addWidget(w)
    w.show()
    yield w
    w.encounter.player.stop()
    visit = w.encounter.visit
    if visit is not None:            # never leave a capture stream or engine running
        visit.cancel()
        wait = getattr(visit, "wait", None)
        if wait:
            wait(timeout=60)
        w.encounter.visit = None
    w.runner.cancel_all()
    w.runner.wait(10000)



@pytest.fixture
def virtual_microphone(tmp_path):
    """A private PulseAudio daemon whose default source `virtmic` hears whatever is played
    into the null sink `vmic` (see shared docs test-rig.md). Yields a `play(path)` function
    that starts `paplay` and returns its Popen. PortAudio is re-initialised so that it sees
    the daemon through ALSA's pulse plugin."""
    import shutil
    import subprocess
    import time

    for tool in ("pulseaudio", "pactl", "paplay"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (Debian pulseaudio, pulseaudio-utils) for the virtual microphone")
    runtime = tmp_path / "pulse"
    runtime.mkdir()
    env = dict(os.environ, PULSE_RUNTIME_PATH=str(runtime), XDG_RUNTIME_DIR=str(runtime),
               PULSE_SERVER=f"unix:{runtime}/native", PULSE_STATE_PATH=str(runtime / "state"))
    started = subprocess.run(
        ["pulseaudio", "-n", "-D", "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=yes",
         "-L", f"module-native-protocol-unix socket={runtime}/native auth-anonymous=1",
         "-L", "module-null-sink sink_name=vmic",
         "-L", "module-remap-source master=vmic.monitor source_name=virtmic",
         "-L", "module-always-sink"], env=env, capture_output=True, text=True, timeout=30)
    if started.returncode != 0:
        pytest.fail(f"pulseaudio did not start: {started.stderr.strip()}")
    deadline = time.monotonic() + 10
    while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            pytest.fail("pulseaudio started but does not answer")
        time.sleep(0.2)
    subprocess.run(["pactl", "set-default-source", "virtmic"], env=env, check=True)
    subprocess.run(["pactl", "set-default-sink", "vmic"], env=env, check=True)
    saved = {k: os.environ.get(k) for k in ("PULSE_SERVER", "PULSE_RUNTIME_PATH")}
    os.environ["PULSE_SERVER"] = env["PULSE_SERVER"]
    os.environ["PULSE_RUNTIME_PATH"] = env["PULSE_RUNTIME_PATH"]
    import sounddevice as sd
    sd._terminate()
    sd._initialize()
    players: list[subprocess.Popen] = []

    def play(path) -> subprocess.Popen:
        proc = subprocess.Popen(["paplay", "--device=vmic", str(path)], env=env)
        players.append(proc)
        return proc

    yield play
    for proc in players:
        if proc.poll() is None:
            proc.kill()
    # PortAudio must let go of the daemon while it still answers: Pa_Terminate with a stream
    # still playing, or after the daemon died under ALSA's pulse plugin, can crash the process.
    sd.stop()
    sd._terminate()
    subprocess.run(["pulseaudio", "-k"], env=env, capture_output=True, timeout=10)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    sd._initialize()         # later users see the machine's own devices again

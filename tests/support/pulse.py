"""A PulseAudio virtual microphone for tests: whatever is played into the null sink `vmic`
comes out of the source `virtmic`, which is the default input device.

Each use starts its own daemon in a private runtime directory, so tests do not collide with
one another or with a desktop session, and stops it at the end (see docs test-rig.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator


class VirtualMic:
    def __init__(self, runtime: Path):
        self.runtime = runtime
        self.env = {**os.environ, "PULSE_RUNTIME_PATH": str(runtime)}

    def play(self, path: str | Path) -> subprocess.Popen:
        return subprocess.Popen(["paplay", "--device=vmic", str(path)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def kill_server(self) -> None:
        """Make the microphone vanish, as when a USB headset is pulled out."""
        subprocess.run(["pulseaudio", "-k"], env=self.env, capture_output=True, timeout=10)


def available() -> bool:
    return all(shutil.which(x) for x in ("pulseaudio", "pactl", "paplay"))


@contextmanager
def virtual_microphone(runtime: Path) -> Iterator[VirtualMic]:
    runtime.mkdir(parents=True, exist_ok=True)
    mic = VirtualMic(runtime)
    old = os.environ.get("PULSE_RUNTIME_PATH")
    subprocess.run(["pulseaudio", "-n", "-D", "--exit-idle-time=-1", "--disallow-exit",
                    "-L", "module-native-protocol-unix",
                    "-L", "module-null-sink sink_name=vmic",
                    "-L", "module-remap-source master=vmic.monitor source_name=virtmic",
                    "-L", "module-always-sink"],
                   env=mic.env, check=True, capture_output=True, timeout=30)
    try:
        for _ in range(50):
            if subprocess.run(["pactl", "set-default-source", "virtmic"], env=mic.env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("PulseAudio did not come up")
        os.environ["PULSE_RUNTIME_PATH"] = str(runtime)
        from localscribe.capture.sources import refresh_devices

        refresh_devices()
        yield mic
    finally:
        # Let PortAudio go of the daemon while it still answers (Pa_Terminate after the daemon
        # died under ALSA's pulse plugin can crash), then re-scan without it.
        import sounddevice as sd
        sd.stop()
        sd._terminate()
        mic.kill_server()
        if old is None:
            os.environ.pop("PULSE_RUNTIME_PATH", None)
        else:
            os.environ["PULSE_RUNTIME_PATH"] = old
        sd._initialize()

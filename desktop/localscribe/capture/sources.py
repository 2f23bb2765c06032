"""Where visit audio comes from: a microphone (sounddevice) or a file on disk.

Both hand out AudioBlocks of 16 kHz mono float32 with their start time in the visit. The
microphone writes every captured block to the spool it is given (the vault's encrypted
audio spool in the app) on its own thread, before anyone downstream sees it, so a slow or
crashed transcriber never costs audio. A missing device, or one that disappears mid-visit,
is a CaptureError with a plain message; what was captured up to then stays in the spool.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol
from collections.abc import Callable, Iterator

import numpy as np
import soxr

from localscribe.capture.decode import TARGET_RATE, audio_info, iter_blocks
from localscribe.capture.level import Level, LevelMeter


class AudioSink(Protocol):
    """Where captured audio is kept (the vault's AudioSpool satisfies this)."""

    def write(self, samples: np.ndarray) -> Any: ...
    def close(self) -> Any: ...


@dataclass(frozen=True)
class AudioBlock:
    samples: np.ndarray                  # float32 mono 16 kHz
    start: float                         # seconds of visit audio before this block
    channels: np.ndarray | None = None   # (n, c) at 16 kHz when the source has several channels
    level: Level | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / TARGET_RATE


class CaptureError(RuntimeError):
    """Audio capture cannot start or go on. `captured_seconds` says how much was kept."""

    def __init__(self, message: str, captured_seconds: float = 0.0):
        super().__init__(message)
        self.captured_seconds = captured_seconds


class NoInputDevice(CaptureError):
    pass


class DeviceLost(CaptureError):
    pass


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_samplerate: float
    is_default: bool


def _sounddevice() -> ModuleType:
    try:
        import sounddevice as sd
    except OSError as exc:   # the PortAudio shared library is missing
        raise CaptureError(f"audio capture is unavailable: {exc} "
                           "(install the PortAudio library, Debian package libportaudio2)") from None
    module: ModuleType = sd   # sounddevice ships no types: its attributes are Any from here on
    return module


def input_devices() -> list[InputDevice]:
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
        default_in = sd.default.device[0]
    except sd.PortAudioError as exc:
        raise CaptureError(f"cannot list audio devices: {exc}") from None
    return [InputDevice(i, d["name"], int(d["max_input_channels"]), float(d["default_samplerate"]),
                        i == default_in)
            for i, d in enumerate(devices) if d["max_input_channels"] > 0]


def refresh_devices() -> None:
    """Re-scan audio devices (PortAudio lists them once, when it starts): call after a
    microphone is plugged in or the sound server restarts."""
    sd = _sounddevice()
    sd._terminate()  # noqa: SLF001 - sounddevice's documented way to re-enumerate devices
    sd._initialize()  # noqa: SLF001


def choose_device(device: int | str | None, channels: int) -> InputDevice:
    devices = input_devices()
    if not devices:
        raise NoInputDevice("no microphone found: this computer has no audio input device "
                            "(plug one in, or check the system's sound settings)")
    picked: InputDevice | None
    if device is None:
        picked = next((d for d in devices if d.is_default), devices[0])
    elif isinstance(device, int):
        picked = next((d for d in devices if d.index == device), None)
    else:
        picked = next((d for d in devices if d.name == device), None) or next(
            (d for d in devices if device.lower() in d.name.lower()), None)
    if picked is None:
        names = ", ".join(f"{d.index}: {d.name}" for d in devices)
        raise NoInputDevice(f"no input device {device!r}; available: {names}")
    if picked.channels < channels:
        raise NoInputDevice(f"input device {picked.name!r} has {picked.channels} channel(s), "
                            f"{channels} requested")
    return picked


class FileSource:
    """A recording as AudioBlocks; realtime=True paces them like a live microphone."""

    def __init__(self, path: str | Path, block_seconds: float = 0.5, *, realtime: bool = False,
                 keep_channels: bool = False):
        self.info = audio_info(path)
        self.block_seconds = block_seconds
        self.realtime = realtime
        self.keep_channels = keep_channels and self.info.channels > 1

    def __iter__(self) -> Iterator[AudioBlock]:
        t = 0.0
        began = time.monotonic()
        for block in iter_blocks(self.info.path, self.block_seconds,
                                 keep_channels=self.keep_channels):
            if self.realtime:
                delay = began + t - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            mono = block.mean(axis=1, dtype=np.float32) if block.ndim == 2 else block
            yield AudioBlock(mono, t, block if block.ndim == 2 else None)
            t += len(mono) / TARGET_RATE


class _Stop:
    """The end-of-capture marker put on both queues (a class, so a queue's item type says it)."""


_STOP = _Stop()


class MicrophoneSource:
    """Capture from an input device. start(), then iterate blocks(); pause()/resume();
    stop() at the end. Paused audio is discarded and does not advance visit time."""

    def __init__(self, device: int | str | None = None, *, channels: int = 1,
                 block_seconds: float = 0.1, spool: AudioSink | None = None,
                 on_level: Callable[[Level], None] | None = None,
                 stall_timeout_s: float = 2.0, close_spool: bool = True):
        self.device = choose_device(device, channels)
        self.channels = channels
        self.block_seconds = block_seconds
        self.spool = spool
        self.on_level = on_level
        self.stall_timeout_s = stall_timeout_s
        self.close_spool = close_spool
        self.samplerate = TARGET_RATE
        self.overflows = 0
        self._raw: queue.Queue[np.ndarray | _Stop] = queue.Queue()
        self._out: queue.Queue[AudioBlock | _Stop] = queue.Queue()
        self._meter = LevelMeter()
        self._stream: Any = None          # a sounddevice.InputStream (sounddevice ships no types)
        self._pump: threading.Thread | None = None
        self._paused = threading.Event()
        self._stopping = threading.Event()
        self._last_callback = 0.0
        self._had_callback = False
        self._captured = 0            # samples at 16 kHz kept so far
        self.error: CaptureError | None = None
        self._resampler: Any = None       # a soxr.ResampleStream (soxr ships no types)

    @property
    def captured_seconds(self) -> float:
        return self._captured / TARGET_RATE

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> MicrophoneSource:
        sd = _sounddevice()
        try:
            self._stream = self._open(sd, TARGET_RATE)
        except sd.PortAudioError:
            # Some devices only offer their native rate: take it and resample ourselves.
            rate = int(self.device.default_samplerate)
            try:
                self._stream = self._open(sd, rate)
            except sd.PortAudioError as exc:
                raise NoInputDevice(f"cannot open input device {self.device.name!r}: {exc}") from None
            self.samplerate = rate
            self._resampler = soxr.ResampleStream(rate, TARGET_RATE, self.channels, dtype="float32")
        self._last_callback = time.monotonic()
        try:
            self._stream.start()
        except sd.PortAudioError as exc:
            raise NoInputDevice(f"cannot start input device {self.device.name!r}: {exc}") from None
        self._pump = threading.Thread(target=self._run_pump, name="localscribe-capture", daemon=True)
        self._pump.start()
        return self

    def _open(self, sd: ModuleType, rate: int) -> Any:
        return sd.InputStream(device=self.device.index, channels=self.channels, samplerate=rate,
                              dtype="float32", blocksize=max(1, int(rate * self.block_seconds)),
                              callback=self._callback)

    def __enter__(self) -> MicrophoneSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        """Stop capture, keep everything captured (flushed to the spool), end blocks()."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:  # noqa: BLE001 - a vanished device may refuse to stop cleanly
                pass
        self._raw.put(_STOP)
        if self._pump is not None:
            self._pump.join(timeout=10)

    # -- the PortAudio thread -------------------------------------------------------------
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        self._last_callback = time.monotonic()
        self._had_callback = True
        self._raw.put(indata.copy())

    # -- the pump thread: spool first, then consumers ----------------------------------------
    def _run_pump(self) -> None:
        try:
            while True:
                try:
                    raw = self._raw.get(timeout=0.2)
                except queue.Empty:
                    if not self._stopping.is_set() and self._stalled():
                        raise DeviceLost(
                            f"the input device {self.device.name!r} stopped delivering audio "
                            f"(disconnected?); {self.captured_seconds:.1f} s captured and kept",
                            self.captured_seconds) from None
                    continue
                if isinstance(raw, _Stop):
                    self._flush_resampler()
                    return
                if not self._paused.is_set():
                    self._keep(raw)
        except CaptureError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - e.g. the spool's disk is full
            self.error = CaptureError(f"audio capture failed: {exc}; "
                                      f"{self.captured_seconds:.1f} s captured and kept",
                                      self.captured_seconds)
        finally:
            if self.spool is not None and self.close_spool:
                try:
                    self.spool.close()
                except Exception as exc:  # noqa: BLE001
                    self.error = self.error or CaptureError(f"could not close the audio spool: {exc}")
            self._out.put(_STOP)

    def _stalled(self) -> bool:
        if self._stream is not None and not self._stream.active:
            return True
        # Some audio servers take a second or two to deliver the first block.
        limit = self.stall_timeout_s if self._had_callback else max(self.stall_timeout_s, 5.0)
        return time.monotonic() - self._last_callback > limit

    def _keep(self, raw: np.ndarray) -> None:
        data = raw if self._resampler is None else self._resampler.resample_chunk(raw)
        if len(data) == 0:
            return
        self._emit(data)

    def _flush_resampler(self) -> None:
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(
                np.zeros((0, self.channels), dtype=np.float32), last=True)
            if len(tail):
                self._emit(tail)

    def _emit(self, data: np.ndarray) -> None:
        mono = np.ascontiguousarray(data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1
                                    else data[:, 0])
        if self.spool is not None:
            self.spool.write(mono)
        level = self._meter.update(mono)
        if self.on_level is not None:
            self.on_level(level)
        block = AudioBlock(mono, self.captured_seconds,
                           np.ascontiguousarray(data) if self.channels > 1 else None, level)
        self._captured += len(mono)
        self._out.put(block)

    # -- consumer side --------------------------------------------------------------------
    def blocks(self) -> Iterator[AudioBlock]:
        """Captured blocks in order until stop(); raises the CaptureError that ended capture."""
        while True:
            item = self._out.get()
            if isinstance(item, _Stop):
                self._out.put(_STOP)      # later calls end at once too
                if self.error is not None:
                    raise self.error
                return
            yield item

    def read(self, timeout: float | None = None) -> AudioBlock | None:
        """One block, or None when none arrived within timeout or capture has ended."""
        try:
            item = self._out.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, _Stop):
            self._out.put(_STOP)
            if self.error is not None:
                raise self.error
            return None
        return item

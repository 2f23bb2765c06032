"""Which compute backend the engines were built with, and how many layers go to a GPU.

The installer builds llama.cpp for the machine's GPU when it has one (CUDA, Vulkan, Metal;
``installer/gpu_backend.sh``); this module reads back what was built, from the engines' own
system-info strings, so ``models list`` and the security report say what really runs rather
than what was asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Backend names as the ggml registry prints them; the CPU is always there.
_GPU_NAMES = ("CUDA", "Vulkan", "Metal", "ROCm", "HIP", "SYCL", "OpenCL")


@dataclass(frozen=True)
class EngineBackend:
    engine: str                 # "llama.cpp" or "whisper.cpp"
    backends: tuple[str, ...]   # registries compiled in, e.g. ("Vulkan", "CPU")
    gpu_offload: bool           # the build can put layers on a GPU device

    @property
    def summary(self) -> str:
        gpus = [b for b in self.backends if b in _GPU_NAMES]
        return "+".join(gpus + ["CPU"]) if gpus else "CPU"

    def to_dict(self) -> dict[str, object]:
        return {"engine": self.engine, "backend": self.summary, "compiled": list(self.backends),
                "gpu_offload": self.gpu_offload}


def parse_system_info(info: str) -> tuple[str, ...]:
    """Backend registries named in a ggml system-info line ("Vulkan : ... | CPU : SSE3 = 1 | ...")."""
    names = re.findall(r"(?:^|\|)\s*([A-Za-z][A-Za-z0-9_]*)\s*:", info)
    seen: list[str] = []
    for n in names:
        canon = next((g for g in (*_GPU_NAMES, "CPU") if g.lower() == n.lower()), None)
        if canon and canon not in seen:
            seen.append(canon)
    return tuple(seen)


def llama_backend() -> EngineBackend:
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return EngineBackend("llama.cpp", parse_system_info(info), bool(llama_cpp.llama_supports_gpu_offload()))


def whisper_backend() -> EngineBackend:
    import _pywhispercpp

    info = str(_pywhispercpp.whisper_print_system_info())
    backends = parse_system_info(info)
    return EngineBackend("whisper.cpp", backends, any(b in _GPU_NAMES for b in backends))


def gpu_layers(requested: int | None = None) -> int:
    """Layers llama.cpp should offload: ``requested`` when given (0 keeps the model on the CPU),
    else all of them when the build can offload (a build without a GPU backend ignores it)."""
    if requested is not None:
        return requested
    return -1 if llama_backend().gpu_offload else 0


def engine_backends() -> list[EngineBackend]:
    """Both engines' backends; an engine that cannot be imported is left out (the models'
    own checks report a broken install)."""
    out = []
    for probe in (llama_backend, whisper_backend):
        try:
            out.append(probe())
        except (ImportError, OSError, AttributeError):
            continue
    return out

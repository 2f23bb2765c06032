"""installer/gpu_backend.sh: which backend llama.cpp is built for, and what the app reports.

The hardware probes (nvidia-smi, nvcc, vulkaninfo, uname) are stand-ins: shell scripts that
print what those tools print on a machine with that hardware, because this machine has no
GPU. They test the choice, not the hardware. A real Vulkan build could not be made on this
machine (Debian 12's Vulkan headers are too old for llama.cpp's Vulkan backend, see
gpu_backend.sh); ``tests/bench/bench_backend.py`` is the correctness check to run where one
can be built. What the build of this checkout reports is read from the real engines below.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from localscribe.models.backend import llama_backend, parse_system_info, whisper_backend

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "installer" / "gpu_backend.sh"

VULKANINFO = {
    "discrete": "Devices:\n========\nGPU0:\n\tdeviceType         = PHYSICAL_DEVICE_TYPE_DISCRETE_GPU\n"
                "\tdeviceName         = AMD Radeon RX 7600\n",
    "lavapipe": "Devices:\n========\nGPU0:\n\tdeviceType         = PHYSICAL_DEVICE_TYPE_CPU\n"
                "\tdeviceName         = llvmpipe (LLVM 15.0.6, 256 bits)\n",
}


def stand_in(bindir: Path, name: str, output: str, status: int = 0) -> None:
    path = bindir / name
    path.write_text(f"#!/bin/sh\n# stands in for {name} on a machine with that hardware\n"
                    f"cat <<'EOF'\n{output}EOF\nexit {status}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def choose(tmp_path: Path, request: str = "auto", **tools: str) -> str:
    bindir = tmp_path / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    stand_in(bindir, "uname", "Linux\n")
    for name, out in tools.items():
        stand_in(bindir, name, out)
    # Only the stand-ins and the shell's basics: no real GPU tool on this machine leaks in.
    env = {"PATH": f"{bindir}:/usr/bin:/bin"}
    for real in ("nvidia-smi", "nvcc", "vulkaninfo"):
        if real not in tools and (Path("/usr/bin") / real).exists():
            stand_in(bindir, real, "", status=1)      # present but finding nothing
    r = subprocess.run(["bash", "-c", f'. "{SCRIPT}"; gpu_backend {request}; echo "$(gpu_cmake_args '
                        f'"$(gpu_backend {request})")"'], capture_output=True, text=True, env=env, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().replace("\n", " | ")


def test_auto_picks_the_gpu_the_machine_has(tmp_path):
    assert choose(tmp_path / "n", **{"nvidia-smi": "GPU 0: NVIDIA L4 (UUID: GPU-1)\n", "nvcc": "nvcc 12\n"}) \
        == "cuda | -DGGML_CUDA=ON"
    assert choose(tmp_path / "v", vulkaninfo=VULKANINFO["discrete"]) == "vulkan | -DGGML_VULKAN=ON"
    assert choose(tmp_path / "c") == "cpu"


def test_auto_never_builds_for_a_cpu_vulkan_driver_but_it_can_be_forced(tmp_path):
    # lavapipe is slower than llama.cpp's own CPU code: only an explicit --gpu vulkan uses it.
    assert choose(tmp_path / "a", vulkaninfo=VULKANINFO["lavapipe"]) == "cpu"
    assert choose(tmp_path / "f", "vulkan", vulkaninfo=VULKANINFO["lavapipe"]) == "vulkan | -DGGML_VULKAN=ON"


def test_an_nvidia_card_without_the_cuda_toolkit_falls_to_its_vulkan_driver(tmp_path):
    tools = {"nvidia-smi": "GPU 0: NVIDIA L4 (UUID: GPU-1)\n", "vulkaninfo": VULKANINFO["discrete"]}
    assert choose(tmp_path, **tools) == "vulkan | -DGGML_VULKAN=ON"


def test_apple_silicon_builds_metal(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    stand_in(bindir, "uname", "")
    (bindir / "uname").write_text('#!/bin/sh\n# stands in for macOS on Apple silicon\n'
                                  'case "$1" in -s) echo Darwin ;; -m) echo arm64 ;; esac\n')
    r = subprocess.run(["bash", "-c", f'. "{SCRIPT}"; gpu_backend auto'], capture_output=True, text=True,
                       env={"PATH": f"{bindir}:/usr/bin:/bin"}, check=True)
    assert r.stdout.strip() == "metal"


def test_a_wrong_request_is_refused_in_one_line(tmp_path):
    r = subprocess.run(["bash", "-c", f'. "{SCRIPT}"; gpu_backend opencl'], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "--gpu must be" in r.stderr


def test_system_info_lines_name_the_backends():
    assert parse_system_info("Vulkan : | CPU : SSE3 = 1 | AVX2 = 1 | OPENMP = 1 | ") == ("Vulkan", "CPU")
    assert parse_system_info("CPU : SSE3 = 1 | CUDA : ARCHS = 860 | USE_GRAPHS = 1 | ") == ("CPU", "CUDA")
    assert parse_system_info("WHISPER : COREML = 0 | OPENVINO = 0 | CPU : SSE3 = 1 | ") == ("CPU",)


@pytest.mark.parametrize("probe", [llama_backend, whisper_backend])
def test_the_engines_of_this_install_report_what_they_were_built_with(probe):
    b = probe()
    assert "CPU" in b.backends
    # A build with a GPU backend says so and can offload; a CPU build says CPU and cannot.
    assert (b.summary != "CPU") == b.gpu_offload, b


def test_vulkan_headers_without_layer_settings_are_refused(tmp_path):
    # Debian 12's headers (1.3.239) lack the extension llama.cpp's Vulkan backend compiles against.
    old, new = tmp_path / "old.h", tmp_path / "new.h"
    old.write_text("#define VK_HEADER_VERSION 239\n")
    new.write_text("#define VK_HEADER_VERSION 275\n#define VK_EXT_layer_settings 1\n")
    ok = [subprocess.run(["bash", "-c", f'. "{SCRIPT}"; vulkan_headers_ok "{h}"'], check=False).returncode
          for h in (old, new)]
    assert ok == [1, 0]

# shellcheck shell=bash
# Which compute backend to build llama.cpp with: sourced by install.sh.
#
#   gpu_backend REQUEST    prints cpu | cuda | vulkan | metal
#   gpu_cmake_args BACKEND prints the CMake flags of that backend's build
#
# REQUEST is "auto" (the default: a GPU the machine really has, else the CPU), "none", or a
# backend forced by name. "auto" never picks a CPU-only Vulkan driver (Mesa's lavapipe): it
# would be slower than the CPU build. Forcing "vulkan" accepts one, which is how the Vulkan
# path is tested on a machine without a GPU (tests/draft/test_gpu_backend.py).

_has_nvidia() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '
}

_has_vulkan_gpu() {
  command -v vulkaninfo >/dev/null 2>&1 || return 1
  vulkaninfo --summary 2>/dev/null | grep -E 'deviceType' |
    grep -q -E 'PHYSICAL_DEVICE_TYPE_(DISCRETE|INTEGRATED|VIRTUAL)_GPU'
}

gpu_backend() {
  local request="${1:-auto}"
  case "$request" in
    none|cpu) echo cpu; return 0 ;;
    cuda|vulkan|metal) echo "$request"; return 0 ;;
    auto) ;;
    *) echo "install.sh: --gpu must be auto, none, cuda, vulkan or metal" >&2; return 2 ;;
  esac
  if [ "$(uname -s)" = Darwin ] && [ "$(uname -m)" = arm64 ]; then
    echo metal
  elif _has_nvidia && command -v nvcc >/dev/null 2>&1; then
    echo cuda
  elif _has_vulkan_gpu; then
    echo vulkan
  else
    echo cpu
  fi
}

gpu_cmake_args() {
  case "$1" in
    cuda) echo "-DGGML_CUDA=ON" ;;
    vulkan) echo "-DGGML_VULKAN=ON" ;;
    metal) echo "-DGGML_METAL=ON" ;;
    *) echo "" ;;
  esac
}

# llama.cpp's Vulkan backend (llama-cpp-python 0.3.36) uses VK_EXT_layer_settings, which
# older Vulkan headers lack: Debian 12's libvulkan-dev (1.3.239) fails to
# compile it ("'LayerSettingEXT' is not a member of 'vk'", seen here). Checked before building.
vulkan_headers_ok() {
  grep -q VK_EXT_layer_settings "${1:-/usr/include/vulkan/vulkan_core.h}" 2>/dev/null
}

# Debian packages a backend's build needs (none for the CPU; CUDA comes from NVIDIA's own
# repository, so the installer only says so).
gpu_build_pkgs() {
  case "$1" in
    vulkan) echo "libvulkan-dev glslc spirv-headers" ;;
    *) echo "" ;;
  esac
}

#!/usr/bin/env bash
# Install LocalScribe on Debian/Ubuntu: system packages, a Python virtual environment, the app,
# the model files for a profile, and the `localscribe` command on the PATH. Then run the demo.
#
#   bash installer/install.sh                     # standard models, then run the demo visit
#   bash installer/install.sh --profile tiny      # small models (fast, for tests)
#   options: --no-demo  --no-models  --dev (test tools too)  --bench (benchmark tools too)
#            --venv DIR (default: .venv in this checkout)
#            --no-egress-rule (skip the OS egress rule)  --egress-allow HOST:PORT (repeatable)
#            --service-user NAME (the account LocalScribe runs as; default localscribe)
#            --draft-model (also the 0.5B draft model for speculative decoding; off by default:
#            it was slower than plain greedy on 2 cores, see tests/bench/bench_speculative.py)
#            --gpu auto|none|cuda|vulkan|metal (default auto: build llama.cpp for the GPU the
#            machine has -- NVIDIA with CUDA, a Vulkan GPU, Apple Metal -- else for the CPU)
#
# Re-running is fast and safe: every step checks what is already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
profile="${LOCALSCRIBE_PROFILE:-standard}"
demo=1 models=1 dev=0 bench=0 draft_model=0 gpu="${LOCALSCRIBE_GPU:-auto}"
egress_rule="${LOCALSCRIBE_EGRESS_RULE:-1}" service_user=localscribe egress_allow=()
venv="$repo/.venv"
llama_version="0.3.36"
wheelhouse="${LOCALSCRIBE_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/localscribe/wheelhouse}"

while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="$2"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --no-demo) demo=0; shift ;;
    --no-models) models=0; shift ;;
    --dev) dev=1; shift ;;
    --bench) bench=1; shift ;;
    --draft-model) draft_model=1; shift ;;
    --gpu) gpu="$2"; shift 2 ;;
    --gpu=*) gpu="${1#*=}"; shift ;;
    --venv) venv="$2"; shift 2 ;;
    --no-egress-rule) egress_rule=0; shift ;;
    --egress-allow) egress_allow+=(--allow "$2"); shift 2 ;;
    --service-user) service_user="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$profile" in tiny|standard) ;; *) echo "install.sh: --profile must be tiny or standard" >&2; exit 2 ;; esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# shellcheck source=installer/gpu_backend.sh
. "$here/gpu_backend.sh"
backend="$(gpu_backend "$gpu")" || exit 2
say "llama.cpp compute backend: $backend"

# --- 1. system packages --------------------------------------------------------------------
runtime_pkgs=(python3 python3-venv python3-dev build-essential cmake git nftables
  libportaudio2 libsndfile1 libpulse0
  libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0
  fonts-dejavu-core libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libx11-xcb1)
# Test rig: synthetic speech, real LibriVox clips, a virtual microphone, a virtual display,
# a Secret Service for keyring tests, Node.js for the loopback FHIR server.
dev_pkgs=(espeak-ng sox libsox-fmt-all pocketsphinx-testdata pulseaudio pulseaudio-utils
  libasound2-plugins xvfb xauth xclip gnome-keyring dbus dbus-x11 nodejs npm)
pkgs=("${runtime_pkgs[@]}")
# shellcheck disable=SC2207
pkgs+=($(gpu_build_pkgs "$backend"))
[ "$dev" = 1 ] && pkgs+=("${dev_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  # Node/npm may already be present outside Debian's packages (e.g. a nodesource or nvm install).
  if command -v node >/dev/null && command -v npm >/dev/null; then
    filtered=(); for p in "${missing[@]}"; do case "$p" in nodejs|npm) ;; *) filtered+=("$p") ;; esac; done
    missing=("${filtered[@]}")
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing system packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "system packages present"
fi

if [ "$backend" = vulkan ] && ! vulkan_headers_ok; then
  if [ "$gpu" = auto ]; then
    say "this system's Vulkan headers are too old for llama.cpp's Vulkan backend (they lack VK_EXT_layer_settings): building for the CPU"
    backend=cpu
  else
    echo "install.sh: --gpu vulkan needs Vulkan headers that define VK_EXT_layer_settings; this system's do not" >&2
    exit 2
  fi
fi

# --- 2. Python environment -----------------------------------------------------------------
# shellcheck source=installer/find_python.sh
. "$repo/installer/find_python.sh"
py="$(find_python)" || exit 1
if [ ! -x "$venv/bin/python" ]; then
  say "creating virtual environment $venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
fi
pip=("$venv/bin/python" -m pip)

# --- 3. llama-cpp-python, built once, portably, and kept in a wheelhouse --------------------
# PyPI has only its sdist; a default build uses -march=native, which breaks on older CPUs, and
# pip's wheel cache ignores CMAKE_ARGS (it handed a CPU wheel to a Vulkan build here), so the
# build skips it and we keep our own portable wheel, one per backend (the wheels share a file
# name, so each backend has its own folder).
[ "$backend" = cuda ] && ! command -v nvcc >/dev/null && {
  echo "install.sh: --gpu cuda needs NVIDIA's CUDA toolkit (nvcc) on the PATH" >&2; exit 2; }
llama_wheels="$wheelhouse/llama-$backend"
have_backend() {
  "$venv/bin/python" - "$llama_version" "$backend" <<'PY' 2>/dev/null
import sys
import llama_cpp
info = llama_cpp.llama_print_system_info().decode().lower()
want = {"cpu": None, "cuda": "cuda", "vulkan": "vulkan", "metal": "metal"}[sys.argv[2]]
built_gpu = any(name in info for name in ("cuda", "vulkan", "metal"))
ok = llama_cpp.__version__ == sys.argv[1] and (want in info if want else not built_gpu)
sys.exit(0 if ok else 1)
PY
}
if ! have_backend; then
  mkdir -p "$llama_wheels"
  # Wheelhouses made before backends had folders hold the CPU wheel at the top.
  if [ "$backend" = cpu ]; then
    for old in "$wheelhouse"/llama_cpp_python-"$llama_version"-*.whl; do
      if [ -f "$old" ]; then mv "$old" "$llama_wheels/"; fi
    done
  fi
  wheel="$(ls "$llama_wheels"/llama_cpp_python-"$llama_version"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    say "building llama-cpp-python $llama_version for $backend (portable build, about 10 minutes on 2 cores; longer with a GPU backend)"
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF $(gpu_cmake_args "$backend")" \
      "${pip[@]}" wheel --no-cache-dir --no-deps -w "$llama_wheels" "llama-cpp-python==$llama_version"
    wheel="$(ls "$llama_wheels"/llama_cpp_python-"$llama_version"-*.whl | head -n1)"
  fi
  say "installing $(basename "$wheel") ($backend)"
  "${pip[@]}" install -q --force-reinstall --no-deps "$wheel"
fi

# --- 3b. whisper.cpp for the same GPU backend ------------------------------------------------
# PyPI's pywhispercpp wheels are CPU builds; a GPU backend builds one from its sdist (its
# setup passes CMAKE_ARGS to whisper.cpp's CMake), cached like llama.cpp's.
whisper_version="$(sed -n 's/^ *"pywhispercpp==\([0-9.]*\)".*/\1/p' "$repo/pyproject.toml")"
if [ "$backend" != cpu ] && ! "$venv/bin/python" -c "
import sys, _pywhispercpp as w
sys.exit(0 if '$backend' in str(w.whisper_print_system_info()).lower() else 1)" 2>/dev/null; then
  whisper_wheels="$wheelhouse/whisper-$backend"
  mkdir -p "$whisper_wheels"
  wheel="$(ls "$whisper_wheels"/pywhispercpp-"$whisper_version"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$wheel" ]; then
    say "building pywhispercpp $whisper_version for $backend"
    CMAKE_ARGS="-DGGML_NATIVE=OFF $(gpu_cmake_args "$backend")" NO_REPAIR=1 \
      "${pip[@]}" wheel --no-cache-dir --no-deps --no-binary pywhispercpp -w "$whisper_wheels" \
      "pywhispercpp==$whisper_version"
    wheel="$(ls "$whisper_wheels"/pywhispercpp-"$whisper_version"-*.whl | head -n1)"
  fi
  say "installing $(basename "$wheel") ($backend)"
  "${pip[@]}" install -q --force-reinstall --no-deps "$wheel"
fi

# --- 4. the app ----------------------------------------------------------------------------
extras=""
[ "$dev" = 1 ] && extras="test"
[ "$bench" = 1 ] && extras="${extras:+$extras,}bench"
target="$repo"; [ -n "$extras" ] && target="$repo[$extras]"
stamp="$venv/.localscribe-installed"
want="$(cat "$repo/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing LocalScribe and its Python dependencies"
  "${pip[@]}" install -q --find-links "$llama_wheels" -e "$target"
  echo "$want" > "$stamp"
else
  say "Python dependencies up to date"
fi

# --- 5. the command on the PATH ------------------------------------------------------------
bindir="$HOME/.local/bin"
mkdir -p "$bindir"
ln -sf "$venv/bin/localscribe" "$bindir/localscribe"
if [ "$(id -u)" = 0 ] && [ -d /usr/local/bin ]; then
  ln -sf "$venv/bin/localscribe" /usr/local/bin/localscribe
fi
case ":$PATH:" in *":$bindir:"*) ;; *) say "add $bindir to your PATH (or use $venv/bin/localscribe)" ;; esac

# --- 6. models -----------------------------------------------------------------------------
if [ "$models" = 1 ]; then
  say "installing the '$profile' models (verified by SHA-256; nothing is downloaded at run time)"
  "$venv/bin/localscribe" models install --profile "$profile"
  if [ "$draft_model" = 1 ]; then
    say "installing the draft model for speculative decoding (verified by SHA-256)"
    "$venv/bin/localscribe" models install --model qwen2.5-coder-0.5b-instruct-awq-q4_k_m
  fi
fi

# --- 6b. the OS egress rule: the first line of "no PHI leaves the device" -------------------
# The kernel lets the service user reach loopback and the allowlisted EHR endpoints only; this
# covers subprocesses and native code, which the in-app Python hook cannot see. Root is needed;
# loading it again replaces the table, so re-running is safe. Opt out: --no-egress-rule.
if [ "$egress_rule" = 1 ]; then
  rule_cmd=("$venv/bin/python" -m localscribe.security.os_rule install --user "$service_user"
            --data-dir "${LOCALSCRIBE_DATA_DIR:-$HOME/.local/share/localscribe}" "${egress_allow[@]}")
  if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    rule_cmd=(sudo "${rule_cmd[@]}")
  fi
  if [ "$(id -u)" = 0 ] || [ "${rule_cmd[0]}" = sudo ]; then
    say "loading the OS egress rule for user '$service_user'"
    "${rule_cmd[@]}" || say "WARNING: no OS egress rule (see the message above); only the in-app guard applies"
  else
    say "WARNING: no OS egress rule: root is needed (re-run with sudo, or pass --no-egress-rule)"
  fi
fi

# --- 7. the main job on the embedded defaults ----------------------------------------------
if [ "$demo" = 1 ]; then
  say "running the demo visit"
  "$venv/bin/localscribe" demo --profile "$profile"
fi
say "done: run 'localscribe' to open the app, 'localscribe --help' for the headless commands"

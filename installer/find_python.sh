# Sourced by install.sh (and tests/installer): which Python the environment is built with.
#
# Any Python that every dependency ships or builds for: 3.11, 3.12 or 3.13 (pyproject's
# requires-python). 3.11 first, the version the test suite runs on here; then the system's own
# python3 (3.12 on Ubuntu 24.04, 3.13 on Debian 13); then the other minor versions.
PY_MIN="3.11"
PY_MAX_EXCL="3.14"

# python_ok CMD: whether CMD runs a Python within [PY_MIN, PY_MAX_EXCL).
python_ok() {
  command -v "$1" >/dev/null 2>&1 || return 1
  "$1" -c "import sys; lo, hi = (tuple(map(int, v.split('.'))) for v in sys.argv[1:3]); \
sys.exit(not (lo <= sys.version_info[:2] < hi))" "$PY_MIN" "$PY_MAX_EXCL" 2>/dev/null
}

# find_python: print the full path of the first suitable interpreter; fail with a one-line
# message naming what was found when there is none.
find_python() {
  local cand found=""
  for cand in python3.11 python3 python3.12 python3.13; do
    if python_ok "$cand"; then
      command -v "$cand"
      return 0
    fi
    if command -v "$cand" >/dev/null 2>&1; then
      found="${found:+$found, }$cand ($("$cand" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo "?"))"
    fi
  done
  echo "install.sh: Python >= $PY_MIN and < $PY_MAX_EXCL is required; found: ${found:-no python3}" >&2
  return 1
}

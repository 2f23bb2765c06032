#!/usr/bin/env bash
# ruff (pycodestyle, pyflakes, bugbear, pyupgrade, simplify) and mypy (strict on the core,
# looser on ui/), both configured in pyproject.toml. Exits non-zero when either finds a problem.
# Usage: bash tests/lint.sh      (from any folder; uses the checkout's .venv)
# Run as modules: a venv's console scripts carry the path it was created at, which a moved or
# shared .venv no longer has.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
py=.venv/bin/python
status=0
echo "ruff: $("$py" -m ruff --version)"
"$py" -m ruff check . || status=1
echo "mypy: $("$py" -m mypy --version)"
"$py" -m mypy || status=1
exit "$status"

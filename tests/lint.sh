#!/usr/bin/env bash
# ruff (pycodestyle, pyflakes, bugbear, pyupgrade, simplify) and mypy (strict on the core),
# both configured in pyproject.toml. Exits non-zero when either finds a problem.
# Usage: bash tests/lint.sh      (from any folder; uses the checkout's .venv)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
status=0
echo "ruff: $(.venv/bin/ruff --version)"
.venv/bin/ruff check . || status=1
echo "mypy: $(.venv/bin/mypy --version)"
.venv/bin/mypy || status=1
exit "$status"

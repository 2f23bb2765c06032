#!/usr/bin/env bash
# Run the whole LocalScribe test suite on this machine, installing what it needs first:
# system packages, the environment, the 'tiny' models, the loopback FHIR server.
# Usage: bash tests/run.sh [extra pytest args]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

bash installer/install.sh --profile tiny --dev --no-demo
if [ -f tests/ehr/setup_fhir_server.sh ]; then
  bash tests/ehr/setup_fhir_server.sh
fi

# Lint and types first (configured in pyproject.toml): a failure here fails the run before
# any test starts. `bash tests/lint.sh` runs the same two checks alone.
bash tests/lint.sh

export QT_QPA_PLATFORM=offscreen
export LOCALSCRIBE_PROFILE=tiny
export PYTHONDONTWRITEBYTECODE=1
results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

# Two processes: the Qt window tests apart from the core. PySide6 6.12.0 leaks a reference to
# None/True on every processEvents()/Signal.emit() (see desktop/localscribe/ui/qtcompat.py), and
# pytest-qt calls processEvents() around every test once a QApplication exists, so one long
# process holding both eventually aborts the interpreter.
set +e
# Qt window tests live in tests/ui, and the scorecard screen's beside its core tests.
qt_tests=(tests/ui tests/scorecard/test_scorecard_view.py)
.venv/bin/python -m pytest -q -ra -p no:pytestqt --ignore=tests/ui \
  --ignore=tests/scorecard/test_scorecard_view.py --junitxml="$results/core.xml" "$@"
core=$?
.venv/bin/python -m pytest -q -ra "${qt_tests[@]}" --junitxml="$results/ui.xml" "$@"
ui=$?
set -e
.venv/bin/python - "$results" "$core" "$ui" <<'PY'
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
results, codes = Path(sys.argv[1]), dict(core=int(sys.argv[2]), ui=int(sys.argv[3]))
tot = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for part, code in codes.items():
    path = results / f"{part}.xml"
    if code not in (0, 1) or not path.exists():
        # A crash (a signal, or no results file) must never read as a smaller green run.
        print(f"{part} tests: the pytest process ended with exit status {code} and left no full results")
        tot["errors"] += 1
    if path.exists():
        for suite in ET.parse(path).getroot().iter("testsuite"):
            for k in tot:
                tot[k] += int(suite.get(k, 0))
passed = tot["tests"] - tot["failures"] - tot["errors"] - tot["skipped"]
print(f"whole suite: {passed} passed, {tot['failures'] + tot['errors']} failed, {tot['skipped']} skipped")
PY
# pytest's 5 (no test ran) is a failure for us, never a pass.
[ "$core" = 0 ] && [ "$ui" = 0 ]

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
.venv/bin/python -m pytest -q -ra -p no:pytestqt --ignore=tests/ui \
  --junitxml="$results/core.xml" "$@"
core=$?
.venv/bin/python -m pytest -q -ra tests/ui --junitxml="$results/ui.xml" "$@"
ui=$?
set -e
.venv/bin/python - "$results"/*.xml <<'PY'
import sys
import xml.etree.ElementTree as ET
tot = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for path in sys.argv[1:]:
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for k in tot:
            tot[k] += int(suite.get(k, 0))
passed = tot["tests"] - tot["failures"] - tot["errors"] - tot["skipped"]
print(f"whole suite: {passed} passed, {tot['failures'] + tot['errors']} failed, {tot['skipped']} skipped")
PY
# pytest's 5 (no test ran) is a failure for us, never a pass.
[ "$core" = 0 ] && [ "$ui" = 0 ]

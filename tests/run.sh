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
set +e
.venv/bin/python -m pytest -q -ra "$@"
rc=$?
set -e
# pytest's 5 means no test ran: that is a failure for us, never a pass.
exit $rc

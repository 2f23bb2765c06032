#!/usr/bin/env bash
# Install the loopback FHIR server the EHR tests start (Medplum's FHIR router + in-memory
# repository, from the npm registry, versions pinned by package-lock.json). Idempotent: does
# nothing when node_modules already matches the lock file.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/fhir_server" && pwd)"
cd "$here"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup_fhir_server: node and npm are required (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
stamp="node_modules/.localscribe-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && [ -d node_modules/@medplum/fhir-router ]; then
  echo "setup_fhir_server: already installed"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
# Smoke check: the server starts and answers (Node 20 needs --experimental-websocket for
# @medplum/core's WebSocket reference; Node 22+ has WebSocket built in and accepts the flag).
node --experimental-websocket --no-warnings -e "import('@medplum/fhir-router').then(() => console.log('setup_fhir_server: ok'))"

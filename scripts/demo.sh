#!/usr/bin/env bash
# make run / make demo: the demo's database and prompts afresh, the
# Asterisk sandbox up (with those prompts), the morning, and the sandbox
# stopped again afterwards when this run started it. Arguments go to
# `centralinoctl demo` (-keep for make run).
set -uo pipefail
cd "$(dirname "$0")/.."

started=
if ! bash scripts/asterisk-sandbox.sh status >/dev/null 2>&1; then
  started=1
fi
# Ctrl-C is the demo's to handle (it stops what it started); this script
# then goes on to stop the sandbox.
trap : INT TERM
rc=0
bin/centralinoctl demo -prepare && bash scripts/asterisk-sandbox.sh up && bin/centralinoctl demo "$@" || rc=$?
if [ -n "$started" ]; then
  echo "stopping the Asterisk sandbox this run started"
  bash scripts/asterisk-sandbox.sh down || true
fi
exit $rc

#!/usr/bin/env bash
# Run the web process and the Kafka consumers together; Ctrl-C stops them and
# then the services this project started.
set -euo pipefail
cd "$(dirname "$0")/.."

trap 'scripts/services.sh down' EXIT
export PATH="$PWD/.venv/bin:$PATH"
# The web process and the consumers write their metrics here and /metrics adds
# them up (messenger/metrics.py); samples of an earlier run must not count.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$PWD/var/prometheus}
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete
echo
echo "Messenger is starting at http://${WEB_HOST:-127.0.0.1}:${WEB_PORT:-8000}/"
echo "Log in as alice, bob or carol with the password 'messenger-demo' (see README)."
echo
status=0
honcho start -f Procfile || status=$?
# Ctrl-C (130) is how this command is meant to end.
[[ $status -eq 130 ]] && status=0
exit "$status"

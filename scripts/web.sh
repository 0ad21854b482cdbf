#!/usr/bin/env bash
# Run one web process: daphne (through messenger/web_server.py, which takes
# daphne's arguments) with the project's flags, from the environment (defaults
# below; README lists them).  The Procfile, scripts/scale-out.sh, the tests and
# the load benchmark start the web process through this script, so each runs
# the same server.  An argument replaces the ASGI application (the load
# benchmark's baseline).
#
# Keepalive: daphne pings a socket that has sent nothing for
# WEBSOCKET_PING_INTERVAL_SECONDS and drops it when no pong comes within
# WEBSOCKET_PING_TIMEOUT_SECONDS, which is how a peer that vanished without a
# close (a laptop shut, a network gone) is found.  Any frame from the client
# counts as activity, so browser tabs, which send the app's own "ping" every
# 30 s, are never pinged by daphne with the default of 60 s; only sockets that
# stay silent for a minute are.  A daphne ping costs the process CPU for each
# socket, so short intervals cost a lot with many sockets (docs/load-benchmark.md).
#
# Scans: daphne walks every connection to reap finished application instances
# (every 1 s) and to enforce timeouts and send those pings (every 2 s), which
# costs CPU per socket even when all are idle.  messenger/web_server.py runs
# them every WEB_APPLICATION_CHECK_SECONDS and WEB_TIMEOUT_CHECK_SECONDS
# (5 s each; read by the server from the environment), so a ping goes out up
# to 5 s after the interval; its docstring lists what else waits that long.
set -euo pipefail

exec python -m messenger.web_server \
    --bind "${WEB_HOST:-127.0.0.1}" \
    --port "${WEB_PORT:-8000}" \
    --websocket-max-message-size "${WEBSOCKET_MAX_MESSAGE_BYTES:-65536}" \
    --websocket-max-frame-size "${WEBSOCKET_MAX_MESSAGE_BYTES:-65536}" \
    --ping-interval "${WEBSOCKET_PING_INTERVAL_SECONDS:-60}" \
    --ping-timeout "${WEBSOCKET_PING_TIMEOUT_SECONDS:-30}" \
    --proxy-headers \
    "${1:-messenger.asgi:application}"

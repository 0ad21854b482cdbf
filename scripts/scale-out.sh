#!/usr/bin/env bash
# The scaled-out layout on one machine: a three-broker Kafka cluster
# (replication factor 3, min.insync.replicas=2), two web processes and two
# consumer processes, all on loopback.  PostgreSQL and Redis are the ones of
# scripts/services.sh (start them first: `make services`).
#
#   scripts/scale-out.sh up               start everything, wait until it serves
#   scripts/scale-out.sh down             stop everything this script started
#   scripts/scale-out.sh status           one line per process
#   scripts/scale-out.sh stop NAME        SIGTERM one process and wait: broker1..3, web1..2, consumer1..2
#   scripts/scale-out.sh kill NAME        SIGKILL one process (a crash)
#   scripts/scale-out.sh start NAME       start one process again
#
# Knobs (environment):
#   SCALE_BROKER_PORTS    19092,19093,19094  (controllers listen 100 above)
#   SCALE_WEB_PORTS       8001,8002
#   SCALE_SKIP_MIGRATE    1 to skip `manage.py migrate` (the database is ready)
#   SCALE_NAME            "scale": names the state directory, logs and pid files,
#                         so a test can run its own cluster beside yours
#   KAFKA_HEAP_OPTS       default "-Xms128m -Xmx512m" per broker
#   SERVICES_TIMEOUT      seconds to wait for each step, default 90
# and the app's own variables (DATABASE_URL, REDIS_URL, DJANGO_SETTINGS_MODULE,
# KAFKA_TOPIC_PREFIX, ...), passed to every process.  The app processes get
# KAFKA_BOOTSTRAP_SERVERS (the three brokers), KAFKA_TOPIC_REPLICATION_FACTOR=3,
# KAFKA_TOPIC_MIN_INSYNC_REPLICAS=2, LOG_FORMAT=json and a shared
# PROMETHEUS_MULTIPROC_DIR, so /metrics on either web process shows all four.
#
# State: var/$SCALE_NAME/brokerN/{server.properties,data}, var/$SCALE_NAME/prometheus,
# logs in var/log/$SCALE_NAME-NAME.log, pids in var/run/$SCALE_NAME-NAME.pid.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

VAR=$ROOT/var
NAME=${SCALE_NAME:-scale}
[[ $NAME =~ ^[A-Za-z0-9._-]+$ ]] || { echo "scale-out.sh: bad SCALE_NAME" >&2; exit 2; }
SCALE=$VAR/$NAME
RUN=$VAR/run
LOGS=$VAR/log
TIMEOUT=${SERVICES_TIMEOUT:-90}
KAFKA_LIBS=$VAR/kafka/libs
KAFKA_CDS=$VAR/kafka/classes.jsa
KAFKA_LOG4J=$ROOT/scripts/kafka/log4j2.properties
TEMPLATE=$ROOT/scripts/kafka/cluster.properties.template
PYTHON=$ROOT/.venv/bin/python
[[ -x $PYTHON ]] || PYTHON=python3

IFS=, read -r -a BROKER_PORTS <<<"${SCALE_BROKER_PORTS:-19092,19093,19094}"
IFS=, read -r -a WEB_PORTS <<<"${SCALE_WEB_PORTS:-8001,8002}"
((${#BROKER_PORTS[@]} == 3)) || { echo "scale-out.sh: SCALE_BROKER_PORTS needs three ports" >&2; exit 2; }
BOOTSTRAP=$(printf '127.0.0.1:%s,' "${BROKER_PORTS[@]}")
BOOTSTRAP=${BOOTSTRAP%,}

die() {
    echo "scale-out.sh: $*" >&2
    exit 1
}

tcp_open() {
    # shellcheck disable=SC2016 # $0/$1 expand in the child bash, on purpose
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

pidfile() { echo "$RUN/$NAME-$1.pid"; }
logfile() { echo "$LOGS/$NAME-$1.log"; }

alive() {
    local f pid
    f=$(pidfile "$1")
    [[ -s $f ]] || return 1
    pid=$(<"$f")
    kill -0 "$pid" 2>/dev/null
}

fail_with_log() {
    local name=$1
    shift
    echo "scale-out.sh: $*" >&2
    echo "--- last lines of $(logfile "$name") ---" >&2
    tail -n 25 "$(logfile "$name")" 2>/dev/null | cut -c1-400 >&2 || true
    exit 1
}

# The environment of every app process.
app_env() {
    export KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
    export KAFKA_TOPIC_REPLICATION_FACTOR=3
    export KAFKA_TOPIC_MIN_INSYNC_REPLICAS=2
    export LOG_FORMAT=${LOG_FORMAT:-json}
    export PROMETHEUS_MULTIPROC_DIR=$SCALE/prometheus
    export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-messenger.settings.local}
    export PYTHONUNBUFFERED=1
}

# launch NAME COMMAND...: start in its own session, output to its log.
launch() {
    local name=$1
    shift
    alive "$name" && { echo "$name: already running (pid $(<"$(pidfile "$name")"))"; return 0; }
    nohup setsid "$@" >>"$(logfile "$name")" 2>&1 </dev/null &
    echo $! >"$(pidfile "$name")"
}

# ---------------------------------------------------------------- brokers ---

broker_index() { echo $((${1#broker} - 1)); }

broker_render() {
    local n=$1 i port cport voters='' t dir
    i=$((n - 1))
    port=${BROKER_PORTS[$i]}
    cport=$((port + 100))
    for ((j = 0; j < 3; j++)); do
        voters+="$((j + 1))@127.0.0.1:$((BROKER_PORTS[j] + 100)),"
    done
    dir=$SCALE/broker$n
    mkdir -p "$dir/data"
    t=$(<"$TEMPLATE")
    t=${t//@NODE_ID@/$n}
    t=${t//@VOTERS@/${voters%,}}
    t=${t//@PORT@/$port}
    t=${t//@CONTROLLER_PORT@/$cport}
    t=${t//@DATA_DIR@/$dir/data}
    printf '%s\n' "$t" >"$dir/server.properties"
}

brokers_format() {
    local cid n
    [[ -f $SCALE/broker1/data/meta.properties ]] && return 0
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null || "$ROOT/scripts/services.sh" jars
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null || die "no broker jars in $KAFKA_LIBS"
    cid=$("$ROOT/scripts/services.sh" cluster-id)
    local -a pids=() cds=()
    [[ -s $KAFKA_CDS ]] && cds=(-XX:SharedArchiveFile="$KAFKA_CDS" -Xshare:auto)
    # In parallel: each is a JVM start, slow on a busy machine.
    for n in 1 2 3; do
        java "${cds[@]}" -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
            kafka.tools.StorageTool format -t "$cid" -c "$SCALE/broker$n/server.properties" \
            >>"$(logfile "broker$n")" 2>&1 &
        pids+=($!)
    done
    for n in 1 2 3; do
        wait "${pids[$((n - 1))]}" || fail_with_log "broker$n" "formatting broker $n failed"
    done
}

broker_start() {
    local n=${1#broker} heap cds=()
    broker_render "$n"
    read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
    # Reuse services.sh's class-data archive when there is one: faster starts.
    [[ -s $KAFKA_CDS ]] && cds=(-XX:SharedArchiveFile="$KAFKA_CDS" -Xshare:auto)
    launch "broker$n" java "${heap[@]}" "${cds[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$SCALE/broker$n/server.properties"
}

broker_wait() {
    local n=${1#broker} port deadline=$((SECONDS + TIMEOUT))
    port=${BROKER_PORTS[$((n - 1))]}
    until tcp_open 127.0.0.1 "$port" && grep -q 'Kafka Server started' "$(logfile "broker$n")"; do
        alive "broker$n" || fail_with_log "broker$n" "broker $n exited during start-up"
        ((SECONDS < deadline)) || fail_with_log "broker$n" "broker $n not ready after ${TIMEOUT}s"
        sleep 0.2
    done
}

# -------------------------------------------------------------- app procs ---

web_start() {
    local n=${1#web} port
    port=${WEB_PORTS[$((n - 1))]}
    app_env
    # The Procfile's web process (its flags are in scripts/web.sh).
    launch "web$n" env WEB_HOST=127.0.0.1 WEB_PORT="$port" PATH="$ROOT/.venv/bin:$PATH" \
        "$ROOT/scripts/web.sh"
}

web_wait() {
    local n=${1#web} port deadline=$((SECONDS + TIMEOUT))
    port=${WEB_PORTS[$((n - 1))]}
    until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]]; do
        alive "web$n" || fail_with_log "web$n" "web $n exited during start-up"
        ((SECONDS < deadline)) || fail_with_log "web$n" "web $n not ready after ${TIMEOUT}s"
        sleep 0.2
    done
}

consumer_start() {
    local n=${1#consumer}
    app_env
    launch "consumer$n" "$PYTHON" manage.py run_kafka_consumers
}

consumer_wait() {
    local n=${1#consumer} deadline=$((SECONDS + TIMEOUT))
    until grep -q '"consuming ' "$(logfile "consumer$n")" 2>/dev/null ||
        grep -q 'INFO messenger.kafka.consumer consuming ' "$(logfile "consumer$n")" 2>/dev/null; do
        alive "consumer$n" || fail_with_log "consumer$n" "consumer $n exited during start-up"
        ((SECONDS < deadline)) || fail_with_log "consumer$n" "consumer $n not consuming after ${TIMEOUT}s"
        sleep 0.2
    done
}

# ----------------------------------------------------------------- verbs ---

start_one() {
    case $1 in
        broker[123]) broker_start "$1" && broker_wait "$1" ;;
        web[12]) web_start "$1" && web_wait "$1" ;;
        consumer[12]) consumer_start "$1" && consumer_wait "$1" ;;
        *) die "unknown process $1" ;;
    esac
    echo "$1: running (pid $(<"$(pidfile "$1")"))"
}

# signal_one NAME SIGNAL GRACE
signal_one() {
    local name=$1 sig=$2 grace=$3 pid i
    if ! alive "$name"; then
        rm -f "$(pidfile "$name")"
        echo "$name: not running"
        return 0
    fi
    pid=$(<"$(pidfile "$name")")
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "$name: killed (pid $pid did not exit within ${grace}s)"
    else
        echo "$name: stopped ($sig)"
    fi
    rm -f "$(pidfile "$name")"
}

up() {
    local n
    mkdir -p "$SCALE" "$RUN" "$LOGS"
    for n in 1 2 3; do broker_render "$n"; done
    brokers_format
    for n in 1 2 3; do broker_start "broker$n"; done
    for n in 1 2 3; do broker_wait "broker$n"; done
    echo "kafka: 3 brokers at $BOOTSTRAP"

    app_env
    # Samples of processes from an earlier run would be added to this one's.
    rm -rf "$PROMETHEUS_MULTIPROC_DIR"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    [[ ${SCALE_SKIP_MIGRATE:-} == 1 ]] || "$PYTHON" manage.py migrate --noinput >/dev/null
    "$PYTHON" manage.py kafka_topics create
    "$PYTHON" manage.py kafka_topics alter
    for n in 1 2; do consumer_start "consumer$n"; done
    for n in 1 2; do web_start "web$n"; done
    for n in 1 2; do consumer_wait "consumer$n"; done
    for n in 1 2; do web_wait "web$n"; done
    echo "web: http://127.0.0.1:${WEB_PORTS[0]}/ and http://127.0.0.1:${WEB_PORTS[1]}/"
    echo "consumers: 2 in one group; logs in var/log/$NAME-*.log"
}

down() {
    local name pid deadline
    for name in web1 web2 consumer1 consumer2; do signal_one "$name" TERM 30; done
    # All brokers at once: stopped one by one, the last ones wait for a
    # controller quorum that is already gone.
    for name in broker1 broker2 broker3; do
        if alive "$name"; then
            kill -TERM "$(<"$(pidfile "$name")")" 2>/dev/null || true
        fi
    done
    deadline=$((SECONDS + 30))
    for name in broker1 broker2 broker3; do
        while alive "$name" && ((SECONDS < deadline)); do sleep 0.2; done
        if alive "$name"; then
            pid=$(<"$(pidfile "$name")")
            kill -KILL "$pid" 2>/dev/null || true
            echo "$name: killed (pid $pid did not exit within 30s)"
        else
            echo "$name: stopped"
        fi
        rm -f "$(pidfile "$name")"
    done
}

status() {
    local name rc=0
    for name in broker1 broker2 broker3 web1 web2 consumer1 consumer2; do
        if alive "$name"; then
            echo "$name: running (pid $(<"$(pidfile "$name")"))"
        else
            echo "$name: stopped"
            rc=3
        fi
    done
    return "$rc"
}

usage() {
    sed -n '2,12p' "$0" >&2
    exit 2
}

main() {
    mkdir -p "$RUN" "$LOGS"
    case ${1:-} in
        up) up ;;
        down) down ;;
        status) status ;;
        stop) [[ $# -eq 2 ]] || usage; signal_one "$2" TERM 60 ;;
        kill) [[ $# -eq 2 ]] || usage; signal_one "$2" KILL 10 ;;
        start) [[ $# -eq 2 ]] || usage; start_one "$2" ;;
        *) usage ;;
    esac
}

main "$@"

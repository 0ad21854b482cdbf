#!/usr/bin/env bash
# Local backing services for development and CI: PostgreSQL, Redis and Kafka.
#
#   scripts/services.sh up       start every service that does not already answer
#   scripts/services.sh down     stop what this script started (nothing else)
#   scripts/services.sh status   one line per service (exit 3 if one is not up)
#   scripts/services.sh jars     only resolve the Kafka broker jars (used by scale-out.sh)
#   scripts/services.sh cluster-id  print a new KRaft cluster id (used by scale-out.sh)
#
# Addresses come from the same variables the app reads:
#   DATABASE_URL             postgres://messenger:messenger@127.0.0.1:5432/messenger
#   REDIS_URL                redis://127.0.0.1:6379/0
#   KAFKA_BOOTSTRAP_SERVERS  127.0.0.1:9092 (the first host:port is used)
# A service is started only when nothing answers at its address, so pointing
# a variable at an existing server makes `up` use that server as it is.
# Other knobs: SERVICES_TIMEOUT (seconds to wait for each service, default 90),
# KAFKA_HEAP_OPTS (default "-Xms256m -Xmx1g").
#
# All state lives under var/: var/kafka/{libs,data,classes.jsa}, var/redis,
# var/postgres (non-root only), var/log/*.log, var/run/*.pid.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

VAR=$ROOT/var
RUN=$VAR/run
LOGS=$VAR/log
TIMEOUT=${SERVICES_TIMEOUT:-90}

DATABASE_URL=${DATABASE_URL:-postgres://messenger:messenger@127.0.0.1:5432/messenger}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}

KAFKA_LIBS=$VAR/kafka/libs
KAFKA_DATA=$VAR/kafka/data
KAFKA_CONF=$VAR/kafka/server.properties
KAFKA_CDS=$VAR/kafka/classes.jsa # AppCDS archive: ~2s faster broker start
KAFKA_TEMPLATE=$ROOT/scripts/kafka/server.properties.template
KAFKA_LOG4J=$ROOT/scripts/kafka/log4j2.properties
KAFKA_PIDFILE=$RUN/kafka.pid
KAFKA_LOG=$LOGS/kafka.log
REDIS_PIDFILE=$RUN/redis.pid
REDIS_LOG=$LOGS/redis.log
PG_MARKER=$RUN/postgres.started # "cluster VER NAME" or "private DATADIR"
PG_PRIVATE_DATA=$VAR/postgres

# ----------------------------------------------------------------- helpers --

die() {
    echo "services.sh: $*" >&2
    exit 1
}

note() {
    echo "$*" >&2
}

# fail_with_log LOGFILE MESSAGE: print MESSAGE and the end of LOGFILE, exit 1.
fail_with_log() {
    local log=$1
    shift
    echo "$*" >&2
    if [[ -s $log ]]; then
        if grep -q -E 'ERROR|FATAL|Caused by' "$log"; then
            echo "--- errors in $log ---" >&2
            grep -E 'ERROR|FATAL|Caused by' "$log" | tail -n 8 | cut -c1-400 >&2
        fi
        echo "--- last lines of $log ---" >&2
        tail -n 20 "$log" | cut -c1-400 >&2
        echo "---" >&2
    fi
    exit 1
}

is_root() {
    [[ $(id -u) -eq 0 ]]
}

# Only these are started locally; any other host must already be serving.
is_local_host() {
    case $1 in
        localhost | 127.0.0.1 | ::1) return 0 ;;
        *) return 1 ;;
    esac
}

# tcp_open HOST PORT: true if something accepts a TCP connection there.
tcp_open() {
    # shellcheck disable=SC2016 # $0/$1 expand in the child bash, on purpose
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

# parse_url URL DEFAULT_PORT: sets U_USER U_PASS U_HOST U_PORT U_PATH.
parse_url() {
    local url=$1 rest auth='' hostport port=''
    [[ $url == *://* ]] || die "not a URL: $url"
    rest=${url#*://}
    rest=${rest%%\?*}
    if [[ $rest == *@* ]]; then
        auth=${rest%@*}
        rest=${rest##*@}
    fi
    hostport=${rest%%/*}
    U_PATH=''
    if [[ $rest == */* ]]; then
        U_PATH=${rest#*/}
    fi
    U_USER='' U_PASS=''
    if [[ -n $auth ]]; then
        U_USER=$(urldecode "${auth%%:*}")
        if [[ $auth == *:* ]]; then
            U_PASS=$(urldecode "${auth#*:}")
        fi
    fi
    if [[ $hostport == \[*\]* ]]; then # [ipv6]:port
        U_HOST=${hostport%%]*}
        U_HOST=${U_HOST#[}
        port=${hostport#*]}
        port=${port#:}
    elif [[ $hostport == *:* ]]; then
        U_HOST=${hostport%:*}
        port=${hostport##*:}
    else
        U_HOST=$hostport
    fi
    U_HOST=${U_HOST:-127.0.0.1}
    U_PORT=${port:-$2}
    [[ $U_PORT =~ ^[0-9]+$ ]] || die "bad port in $url"
}

# install_or_die PACKAGE WHAT: apt-get install as root, else say what is missing.
install_or_die() {
    local pkg=$1 what=$2
    if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
        echo "$what is not installed. Install it, e.g.: sudo apt-get install -y $pkg" >&2
        exit 1
    fi
    note "$what not found: apt-get install -y $pkg ..."
    local log=$LOGS/apt.log
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q "$pkg" >>"$log" 2>&1 9>&-; then
        apt-get update -q >>"$log" 2>&1 9>&- || true
        apt-get install -y -q "$pkg" >>"$log" 2>&1 9>&- ||
            fail_with_log "$log" "apt-get install -y $pkg failed"
    fi
}

# pid_alive PIDFILE PATTERN: the pid in PIDFILE runs a command matching PATTERN.
pid_alive() {
    local pid
    [[ -s $1 ]] || return 1
    pid=$(<"$1")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}

# stop_pid NAME PIDFILE PATTERN GRACE_SECONDS
stop_pid() {
    local name=$1 pidfile=$2 pattern=$3 grace=$4 pid i
    if ! pid_alive "$pidfile" "$pattern"; then
        rm -f "$pidfile"
        echo "$name: not started by services.sh, nothing to stop"
        return 0
    fi
    pid=$(<"$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        echo "$name: killed (pid $pid did not exit within ${grace}s)"
    else
        echo "$name: stopped"
    fi
    rm -f "$pidfile"
}

# -------------------------------------------------------------- postgres ---

pg_config() {
    parse_url "$DATABASE_URL" 5432
    PG_HOST=$U_HOST PG_PORT=$U_PORT PG_USER=$U_USER PG_PASS=$U_PASS
    PG_DB=${U_PATH%%/*}
    PG_DB=${PG_DB:-$PG_USER}
}

# 0: accepting connections, 1: answering but not ready yet, 2: nothing there.
pg_probe() {
    if command -v pg_isready >/dev/null 2>&1; then
        local rc=0
        pg_isready -q -t 3 -h "$PG_HOST" -p "$PG_PORT" || rc=$?
        case $rc in
            0) return 0 ;;
            1) return 1 ;;
            *) return 2 ;;
        esac
    fi
    tcp_open "$PG_HOST" "$PG_PORT" && return 0
    return 2
}

pg_bindir() {
    local d
    d=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null | sort -V | tail -n 1)
    [[ -n $d ]] && dirname "$d"
}

pg_wait_ready() {
    local log=$1 deadline=$((SECONDS + TIMEOUT))
    until pg_probe; do
        ((SECONDS < deadline)) ||
            fail_with_log "$log" "postgres: not accepting connections at $PG_HOST:$PG_PORT after ${TIMEOUT}s"
        sleep 0.2
    done
}

# Root: a Debian cluster (pg_createcluster / pg_ctlcluster), run as postgres.
pg_start_cluster() {
    local ver='' name='' status='' v n p st bindir out log
    bindir=$(pg_bindir)
    while read -r v n p st _; do
        if [[ $p == "$PG_PORT" ]]; then
            ver=$v name=$n status=$st
            break
        fi
    done < <(pg_lsclusters --no-header 2>/dev/null)
    if [[ -z $ver ]]; then
        ver=$(basename "$(dirname "$bindir")")
        name=main
        [[ -d /etc/postgresql/$ver/main ]] && name=messenger_$PG_PORT
        note "postgres: pg_createcluster -p $PG_PORT $ver $name ..."
        out=$(pg_createcluster --locale C.UTF-8 -e UTF8 -p "$PG_PORT" "$ver" "$name" 2>&1) ||
            die "postgres: pg_createcluster failed: $out"
        status=down
    fi
    log=/var/log/postgresql/postgresql-$ver-$name.log
    if [[ $status != online ]]; then
        out=$(pg_ctlcluster "$ver" "$name" start 2>&1 9>&-) ||
            fail_with_log "$log" "postgres: pg_ctlcluster $ver $name start failed: $out"
        echo "cluster $ver $name" >"$PG_MARKER"
    fi
    pg_wait_ready "$log"
    PG_STARTED="PostgreSQL $ver, cluster $ver/$name"
}

# Not root: a private cluster in var/postgres, socket in var/run.
pg_start_private() {
    local bindir data=$PG_PRIVATE_DATA log=$LOGS/postgres.log out
    bindir=$(pg_bindir)
    if [[ ! -s $data/PG_VERSION ]]; then
        note "postgres: initdb $data ..."
        out=$("$bindir/initdb" -D "$data" -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host=scram-sha-256 2>&1) ||
            die "postgres: initdb failed: $out"
        echo "include_if_exists = 'services.conf'" >>"$data/postgresql.conf"
    fi
    {
        echo "# written by scripts/services.sh on every start"
        echo "port = $PG_PORT"
        echo "listen_addresses = '$PG_HOST'"
        echo "unix_socket_directories = '${RUN//\'/\'\'}'"
    } >"$data/services.conf"
    out=$("$bindir/pg_ctl" -D "$data" -l "$log" -w -t "$TIMEOUT" start 2>&1 9>&-) ||
        fail_with_log "$log" "postgres: pg_ctl start failed: $out"
    echo "private $data" >"$PG_MARKER"
    pg_wait_ready "$log"
    PG_STARTED="PostgreSQL $(basename "$(dirname "$bindir")"), private cluster in var/postgres"
}

# The app role (LOGIN CREATEDB, password) and its database, idempotently.
pg_ensure_app_db() {
    local ok
    [[ -n $PG_USER ]] || return 0
    command -v psql >/dev/null 2>&1 || return 0
    # Fast path: log in as the app and check what we would otherwise create.
    ok=$(PGPASSWORD=$PG_PASS PGCONNECT_TIMEOUT=5 psql -X -w -q -t -A \
        -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -c \
        "SELECT r.rolcreatedb AND d.datdba = r.oid FROM pg_roles r, pg_database d
         WHERE r.rolname = current_user AND d.datname = current_database()" 2>/dev/null) || true
    [[ $ok == t ]] && return 0

    local -a psql_cmd
    if [[ -f $PG_MARKER && $(<"$PG_MARKER") == private* ]]; then
        psql_cmd=(psql -h "$RUN")
    elif is_root; then
        psql_cmd=(runuser -u postgres -- psql)
    else
        psql_cmd=(psql)
    fi
    local out
    out=$("${psql_cmd[@]}" -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres \
        -v app_user="$PG_USER" -v app_password="$PG_PASS" -v app_db="$PG_DB" 2>&1 <<'SQL'
SELECT format('CREATE ROLE %I', :'app_user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
ALTER ROLE :"app_user" WITH LOGIN CREATEDB PASSWORD :'app_password';
SELECT format('CREATE DATABASE %I OWNER %I TEMPLATE template0 ENCODING %L', :'app_db', :'app_user', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec
ALTER DATABASE :"app_db" OWNER TO :"app_user";
SQL
    ) || die "postgres: could not create role '$PG_USER' / database '$PG_DB' at $PG_HOST:$PG_PORT: $out"
}

pg_up() {
    local rc=0 state
    pg_config
    PG_STARTED=''
    pg_probe || rc=$?
    if ((rc == 1)); then # answering, still starting up
        pg_wait_ready /dev/null
        rc=0
    fi
    if ((rc == 0)); then
        state="already running at $PG_HOST:$PG_PORT"
    else
        is_local_host "$PG_HOST" ||
            die "postgres: nothing answers at $PG_HOST:$PG_PORT, which is not local; fix DATABASE_URL"
        if [[ -z $(pg_bindir) ]] || { is_root && ! command -v pg_ctlcluster >/dev/null 2>&1; }; then
            install_or_die postgresql "PostgreSQL server"
            [[ -n $(pg_bindir) ]] || die "postgres: server binaries still missing after install"
        fi
        if is_root; then
            pg_start_cluster
        else
            pg_start_private
        fi
        state="started at $PG_HOST:$PG_PORT ($PG_STARTED)"
    fi
    if is_local_host "$PG_HOST"; then
        pg_ensure_app_db
    fi
    echo "postgres: $state"
}

pg_down() {
    local kind a b out
    if [[ ! -f $PG_MARKER ]]; then
        echo "postgres: not started by services.sh, nothing to stop"
        return 0
    fi
    read -r kind a b <"$PG_MARKER" || true
    case $kind in
        cluster)
            out=$(pg_ctlcluster -m fast "$a" "$b" stop 2>&1) ||
                echo "postgres: pg_ctlcluster $a $b stop: $out" >&2
            echo "postgres: stopped (cluster $a/$b)"
            ;;
        private)
            out=$("$(pg_bindir)/pg_ctl" -D "$a" -m fast -w stop 2>&1) ||
                echo "postgres: pg_ctl stop: $out" >&2
            echo "postgres: stopped (private cluster)"
            ;;
        *) echo "postgres: unreadable marker $PG_MARKER, removed" >&2 ;;
    esac
    rm -f "$PG_MARKER"
}

pg_status() {
    local who=external
    pg_config
    [[ -f $PG_MARKER ]] && who="started by services.sh: $(<"$PG_MARKER")"
    if pg_probe; then
        echo "postgres: running at $PG_HOST:$PG_PORT ($who)"
    else
        echo "postgres: not running at $PG_HOST:$PG_PORT"
        return 1
    fi
}

# ----------------------------------------------------------------- redis ---

redis_config() {
    parse_url "$REDIS_URL" 6379
    R_HOST=$U_HOST R_PORT=$U_PORT R_PASS=$U_PASS
}

redis_ping() {
    local -a env_auth=()
    [[ -n $R_PASS ]] && env_auth=("REDISCLI_AUTH=$R_PASS")
    [[ $(env "${env_auth[@]}" timeout 3 redis-cli -h "$R_HOST" -p "$R_PORT" ping 2>/dev/null) == PONG ]]
}

redis_up() {
    local deadline bind v
    redis_config
    if tcp_open "$R_HOST" "$R_PORT"; then
        if command -v redis-cli >/dev/null 2>&1 && ! redis_ping; then
            die "redis: something answers at $R_HOST:$R_PORT but does not reply PONG (wrong port or password in REDIS_URL?)"
        fi
        echo "redis: already running at $R_HOST:$R_PORT"
        return 0
    fi
    is_local_host "$R_HOST" ||
        die "redis: nothing answers at $R_HOST:$R_PORT, which is not local; fix REDIS_URL"
    command -v redis-server >/dev/null 2>&1 || install_or_die redis-server "Redis server"
    command -v redis-cli >/dev/null 2>&1 || install_or_die redis-tools "redis-cli"
    bind=$R_HOST
    [[ $R_HOST == localhost ]] && bind=127.0.0.1
    mkdir -p "$VAR/redis"
    rm -f "$REDIS_PIDFILE"
    local -a args=(--port "$R_PORT" --bind "$bind" --daemonize yes --dir "$VAR/redis"
        --save '' --appendonly no --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG")
    [[ -n $R_PASS ]] && args+=(--requirepass "$R_PASS")
    redis-server "${args[@]}" >>"$REDIS_LOG" 2>&1 9>&- ||
        fail_with_log "$REDIS_LOG" "redis: redis-server failed to start"
    deadline=$((SECONDS + TIMEOUT))
    until redis_ping; do
        ((SECONDS < deadline)) ||
            fail_with_log "$REDIS_LOG" "redis: no PONG at $R_HOST:$R_PORT after ${TIMEOUT}s"
        sleep 0.1
    done
    v=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
    echo "redis: started at $R_HOST:$R_PORT (Redis $v)"
}

redis_status() {
    local who=external
    redis_config
    pid_alive "$REDIS_PIDFILE" redis-server && who="started by services.sh, pid $(<"$REDIS_PIDFILE")"
    if tcp_open "$R_HOST" "$R_PORT"; then
        echo "redis: running at $R_HOST:$R_PORT ($who)"
    else
        echo "redis: not running at $R_HOST:$R_PORT"
        return 1
    fi
}

# ----------------------------------------------------------------- kafka ---

kafka_config() {
    local first=${KAFKA_BOOTSTRAP_SERVERS%%,*}
    first=${first#*://}
    [[ $first == *:* ]] || first=$first:9092
    parse_url "kafka://$first" 9092
    K_HOST=$U_HOST K_PORT=$U_PORT
    K_CONTROLLER_PORT=$((K_PORT + 1))
}

kafka_version() {
    local jar
    jar=$(compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" | head -n 1) || return 0
    jar=${jar##*/kafka_2.13-}
    echo "${jar%.jar}"
}

# Broker jars from Maven Central, re-resolved whenever pom.xml changes.
kafka_libs() {
    local stamp log=$LOGS/kafka-mvn.log
    stamp=$(sha256sum "$ROOT/pom.xml")
    stamp=${stamp%% *}
    if [[ -f $KAFKA_LIBS/.pom.sha256 && $(<"$KAFKA_LIBS/.pom.sha256") == "$stamp" ]] &&
        compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || install_or_die maven "Maven (mvn)"
    note "kafka: resolving broker jars from pom.xml with Maven ..."
    rm -rf "$KAFKA_LIBS"
    rm -f "$KAFKA_CDS" "$KAFKA_CDS.new"
    mkdir -p "$KAFKA_LIBS"
    mvn -q -B -f "$ROOT/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$KAFKA_LIBS" -DincludeScope=runtime >"$log" 2>&1 ||
        fail_with_log "$log" "kafka: Maven could not resolve the broker jars"
    compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null ||
        die "kafka: no kafka_2.13 jar in $KAFKA_LIBS after Maven ran"
    echo "$stamp" >"$KAFKA_LIBS/.pom.sha256"
}

# JVM options for class-data sharing. The first start dumps the loaded classes
# at exit (on `down`) into classes.jsa.new; the next start checks that file
# (a truncated archive would crash the JVM) and then uses it.
kafka_cds_opts() {
    KAFKA_CDS_OPTS=()
    if [[ -f $KAFKA_CDS.new ]]; then
        if java -Xshare:on -XX:SharedArchiveFile="$KAFKA_CDS.new" -cp "$KAFKA_LIBS/*" \
            kafka.Kafka --version >/dev/null 2>&1; then
            mv -f "$KAFKA_CDS.new" "$KAFKA_CDS"
        else
            rm -f "$KAFKA_CDS.new"
        fi
    fi
    if [[ -s $KAFKA_CDS ]]; then
        KAFKA_CDS_OPTS=(-XX:SharedArchiveFile="$KAFKA_CDS")
    else
        KAFKA_CDS_OPTS=(-XX:ArchiveClassesAtExit="$KAFKA_CDS.new")
    fi
}

# A random 16-byte id in Kafka's URL-safe base64. One that begins with "-"
# would be read by kafka-storage as an option, leaving --cluster-id empty
# (1 id in 64), so draw again; Kafka's own Uuid.randomUuid does the same.
kafka_cluster_id() {
    local cid=-
    while [[ $cid == -* ]]; do
        cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    echo "$cid"
}

kafka_render_config() {
    local t
    t=$(<"$KAFKA_TEMPLATE")
    t=${t//@HOST@/"$K_HOST"}
    t=${t//@PORT@/"$K_PORT"}
    t=${t//@CONTROLLER_PORT@/"$K_CONTROLLER_PORT"}
    t=${t//@DATA_DIR@/"$KAFKA_DATA"}
    printf '%s\n' "$t" >"$KAFKA_CONF"
}

# Start the broker in the background (no waiting; see kafka_wait).
# Sets KAFKA_STATE to "running", "starting" or "launched".
kafka_launch() {
    local cid log=$LOGS/kafka-format.log
    kafka_config
    if tcp_open "$K_HOST" "$K_PORT"; then
        KAFKA_STATE=running
        pid_alive "$KAFKA_PIDFILE" kafka.Kafka && KAFKA_STATE=starting # ours; may still be booting
        return 0
    fi
    if pid_alive "$KAFKA_PIDFILE" kafka.Kafka; then
        KAFKA_STATE=starting
        return 0
    fi
    is_local_host "$K_HOST" ||
        die "kafka: nothing answers at $K_HOST:$K_PORT, which is not local; fix KAFKA_BOOTSTRAP_SERVERS"
    command -v java >/dev/null 2>&1 || install_or_die default-jre-headless "Java (17+)"
    kafka_libs
    mkdir -p "$KAFKA_DATA"
    kafka_render_config
    if [[ ! -f $KAFKA_DATA/meta.properties ]]; then
        cid=$(kafka_cluster_id)
        java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
            kafka.tools.StorageTool format -t "$cid" -c "$KAFKA_CONF" >"$log" 2>&1 ||
            fail_with_log "$log" "kafka: formatting $KAFKA_DATA failed"
    fi
    [[ -f $KAFKA_LOG ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.1"
    local -a heap
    read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
    kafka_cds_opts
    nohup setsid java "${heap[@]}" "${KAFKA_CDS_OPTS[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Djava.awt.headless=true -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF" >"$KAFKA_LOG" 2>&1 </dev/null 9>&- &
    echo $! >"$KAFKA_PIDFILE"
    KAFKA_STATE=launched
}

kafka_wait() {
    local deadline=$((SECONDS + TIMEOUT))
    case $KAFKA_STATE in
        running)
            echo "kafka: already running at $K_HOST:$K_PORT"
            return 0
            ;;
    esac
    until tcp_open "$K_HOST" "$K_PORT" && grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null; do
        pid_alive "$KAFKA_PIDFILE" kafka.Kafka ||
            fail_with_log "$KAFKA_LOG" "kafka: the broker exited during start-up"
        ((SECONDS < deadline)) ||
            fail_with_log "$KAFKA_LOG" "kafka: not ready at $K_HOST:$K_PORT after ${TIMEOUT}s (still running, pid $(<"$KAFKA_PIDFILE"))"
        sleep 0.2
    done
    # A JDK upgrade makes the archive unusable (a warning, not an error): redo it.
    if grep -q 'Unable to use shared archive' "$KAFKA_LOG"; then
        rm -f "$KAFKA_CDS"
    fi
    if [[ $KAFKA_STATE == launched ]]; then
        echo "kafka: started at $K_HOST:$K_PORT (Kafka $(kafka_version))"
    else
        echo "kafka: already running at $K_HOST:$K_PORT"
    fi
}

kafka_status() {
    local who=external
    kafka_config
    pid_alive "$KAFKA_PIDFILE" kafka.Kafka && who="started by services.sh, pid $(<"$KAFKA_PIDFILE")"
    if tcp_open "$K_HOST" "$K_PORT"; then
        echo "kafka: running at $K_HOST:$K_PORT ($who)"
    elif [[ $who != external ]]; then
        echo "kafka: starting at $K_HOST:$K_PORT ($who)"
        return 1
    else
        echo "kafka: not running at $K_HOST:$K_PORT"
        return 1
    fi
}

# ------------------------------------------------------------------ main ---

# Serialise up/down. Every daemon is launched with 9>&- so that none of them
# inherits (and keeps holding) this lock.
lock() {
    exec 9>"$RUN/services.lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 600 9 || die "another services.sh is still running"
    fi
}

usage() {
    echo "usage: scripts/services.sh up|down|status|jars|cluster-id" >&2
    exit 2
}

main() {
    [[ $# -eq 1 ]] || usage
    mkdir -p "$RUN" "$LOGS"
    case $1 in
        up)
            lock
            kafka_launch # slowest: boots while postgres and redis come up
            pg_up
            redis_up
            kafka_wait
            ;;
        down)
            lock
            stop_pid kafka "$KAFKA_PIDFILE" kafka.Kafka 60
            stop_pid redis "$REDIS_PIDFILE" redis-server 20
            pg_down
            ;;
        jars)
            # Only resolve the broker jars (for scripts/scale-out.sh when the
            # app's own Kafka runs elsewhere).
            lock
            kafka_libs
            ;;
        cluster-id) kafka_cluster_id ;;
        status)
            local rc=0
            pg_status || rc=3
            redis_status || rc=3
            kafka_status || rc=3
            return "$rc"
            ;;
        *) usage ;;
    esac
}

main "$@"

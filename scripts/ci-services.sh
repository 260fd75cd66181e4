#!/usr/bin/env bash
# Make sure the services the tests talk to are up: PostgreSQL on 127.0.0.1:5432 and Redis on
# 127.0.0.1:6379. Each one that does not answer is started (Debian's PostgreSQL cluster, a
# throw-away Redis that keeps nothing on disk), then waited for. Safe to run again: services that
# already answer are left alone.
#
#   bash scripts/ci-services.sh            (as root, or as a user allowed to run pg_ctlcluster)
#
# The tests find the services through CMMS_TEST_DATABASE_URL and CMMS_TEST_REDIS_URL; set those
# instead of running this script when your PostgreSQL and Redis live elsewhere.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_HOST=127.0.0.1
REDIS_PORT=6379
WAIT_SECONDS=${CMMS_SERVICES_WAIT:-30}

say() { echo "ci-services: $*"; }
die() { echo "ci-services: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" -t 2; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

wait_for() {  # wait_for NAME CHECK
    local name=$1 check=$2 i
    for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
        if "$check"; then
            say "$name is up"
            return 0
        fi
        sleep 0.25
    done
    die "$name did not answer within ${WAIT_SECONDS} s"
}

need pg_isready "install Debian's postgresql-client (apt-get install postgresql)"
need redis-cli "install Debian's redis-tools (apt-get install redis-server)"

# --- PostgreSQL ------------------------------------------------------------------------------
if pg_up; then
    say "PostgreSQL already answers on $PG_HOST:$PG_PORT"
else
    need pg_ctlcluster "install Debian's postgresql, or point CMMS_TEST_DATABASE_URL at a server"
    [ -d /etc/postgresql ] || die "no PostgreSQL cluster under /etc/postgresql"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    [ -n "$version" ] || die "no PostgreSQL cluster under /etc/postgresql"
    say "starting PostgreSQL $version/main"
    # "already running" (a cluster that is starting or stuck) is not fatal here: wait_for decides.
    pg_ctlcluster --skip-systemctl-redirect "$version" main start \
        || say "pg_ctlcluster exited with $?; waiting for the server anyway"
    wait_for PostgreSQL pg_up
fi

# --- Redis -----------------------------------------------------------------------------------
if redis_up; then
    say "Redis already answers on $REDIS_HOST:$REDIS_PORT"
else
    need redis-server "install Debian's redis-server, or point CMMS_TEST_REDIS_URL at a server"
    log_file="${TMPDIR:-/tmp}/cmms-ci-redis.log"
    say "starting Redis on $REDIS_HOST:$REDIS_PORT (log: $log_file)"
    redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
        --dir "${TMPDIR:-/tmp}" --logfile "$log_file"
    wait_for Redis redis_up
fi

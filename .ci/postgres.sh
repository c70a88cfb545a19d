#!/usr/bin/env bash
# Sourced by .ci/run: a throwaway PostgreSQL server for the tests, from the distribution's
# packages, when MCP_ROUTER_TEST_PG_URL does not already name one. initdb and postgres refuse
# root, so they run as the `postgres` user in a directory it owns, listening on loopback only.
# Exports MCP_ROUTER_TEST_PG_URL; `pg_ci_stop` stops the server and removes its directory.

pg_ci_start() {
    if [ -n "${MCP_ROUTER_TEST_PG_URL:-}" ]; then
        echo "== postgres: using MCP_ROUTER_TEST_PG_URL"
        return 0
    fi
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        echo "== postgres: installing the distribution's package"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    local as=()
    if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
    PG_CI_DIR=$(mktemp -d /tmp/mcp-router-pg.XXXXXX)
    chmod 755 "$PG_CI_DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_CI_DIR"; fi
    local port=${PG_CI_PORT:-$((20000 + RANDOM % 20000))}
    "${as[@]}" "$bin/initdb" -D "$PG_CI_DIR/data" -U postgres -A trust --no-sync -E UTF8 >/dev/null
    "${as[@]}" "$bin/pg_ctl" -D "$PG_CI_DIR/data" -l "$PG_CI_DIR/log" -w -o \
        "-h 127.0.0.1 -p $port -k $PG_CI_DIR -c fsync=off -c max_connections=200" start >/dev/null
    PG_CI_BIN=$bin
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres mcp_router_test
    export MCP_ROUTER_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/mcp_router_test"
    echo "== postgres: $("$bin/postgres" --version) on 127.0.0.1:$port"
}

pg_ci_stop() {
    if [ -n "${PG_CI_DIR:-}" ]; then
        local as=()
        if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
        "${as[@]}" "$PG_CI_BIN/pg_ctl" -D "$PG_CI_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$PG_CI_DIR"
        PG_CI_DIR=
    fi
}

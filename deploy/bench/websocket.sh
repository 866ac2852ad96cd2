#!/usr/bin/env bash
# WebSocket APIs on one machine, with release binaries:
#   1. idle:  node memory (VmRSS) per idle connection, with 10,000 connections
#             held by a separate client process;
#   2. echo:  messages per second through one node pinned to one core, to a
#             two-way MOCK route (each message answered by the route);
#   3. cross: latency of a cross-node `POST @connections` on loopback: a
#             client on node A, the POST on node B (SigV4), timed until the
#             client reads the message; p50, p99, max.
# Two nodes share a redis-server (as a fleet does for @connections).
#
# Usage: deploy/bench/websocket.sh            (from any directory)
# Env:   IDLE_CONNECTIONS=10000              connections held for the memory measurement
#        ECHO_CONNECTIONS=50 ECHO_WINDOW=8   echo clients, messages each keeps in flight
#        ECHO_SECONDS=10                     length of the measured echo run (after 1 s warm-up)
#        CROSS_SAMPLES=2000                  cross-node POSTs timed (after 100 warm-up ones)
#        BUILD_PROFILE=release               `debug` for a quick check of the script itself
#        OUT=results.txt                     also write the RESULT lines there
#
# Needs: 2 cores, taskset (util-linux), redis-server, curl, python3 (free ports), cargo.
# See deploy/bench/README.md for what the numbers mean.
set -euo pipefail
export LC_ALL=C

IDLE_CONNECTIONS="${IDLE_CONNECTIONS:-10000}"
ECHO_CONNECTIONS="${ECHO_CONNECTIONS:-50}"
ECHO_WINDOW="${ECHO_WINDOW:-8}"
ECHO_SECONDS="${ECHO_SECONDS:-10}"
CROSS_SAMPLES="${CROSS_SAMPLES:-2000}"
BUILD_PROFILE="${BUILD_PROFILE:-release}"
OUT="${OUT:-}"

# Node A (measured) gets core 1 to itself; the load generator, node B,
# Redis and the control plane share core 0.
LOAD_CORE=0
NODE_CORE=1
# Every process may hold this many descriptors: the idle run's 10,000
# connections are 10,000 descriptors in the client and as many in node A.
FD_LIMIT=20000
API_HOST="wsbench.execute-api.localhost"
STAGE=prod

die() { echo "websocket.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

if [[ -n "$OUT" && "$OUT" != /* ]]; then OUT="$PWD/$OUT"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
case "$BUILD_PROFILE" in
    release) CARGO_PROFILE=(--release); BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release" ;;
    debug) CARGO_PROFILE=(); BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug" ;;
    *) die "BUILD_PROFILE is release or debug, not '$BUILD_PROFILE'" ;;
esac

for tool in taskset redis-server curl python3 cargo; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is needed and was not found on PATH"
done
taskset -c "$NODE_CORE" true 2>/dev/null ||
    die "core $NODE_CORE is not available to this process; the benchmark needs 2 cores"
# The hard limit must allow it; each process raises its soft limit below.
[[ "$(ulimit -Hn)" == unlimited || "$(ulimit -Hn)" -ge "$FD_LIMIT" ]] ||
    die "the hard file descriptor limit ($(ulimit -Hn)) is under $FD_LIMIT (raise it: ulimit -Hn, or LimitNOFILE)"

# ---------------------------------------------------------------- cleanup

TMP="$(mktemp -d "${TMPDIR:-/tmp}/archway-ws-bench.XXXXXX")"
PIDS=()

stop_pid() {
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? i f
    trap - EXIT INT TERM
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
    wait 2>/dev/null || true
    if [[ $status -ne 0 ]]; then
        for f in "$TMP"/*.log "$TMP"/*.out; do
            [[ -s "$f" ]] || continue
            echo "--- ${f#"$TMP"/} (first 10 and last 20 lines)" >&2
            head -n 10 "$f" >&2
            echo "..." >&2
            tail -n 20 "$f" >&2
        done
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Reads the "... listening on http://ADDR" line a binary prints on stdout.
wait_listen_addr() {
    local file="$1" pid="$2" what="$3" i addr
    for ((i = 0; i < 100; i++)); do
        addr="$(sed -n 's|.* listening on http://||p' "$file" 2>/dev/null | head -n 1)"
        if [[ -n "$addr" ]]; then echo "$addr"; return 0; fi
        kill -0 "$pid" 2>/dev/null || die "$what exited before printing its address"
        sleep 0.1
    done
    die "$what did not print its listening address within 10 s"
}

# Runs a command pinned to CORE with the descriptor limit raised, in place
# of the (sub)shell that calls it: started with `&`, $! is the command's
# own pid (taskset and bash exec into it), whose memory the idle run reads.
pinned() {
    local core="$1"
    shift
    exec taskset -c "$core" bash -c 'ulimit -n '"$FD_LIMIT"' && exec "$@"' bash "$@"
}

# ---------------------------------------------------------------- build

log "building $BUILD_PROFILE binaries"
cargo build "${CARGO_PROFILE[@]}" -p archway-control-plane -p archway-data-plane --bins >&2
cargo build "${CARGO_PROFILE[@]}" -p archway-e2e --bin ws_load >&2
for b in archway-control-plane archway-data-plane archwayctl ws_load; do
    [[ -x "$BIN/$b" ]] || die "$BIN/$b missing after the build"
done

# ---------------------------------------------------------------- processes

export RUST_LOG=warn NO_COLOR=1
REDIS_PORT="$(free_port)"
taskset -c "$LOAD_CORE" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
    >"$TMP/redis.log" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
done

mkdir -p "$TMP/cp" "$TMP/a" "$TMP/b"
taskset -c "$LOAD_CORE" "$BIN/archway-control-plane" --listen 127.0.0.1:0 --data-dir "$TMP/cp" \
    >"$TMP/control-plane.out" 2>"$TMP/control-plane.log" &
PIDS+=("$!")
CP_ADDR="$(wait_listen_addr "$TMP/control-plane.out" "${PIDS[-1]}" archway-control-plane)"

# start_node NAME CORE: sets NODE_ADDR and NODE_PID. The message rate limit
# is set far above the load (AWS's default per connection would close the
# echo clients); max connections above the idle run's.
start_node() {
    local name="$1" core="$2"
    (pinned "$core" "$BIN/archway-data-plane" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
        --control-plane "http://$CP_ADDR" --token-file "$TMP/cp/node-token" \
        --node-id "$name" --state-dir "$TMP/$name" --redis-url "redis://127.0.0.1:$REDIS_PORT" \
        --max-connections $((FD_LIMIT - 1000)) \
        --websocket-messages-per-second 1000000000 --websocket-message-burst 1000000000) \
        >"$TMP/$name.out" 2>"$TMP/$name.log" &
    PIDS+=("$!")
    NODE_PID="${PIDS[-1]}"
    NODE_ADDR="$(wait_listen_addr "$TMP/$name.out" "$NODE_PID" "node $name")"
}
start_node a "$NODE_CORE"
A_ADDR="$NODE_ADDR" A_PID="$NODE_PID"
start_node b "$LOAD_CORE"
B_ADDR="$NODE_ADDR"

# ---------------------------------------------------------------- configuration

CTL=("$BIN/archwayctl" --server "http://$CP_ADDR" --token-file "$TMP/cp/admin-token")
# `echo` answers every message (two-way MOCK); `whoami` is no route, so the
# client gets AWS's "Forbidden" answer, which carries its connectionId.
cat >"$TMP/api.yaml" <<EOF
apis:
  - name: wsbench
    id: wsbench
    protocol: WEBSOCKET
    route_selection_expression: \$request.body.action
    routes:
      - route_key: echo
        route_response_selection_expression: \$default
        integration: { type: MOCK, status: 200, body: '{"echo":true}' }
    stages:
      - name: $STAGE
EOF
"${CTL[@]}" apply -f "$TMP/api.yaml" >&2
cat >"$TMP/manage-policy.json" <<'EOF'
{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"arn:aws:execute-api:*:*:wsbench/*/POST/@connections/*"}]}
EOF
"${CTL[@]}" iam create-user wsbench-backend --policy-file "$TMP/manage-policy.json" >&2
"${CTL[@]}" iam create-key wsbench-backend >"$TMP/key.txt"
KEY_ID="$(awk '/^access key id/ {print $4}' "$TMP/key.txt")"
SECRET="$(awk '/^secret access key/ {print $4}' "$TMP/key.txt")"
[[ -n "$KEY_ID" && -n "$SECRET" ]] || die "could not read the access key archwayctl created"

# Served once a plain GET of the stage answers 426 Upgrade Required (403:
# not applied yet), on both nodes.
for addr in "$A_ADDR" "$B_ADDR"; do
    code=000
    for ((i = 0; i < 100; i++)); do
        code="$(curl -s -o /dev/null -w '%{http_code}' -H "Host: $API_HOST" "http://$addr/$STAGE" || true)"
        [[ "$code" == 426 ]] && break
        sleep 0.1
    done
    [[ "$code" == 426 ]] || die "node at $addr does not serve the WebSocket API (answered $code)"
done

# ---------------------------------------------------------------- measurements

RESULTS="$TMP/results.txt"
run_load() {
    (pinned "$LOAD_CORE" "$BIN/ws_load" "$@") | tee -a "$TMP/ws_load.out" | grep '^RESULT' >>"$RESULTS"
}

log "idle: $IDLE_CONNECTIONS connections to node A"
run_load idle --node "$A_ADDR" --host "$API_HOST" --stage "$STAGE" \
    --connections "$IDLE_CONNECTIONS" --node-pid "$A_PID"
log "echo: $ECHO_CONNECTIONS connections x $ECHO_WINDOW in flight, ${ECHO_SECONDS} s, node A on core $NODE_CORE"
run_load echo --node "$A_ADDR" --host "$API_HOST" --stage "$STAGE" \
    --connections "$ECHO_CONNECTIONS" --window "$ECHO_WINDOW" --seconds "$ECHO_SECONDS"
log "cross: $CROSS_SAMPLES POSTs on node B to a client on node A"
run_load cross --node-a "$A_ADDR" --node-b "$B_ADDR" --host "$API_HOST" --stage "$STAGE" \
    --key "$KEY_ID" --secret "$SECRET" --samples "$CROSS_SAMPLES"

# A RESULT line's value for NAME (every line starts "RESULT ", so a space
# precedes each name).
value() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$RESULTS" | head -n 1; }
echo
printf '%-52s %s\n' "measurement ($BUILD_PROFILE build)" "result"
printf '%-52s %s bytes (%s connections, RSS %s -> %s KiB)\n' "node memory per idle connection" \
    "$(value bytes_per_connection)" "$(value idle_connections)" "$(value rss_before_kib)" "$(value rss_after_kib)"
printf '%-52s %s/s (%s connections x %s in flight)\n' "echo answers through node A (1 core)" \
    "$(value answers_per_second)" "$(value echo_connections)" "$(value window)"
printf '%-52s p50 %s us, p99 %s us, max %s us (%s samples)\n' "cross-node POST @connections to delivery" \
    "$(value p50_us)" "$(value p99_us)" "$(value max_us)" "$(value cross_samples)"
if [[ -n "$OUT" ]]; then cp "$RESULTS" "$OUT"; fi

#!/usr/bin/env bash
# Load test on one machine: the same tiny upstream measured
#   1. directly,
#   2. through an nginx reverse proxy,
#   3. through Archway's data plane,
# with wrk, and printed side by side (req/s, p50, p99, ratio to nginx).
#
# Usage: deploy/bench/load.sh            (from any directory)
# Env:   DURATION=10s CONNECTIONS=64 THREADS=1 WARMUP=2s
#        TELEMETRY=1                     also measure Archway with metrics off, and with
#                                        traces sampled at 1% to an OTLP sink
#        API_KEY=1                       also measure a route that requires an API key, with
#                                        usage-plan and stage throttles (set high: all pass)
#        JWT=1                           also measure a route behind a JWT authorizer, an API
#                                        key and the throttles (needs openssl)
#        MAPPED=1                        also measure a POST validated against a model (body and a
#                                        required header) and sent through an HTTP (non-proxy)
#                                        integration with request and response mapping
#                                        templates, beside nginx proxying the same POST
#        CACHE=1                         also measure a stage-cache hit beside nginx serving
#                                        the same route from proxy_cache (both answer every
#                                        request from their cache after the first)
#        OUT=results.jsonl               also write one JSON object per target
#        PROFILE=archway                 record the data plane with `perf record` while
#                                        that target (archway, keyed, jwt...) is measured;
#                                        the profile lands in ./perf-<target>.data
#        PERF_ARGS="-g -F 999"           perf record options (default: DWARF call graphs)
#        PERF_MODE=stat                  count with `perf stat` (PERF_ARGS: its events) into
#                                        ./perf-<target>.txt instead of recording
#        ARCHWAY_BENCH_INSTALL=1         as root, apt-get install missing wrk/nginx
#
# See deploy/bench/README.md for what the numbers mean.
set -euo pipefail
# wrk's numbers and printf's %f must agree on the decimal point.
export LC_ALL=C

DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
WARMUP="${WARMUP:-2s}"
OUT="${OUT:-}"

# The same Host header goes to all three targets so every request has the
# same bytes on the wire; nginx ignores it, Archway routes on it.
API_HOST="bench.execute-api.localhost"

# Core layout: the proxy under test gets core 1 to itself; the load generator
# and the upstream share core 0. The proxied runs therefore put the same load
# on core 0 as the direct run, and the proxy's cost shows up on core 1 only.
LOAD_CORE=0
PROXY_CORE=1

die() { echo "load.sh: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

# ---------------------------------------------------------------- paths

# OUT is taken relative to where the script was started, before the cd below.
if [[ -n "$OUT" && "$OUT" != /* ]]; then OUT="$PWD/$OUT"; fi
START_DIR="$PWD"

# The repo root is two levels above this script, wherever it is run from.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release"

# ---------------------------------------------------------------- prerequisites

# nginx lives in /usr/sbin, which is not on a normal user's PATH.
find_nginx() { command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true; }

NGINX="$(find_nginx)"
if ! command -v wrk >/dev/null 2>&1 || [[ -z "$NGINX" ]]; then
    if [[ "${ARCHWAY_BENCH_INSTALL:-0}" == 1 && "$(id -u)" == 0 ]]; then
        log "installing wrk and nginx-light"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y wrk nginx-light >&2
        NGINX="$(find_nginx)"
    else
        die "wrk and nginx are needed: run 'apt-get install -y wrk nginx-light'
  (or re-run this script as root with ARCHWAY_BENCH_INSTALL=1 to install them)"
    fi
fi
command -v wrk >/dev/null 2>&1 || die "wrk still not found after installing"
[[ -n "$NGINX" ]] || die "nginx still not found after installing"
for tool in taskset curl python3 cargo; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' is needed and was not found on PATH"
done
# Pinning needs both cores to exist (taskset fails on an absent CPU).
taskset -c "$PROXY_CORE" true 2>/dev/null ||
    die "core $PROXY_CORE is not available to this process; the benchmark needs 2 cores"

# wrk and the proxies each hold a few descriptors per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# ---------------------------------------------------------------- cleanup

TMP="$(mktemp -d "${TMPDIR:-/tmp}/archway-bench.XXXXXX")"
PIDS=()          # archway processes, killed by pid
NGINX_DIRS=()    # nginx instances, killed through their pid files

# Sends TERM, waits up to 5 s, then KILL: a wedged process must not make the
# cleanup (and so the script) hang.
stop_pid() {
    local pid="$1" i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$? dir i
    trap - EXIT INT TERM
    for dir in "${NGINX_DIRS[@]}"; do
        # TERM to the master is nginx's fast shutdown; it takes the worker along.
        if [[ -s "$dir/nginx.pid" ]]; then stop_pid "$(cat "$dir/nginx.pid")"; fi
    done
    # Newest first: the data plane goes before the control plane, so it does
    # not log a lost config stream on every run.
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
    # Reap the background jobs so no "Terminated" noise lands after the table.
    wait 2>/dev/null || true
    if [[ $status -ne 0 ]]; then
        # On failure the logs are the only clue: show their tails before they go.
        for f in "$TMP"/*.log "$TMP"/*/error.log; do
            [[ -s "$f" ]] || continue
            # The first lines say what went wrong (an error's backtrace can
            # push the message out of the tail), the last what came after.
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

# A free ephemeral port from the kernel. Racy in principle (the port is only
# reserved while python holds it), fine on a quiet machine.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls until `curl URL` answers 200 with body "ok", for at most ~10 s.
wait_ok() {
    local url="$1" what="$2" i code
    for ((i = 0; i < 100; i++)); do
        code="$(curl -s -m 1 -o "$TMP/probe.body" -w '%{http_code}' -H "Host: $API_HOST" "$url" || true)"
        if [[ "$code" == 200 && "$(cat "$TMP/probe.body")" == ok ]]; then return 0; fi
        sleep 0.1
    done
    die "$what at $url did not answer 200 \"ok\" within 10 s (last status: ${code:-none}, body: $(head -c 200 "$TMP/probe.body" 2>/dev/null))"
}

# Reads the "... listening on http://ADDR" line a binary prints on stdout,
# waiting up to 10 s for it.
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

# Starts an nginx instance in its own prefix dir, pinned to a core. The
# caller writes the http{} body; the rest is shared boilerplate.
#   start_nginx NAME CORE HTTP_BODY
start_nginx() {
    local name="$1" core="$2" body="$3" dir="$TMP/$1" temp_paths=""
    mkdir -p "$dir/tmp"
    # Temp dirs default to /var/lib/nginx, which a non-root user cannot
    # create; point every compiled-in module's temp dir into the prefix.
    temp_paths+="client_body_temp_path $dir/tmp/body; proxy_temp_path $dir/tmp/proxy;"
    local mod
    for mod in fastcgi uwsgi scgi; do
        if ! "$NGINX" -V 2>&1 | grep -q -- "--without-http_${mod}_module"; then
            temp_paths+=" ${mod}_temp_path $dir/tmp/$mod;"
        fi
    done
    # Run as root, nginx's workers would switch to an unprivileged user
    # that cannot write the private temp dir (proxy_cache's files).
    local user_line=""
    if [[ "$(id -u)" == 0 ]]; then user_line="user root;"; fi
    cat >"$dir/nginx.conf" <<EOF
# One worker: the comparison is per core.
worker_processes 1;
$user_line
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    $temp_paths
    # nginx closes a keep-alive connection after 1000 requests by default;
    # lift that so every target is measured on long-lived connections.
    keepalive_requests 1000000;
$body
}
EOF
    "$NGINX" -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" ||
        die "nginx config for $name does not validate ($dir/nginx.conf)"
    # The master runs in the foreground of this background job (daemon off),
    # and the worker inherits the master's CPU affinity.
    taskset -c "$core" "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
        >"$TMP/$name.log" 2>&1 &
    NGINX_DIRS+=("$dir")
    # Wait for the pid file so cleanup can find the master (bounded: 10 s).
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$dir/nginx.pid" ]] && return 0
        sleep 0.1
    done
    die "nginx $name did not write its pid file within 10 s"
}

# Latency as wrk prints it (850.00us, 1.23ms, 2.00s, 1.50m) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n
    }'
}

# Results, keyed by target name.
declare -A RPS P50 P99 REQS NON2XX SOCKERR SOCKSUM

# Runs wrk against URL (warm-up first, discarded), then parses the measured
# run's output.
#   measure NAME URL
measure() {
    local name="$1" url="$2" out="$TMP/wrk-$1.txt"
    local -a wrk_args=(-t "$THREADS" -c "$CONNECTIONS" --latency -H "Host: ${MEASURE_HOST:-$API_HOST}")
    if [[ -n "${MEASURE_HEADER:-}" ]]; then wrk_args+=(-H "$MEASURE_HEADER"); fi
    if [[ -n "${MEASURE_HEADER2:-}" ]]; then wrk_args+=(-H "$MEASURE_HEADER2"); fi
    # A wrk Lua script, e.g. to send a POST with a body.
    if [[ -n "${MEASURE_SCRIPT:-}" ]]; then wrk_args+=(-s "$MEASURE_SCRIPT"); fi
    log "$name: warm-up $WARMUP, then $DURATION with $CONNECTIONS connections ($url)"
    # The warm-up fills connection pools and caches; its numbers are dropped.
    if [[ "$WARMUP" != 0 && "$WARMUP" != 0s ]]; then
        taskset -c "$LOAD_CORE" wrk "${wrk_args[@]}" -d "$WARMUP" "$url" >"$out" 2>&1 ||
            { cat "$out" >&2; die "wrk failed (warm-up against $name)"; }
    fi
    local perf_pid=""
    if [[ -n "${PROFILE:-}" && "$PROFILE" == "$name" ]]; then
        command -v perf >/dev/null 2>&1 || die "PROFILE needs perf (apt-get install linux-perf)"
        # The process on the proxy core: nginx's worker, or the data plane.
        local target_pid="${DP_PID:-}"
        if [[ "$name" == nginx ]]; then target_pid="$(pgrep -P "$(cat "$TMP/proxy/nginx.pid")" | head -n 1)"; fi
        [[ -n "$target_pid" ]] || die "PROFILE=$name: no process to record"
        if [[ "${PERF_MODE:-record}" == stat ]]; then
            perf stat ${PERF_ARGS:-} -o "$START_DIR/perf-$name.txt" -p "$target_pid" >"$TMP/perf.log" 2>&1 &
        else
            perf record ${PERF_ARGS:---call-graph dwarf,16384 -F 499} -o "$START_DIR/perf-$name.data" -p "$target_pid" >"$TMP/perf.log" 2>&1 &
        fi
        perf_pid=$!
    fi
    taskset -c "$LOAD_CORE" wrk "${wrk_args[@]}" -d "$DURATION" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed against $name"; }
    if [[ -n "$perf_pid" ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        log "$name: perf output in $START_DIR/perf-$name.{data,txt}"
    fi

    RPS[$name]="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
    P50[$name]="$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")"
    P99[$name]="$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")"
    REQS[$name]="$(awk '/requests in/ {print $1}' "$out")"
    # wrk prints these two lines only when they are non-zero.
    NON2XX[$name]="$(awk -F': *' '/Non-2xx or 3xx responses/ {print $2}' "$out")"
    NON2XX[$name]="${NON2XX[$name]:-0}"
    SOCKERR[$name]="$(sed -n 's/^ *Socket errors: //p' "$out")"
    SOCKERR[$name]="${SOCKERR[$name]:-connect 0, read 0, write 0, timeout 0}"
    SOCKSUM[$name]="$(echo "${SOCKERR[$name]}" | awk -F', ' '{s = 0; for (i = 1; i <= NF; i++) {split($i, kv, " "); s += kv[2]}; print s}')"
    if [[ -z "${RPS[$name]}" ]]; then
        cat "$out" >&2
        die "could not parse wrk's output for $name"
    fi
    if [[ "${NON2XX[$name]}" != 0 || "${SOCKSUM[$name]}" != 0 ]]; then
        log "$name: WARNING non-2xx/3xx responses: ${NON2XX[$name]}; socket errors: ${SOCKERR[$name]}"
    fi
}

# ---------------------------------------------------------------- build

log "building release binaries (cargo build --release)"
cargo build --release -p archway-control-plane -p archway-data-plane --bins >&2
if [[ "${TELEMETRY:-0}" == 1 ]]; then
    cargo build --release -p archway-e2e --bin otlp_sink >&2
fi
for b in archway-control-plane archway-data-plane archwayctl; do
    [[ -x "$BIN/$b" ]] || die "$BIN/$b missing after the build"
done

# ---------------------------------------------------------------- upstream

UPSTREAM_PORT="$(free_port)"
start_nginx upstream "$LOAD_CORE" "
    server {
        listen 127.0.0.1:$UPSTREAM_PORT;
        # A fixed, tiny body: the benchmark measures the proxy, not the backend.
        location / { return 200 \"ok\n\"; }
    }"
wait_ok "http://127.0.0.1:$UPSTREAM_PORT/hello" "upstream nginx"

# ---------------------------------------------------------------- nginx proxy

PROXY_PORT="$(free_port)"
start_nginx proxy "$PROXY_CORE" "
    upstream bench_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        # Reuse upstream connections, as Archway's pooled client does.
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        location / {
            proxy_pass http://bench_upstream;
            # Upstream keep-alive needs HTTP/1.1 and no 'Connection: close'.
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
        }
    }"
wait_ok "http://127.0.0.1:$PROXY_PORT/hello" "nginx proxy"

# ---------------------------------------------------------------- archway

export RUST_LOG=warn
# Plain-text logs: they are grepped for warnings below.
export NO_COLOR=1
mkdir -p "$TMP/cp" "$TMP/node"
# The control plane is not under test, so it is not pinned.
"$BIN/archway-control-plane" --listen 127.0.0.1:0 --data-dir "$TMP/cp" \
    >"$TMP/control-plane.out" 2>"$TMP/control-plane.log" &
PIDS+=("$!")
CP_ADDR="$(wait_listen_addr "$TMP/control-plane.out" "${PIDS[-1]}" archway-control-plane)"

# tokio's multi-thread runtime sizes its worker pool from the CPU affinity,
# so pinning to one core also gives the data plane exactly one worker.
#   start_data_plane [EXTRA_ARGS...]   (sets DP_PID and DP_ADDR)
start_data_plane() {
    taskset -c "$PROXY_CORE" "$BIN/archway-data-plane" --listen 127.0.0.1:0 \
        --admin-listen 127.0.0.1:0 \
        --control-plane "http://$CP_ADDR" --token-file "$TMP/cp/node-token" \
        --node-id bench --state-dir "$TMP/node" "$@" \
        >"$TMP/data-plane.out" 2>>"$TMP/data-plane.log" &
    PIDS+=("$!")
    DP_PID="${PIDS[-1]}"
    DP_ADDR="$(wait_listen_addr "$TMP/data-plane.out" "$DP_PID" archway-data-plane)"
}
start_data_plane

cat >"$TMP/api.yaml" <<EOF
apis:
  - name: bench
    id: bench
    routes:
      - path: /{proxy+}
        method: ANY
        integration:
          type: HTTP_PROXY
          uri: http://127.0.0.1:$UPSTREAM_PORT/{proxy}
    stages:
      - name: prod
EOF
log "applying the bench API"
"$BIN/archwayctl" --server "http://$CP_ADDR" --token-file "$TMP/cp/admin-token" apply -f "$TMP/api.yaml" >&2

# The apply returns once the control plane has the new version; the node gets
# it asynchronously. Wait (up to ~20 s) until the node reports it applied.
log "waiting for node 'bench' to apply the configuration"
applied_ok=0
for ((i = 0; i < 100; i++)); do
    nodes="$("$BIN/archwayctl" --server "http://$CP_ADDR" --token-file "$TMP/cp/admin-token" get nodes 2>/dev/null || true)"
    want="$(awk '/^control plane version/ {print $4}' <<<"$nodes")"
    # Find APPLIED by its header rather than a fixed column number, so an
    # added column in the table does not break the wait.
    have="$(awk '$1 == "NODE" { for (i = 1; i <= NF; i++) if ($i == "APPLIED") col = i }
                 $1 == "bench" && col { print $col }' <<<"$nodes")"
    if [[ -n "$want" && "$want" != 0 && "$have" == "$want" ]]; then applied_ok=1; break; fi
    sleep 0.2
done
[[ $applied_ok == 1 ]] || die "node 'bench' did not apply the configuration within 20 s:
$nodes"

ARCHWAY_URL="http://$DP_ADDR/prod/hello"
wait_ok "$ARCHWAY_URL" "archway data plane"

# Show that the pinning took. tokio sizes its worker pool from
# available_parallelism(), i.e. the cores in the affinity mask, which is what
# nproc reports under the same mask. (Counting threads would mislead: the
# blocking pool's threads carry the same name as the workers.)
log "archway-data-plane affinity: $(taskset -cp "$DP_PID" | sed 's/.*: //'), tokio worker threads: $(taskset -c "$PROXY_CORE" nproc)"

# ---------------------------------------------------------------- measure

measure direct "http://127.0.0.1:$UPSTREAM_PORT/hello"
measure nginx "http://127.0.0.1:$PROXY_PORT/hello"
measure archway "$ARCHWAY_URL"
TARGETS=(direct nginx archway)

# Telemetry's cost: the same node restarted (it serves its saved snapshot at
# once) with metrics off, then with traces sampled at 1% to an OTLP sink.
if [[ "${TELEMETRY:-0}" == 1 ]]; then
    restart_data_plane() {
        kill "$DP_PID" 2>/dev/null || true
        wait "$DP_PID" 2>/dev/null || true
        start_data_plane "$@"
        ARCHWAY_URL="http://$DP_ADDR/prod/hello"
        wait_ok "$ARCHWAY_URL" "archway data plane ($*)"
    }
    # The collector is load-side, like wrk: on the load core, never beside the proxy.
    taskset -c "$LOAD_CORE" "$BIN/otlp_sink" >"$TMP/otlp-sink.out" 2>"$TMP/otlp-sink.log" &
    PIDS+=("$!")
    SINK_ADDR="$(wait_listen_addr "$TMP/otlp-sink.out" "${PIDS[-1]}" otlp_sink)"
    restart_data_plane --no-metrics
    measure no-telem "$ARCHWAY_URL"
    restart_data_plane --otlp-endpoint "http://$SINK_ADDR" --trace-sample-ratio "${TRACE_RATIO:-0.01}"
    measure traced1% "$ARCHWAY_URL"
    TARGETS+=(no-telem traced1%)
fi

# A route behind an API key, a usage plan and a stage throttle. The limits
# are far above the load, so every request passes every check.
if [[ "${API_KEY:-0}" == 1 ]]; then
    cat >"$TMP/keyed.yaml" <<EOF
apis:
  - name: benchkey
    id: benchkey
    routes:
      - path: /{proxy+}
        method: ANY
        api_key_required: true
        integration:
          type: HTTP_PROXY
          uri: http://127.0.0.1:$UPSTREAM_PORT/{proxy}
    stages:
      - name: prod
        throttle: { rate_limit: 1000000, burst_limit: 1000000 }
EOF
    CTL=("$BIN/archwayctl" --server "http://$CP_ADDR" --token-file "$TMP/cp/admin-token")
    "${CTL[@]}" apply -f "$TMP/keyed.yaml" >&2
    PLAN_ID="$("${CTL[@]}" plans create --name bench --stage benchkey:prod --rate 1000000 --burst 1000000 | awk '{print $3}')"
    KEY_VALUE="$("${CTL[@]}" keys create bench --plan "$PLAN_ID" | awk '$1 == "value" {print $2}')"
    [[ -n "$KEY_VALUE" ]] || die "could not create the bench API key"
    KEYED_URL="http://$DP_ADDR/prod/hello"
    code=000
    for ((i = 0; i < 100; i++)); do
        code="$(curl -s -o /dev/null -w '%{http_code}' -H "Host: benchkey.execute-api.localhost" \
            -H "x-api-key: $KEY_VALUE" "$KEYED_URL" || true)"
        [[ "$code" == 200 ]] && break
        sleep 0.1
    done
    [[ "$code" == 200 ]] || die "the keyed route answered $code"
    MEASURE_HOST="benchkey.execute-api.localhost" MEASURE_HEADER="x-api-key: $KEY_VALUE" \
        measure keyed "$KEYED_URL"
    TARGETS+=(keyed)
fi

# A route behind a JWT authorizer, an API key and the throttles: every check
# a protected request goes through. The JWKS is served by python3 on loopback;
# the token is signed with openssl.
if [[ "${JWT:-0}" == 1 ]]; then
    command -v openssl >/dev/null 2>&1 || die "JWT=1 needs the openssl command"
    mkdir -p "$TMP/jwks"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/jwt.pem" 2>/dev/null
    MODULUS="$(openssl rsa -noout -modulus -in "$TMP/jwt.pem" | sed 's/Modulus=//')"
    python3 - "$MODULUS" >"$TMP/jwks/jwks.json" <<'PY'
import base64, json, sys
n = base64.urlsafe_b64encode(bytes.fromhex(sys.argv[1])).rstrip(b"=").decode()
print(json.dumps({"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "n": n, "e": "AQAB"}]}))
PY
    JWKS_PORT="$(free_port)"
    taskset -c "$LOAD_CORE" python3 -m http.server "$JWKS_PORT" --bind 127.0.0.1 \
        --directory "$TMP/jwks" >"$TMP/jwks.log" 2>&1 &
    PIDS+=("$!")
    SIGNING_INPUT="$(python3 - <<'PY'
import base64, json, time
b = lambda d: base64.urlsafe_b64encode(json.dumps(d, separators=(",", ":")).encode()).rstrip(b"=").decode()
header = {"alg": "RS256", "kid": "k1", "typ": "JWT"}
claims = {"iss": "https://issuer.bench", "aud": "bench", "sub": "bench-user", "exp": int(time.time()) + 3600}
print(b(header) + "." + b(claims))
PY
)"
    SIGNATURE="$(printf '%s' "$SIGNING_INPUT" | openssl dgst -sha256 -sign "$TMP/jwt.pem" | python3 -c 'import base64,sys; print(base64.urlsafe_b64encode(sys.stdin.buffer.read()).rstrip(b"=").decode())')"
    TOKEN="$SIGNING_INPUT.$SIGNATURE"
    cat >"$TMP/jwt.yaml" <<EOF
apis:
  - name: benchjwt
    id: benchjwt
    authorizers:
      - name: users
        issuer: https://issuer.bench
        audiences: [bench]
        jwks_uri: http://127.0.0.1:$JWKS_PORT/jwks.json
    routes:
      - path: /{proxy+}
        method: ANY
        authorizer: users
        api_key_required: true
        integration:
          type: HTTP_PROXY
          uri: http://127.0.0.1:$UPSTREAM_PORT/{proxy}
    stages:
      - name: prod
        throttle: { rate_limit: 1000000, burst_limit: 1000000 }
EOF
    CTL=("$BIN/archwayctl" --server "http://$CP_ADDR" --token-file "$TMP/cp/admin-token")
    "${CTL[@]}" apply -f "$TMP/jwt.yaml" >&2
    JWT_PLAN="$("${CTL[@]}" plans create --name benchjwt --stage benchjwt:prod --rate 1000000 --burst 1000000 | awk '{print $3}')"
    JWT_KEY="$("${CTL[@]}" keys create benchjwt --plan "$JWT_PLAN" | awk '$1 == "value" {print $2}')"
    JWT_URL="http://$DP_ADDR/prod/hello"
    code=000
    for ((i = 0; i < 100; i++)); do
        code="$(curl -s -o /dev/null -w '%{http_code}' -H "Host: benchjwt.execute-api.localhost" \
            -H "x-api-key: $JWT_KEY" -H "Authorization: Bearer $TOKEN" "$JWT_URL" || true)"
        [[ "$code" == 200 ]] && break
        sleep 0.1
    done
    [[ "$code" == 200 ]] || die "the JWT route answered $code"
    MEASURE_HOST="benchjwt.execute-api.localhost" MEASURE_HEADER="x-api-key: $JWT_KEY" \
        MEASURE_HEADER2="Authorization: Bearer $TOKEN" measure jwt+key "$JWT_URL"
    TARGETS+=(jwt+key)
fi

# The stage cache against nginx's proxy_cache on the same route: after the
# first request (a miss) every request is answered from the cache, so this
# measures each proxy's hit path. nginx keeps its entries in files (served
# from the page cache) with the keys in shared memory; Archway in memory.
if [[ "${CACHE:-0}" == 1 ]]; then
    CACHE_PORT="$(free_port)"
    start_nginx proxycache "$PROXY_CORE" "
    proxy_cache_path $TMP/proxycache/cache keys_zone=bench:10m max_size=64m;
    upstream bench_cache_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$CACHE_PORT;
        location / {
            proxy_pass http://bench_cache_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_cache bench;
            # The upstream sends no caching headers: keep 200s as Archway's
            # stage TTL does.
            proxy_cache_valid 200 300s;
            add_header X-Cache-Status \$upstream_cache_status;
        }
    }"
    wait_ok "http://127.0.0.1:$CACHE_PORT/hello" "nginx proxy_cache"
    cat >"$TMP/cached.yaml" <<EOF
apis:
  - name: benchcache
    id: benchcache
    routes:
      - path: /{proxy+}
        method: GET
        integration:
          type: HTTP_PROXY
          uri: http://127.0.0.1:$UPSTREAM_PORT/{proxy}
          cache_key_parameters: [method.request.path.proxy]
    stages:
      - name: prod
        cache: { size: "6.1", ttl_seconds: 300 }
EOF
    CTL=("$BIN/archwayctl" --server "http://$CP_ADDR" --token-file "$TMP/cp/admin-token")
    "${CTL[@]}" apply -f "$TMP/cached.yaml" >&2
    CACHED_URL="http://$DP_ADDR/prod/hello"
    code=000
    for ((i = 0; i < 100; i++)); do
        code="$(curl -s -o /dev/null -w '%{http_code}' -H "Host: benchcache.execute-api.localhost" "$CACHED_URL" || true)"
        [[ "$code" == 200 ]] && break
        sleep 0.1
    done
    [[ "$code" == 200 ]] || die "the cached route answered $code"
    # nginx holds the entry before the measured runs start (Archway does
    # since the request above).
    hit="$(curl -s -o /dev/null -D - "http://127.0.0.1:$CACHE_PORT/hello" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache-status" {print $2}')"
    [[ "$hit" == HIT ]] || die "nginx proxy_cache did not answer from its cache (X-Cache-Status: ${hit:-none})"
    measure nginx-cache "http://127.0.0.1:$CACHE_PORT/hello"
    MEASURE_HOST="benchcache.execute-api.localhost" measure cache-hit "$CACHED_URL"
    TARGETS+=(nginx-cache cache-hit)
fi

# A POST validated against a model (its body, and a required header), then
# reshaped by a request template for an HTTP (non-proxy) integration whose
# answer a response template rewrites: the mapping path at its most common.
# nginx proxies the same POST for the comparison.
if [[ "${MAPPED:-0}" == 1 ]]; then
    cat >"$TMP/mapped.yaml" <<EOF
apis:
  - name: benchmap
    id: benchmap
    models:
      - name: Pet
        schema: { type: object, required: [name], properties: { name: { type: string }, tag: { type: string } } }
    request_validators: [{ name: all, body: true, parameters: true }]
    routes:
      - path: /pets
        method: POST
        request_parameters: { method.request.header.x-client: true }
        request_models: { application/json: Pet }
        request_validator: all
        method_responses: [{ status_code: "200" }]
        integration:
          type: HTTP
          uri: http://127.0.0.1:$UPSTREAM_PORT/pets
          request_parameters: { integration.request.header.x-client: method.request.header.x-client }
          request_templates:
            application/json: '{"pet": {"name": "\$util.escapeJavaScript(\$input.path(''\$.name''))", "tag": "\$input.path(''\$.tag'')"}, "requestId": "\$context.requestId"}'
          integration_responses:
            - status_code: "200"
              response_templates:
                application/json: '{"ok": true, "stage": "\$context.stage", "upstream": "\$util.escapeJavaScript(\$input.body)"}'
    stages:
      - name: prod
EOF
    CTL=("$BIN/archwayctl" --server "http://$CP_ADDR" --token-file "$TMP/cp/admin-token")
    "${CTL[@]}" apply -f "$TMP/mapped.yaml" >&2
    printf '%s\n' 'wrk.method = "POST"' \
        'wrk.body = "{\"name\": \"rex\", \"tag\": \"dog\"}"' \
        'wrk.headers["Content-Type"] = "application/json"' >"$TMP/post.lua"
    MAPPED_URL="http://$DP_ADDR/prod/pets"
    code=000
    for ((i = 0; i < 100; i++)); do
        code="$(curl -s -o "$TMP/mapped.out" -w '%{http_code}' -H "Host: benchmap.execute-api.localhost" \
            -H "x-client: bench" -H "Content-Type: application/json" -d '{"name": "rex", "tag": "dog"}' "$MAPPED_URL" || true)"
        [[ "$code" == 200 ]] && break
        sleep 0.1
    done
    [[ "$code" == 200 ]] || die "the mapped route answered $code: $(cat "$TMP/mapped.out" 2>/dev/null)"
    grep -q '"ok": true' "$TMP/mapped.out" || die "the mapped route's answer is not the response template's: $(cat "$TMP/mapped.out")"
    # A body the model refuses must be refused, or the run measures no validation.
    code="$(curl -s -o /dev/null -w '%{http_code}' -H "Host: benchmap.execute-api.localhost" \
        -H "x-client: bench" -H "Content-Type: application/json" -d '{"tag": "dog"}' "$MAPPED_URL" || true)"
    [[ "$code" == 400 ]] || die "the mapped route answered $code to a body its model refuses"
    MEASURE_SCRIPT="$TMP/post.lua" measure nginx-post "http://127.0.0.1:$PROXY_PORT/pets"
    MEASURE_HOST="benchmap.execute-api.localhost" MEASURE_HEADER="x-client: bench" MEASURE_SCRIPT="$TMP/post.lua" \
        measure mapped "$MAPPED_URL"
    TARGETS+=(nginx-post mapped)
fi

# ---------------------------------------------------------------- report

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo
echo "wrk: $DURATION, $CONNECTIONS connections, $THREADS thread(s), core $LOAD_CORE; proxy on core $PROXY_CORE"
printf '%-9s %11s %10s %10s %9s %10s %s\n' target "req/s" "p50(ms)" "p99(ms)" "vs nginx" "non-2xx" "socket errors"
for t in "${TARGETS[@]}"; do
    printf '%-9s %11.0f %10.3f %10.3f %9s %10s %s\n' "$t" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" \
        "$(ratio "${RPS[$t]}" "${RPS[nginx]}")" "${NON2XX[$t]}" "${SOCKERR[$t]}"
done

# Anything Archway logged at warn or above during the run (e.g. failed
# integrations) is a sign of trouble even when wrk counted no errors.
DP_WARNINGS="$(grep -c -E 'WARN|ERROR' "$TMP/data-plane.log" || true)"
echo "archway-data-plane warnings/errors logged: $DP_WARNINGS"
if [[ "$DP_WARNINGS" != 0 ]]; then
    grep -E 'WARN|ERROR' "$TMP/data-plane.log" | sort | uniq -c | sort -rn | head -n 5
fi

if [[ "${MAPPED:-0}" == 1 ]]; then
    echo "validated + mapped POST vs nginx proxying the POST: $(ratio "${RPS[mapped]}" "${RPS[nginx-post]}")x req/s"
fi

if [[ "${CACHE:-0}" == 1 ]]; then
    echo "stage cache hit vs nginx proxy_cache hit: $(ratio "${RPS[cache-hit]}" "${RPS[nginx-cache]}")x req/s"
fi

if [[ "${TELEMETRY:-0}" == 1 ]]; then
    echo "telemetry cost: metrics $(awk -v on="${RPS[archway]}" -v off="${RPS[no-telem]}" 'BEGIN { printf "%.1f%%", (off - on) / off * 100 }'), metrics + traces at 1% $(awk -v on="${RPS[traced1%]}" -v off="${RPS[no-telem]}" 'BEGIN { printf "%.1f%%", (off - on) / off * 100 }') (of req/s with telemetry off)"
fi

if [[ -n "$OUT" ]]; then
    for t in "${TARGETS[@]}"; do
        # "connect 0, read 0, write 0, timeout 0" -> {"connect":0,"read":0,...}
        sock_json="$(awk -F', ' '{ printf "{"; for (i = 1; i <= NF; i++) { split($i, kv, " "); printf "%s\"%s\":%s", (i > 1 ? "," : ""), kv[1], kv[2] }; printf "}" }' <<<"${SOCKERR[$t]}")"
        printf '{"target":"%s","rps":%s,"p50_ms":%s,"p99_ms":%s,"vs_nginx":%s,"requests":%s,"non_2xx_3xx":%s,"socket_errors":%s,"duration":"%s","connections":%s,"threads":%s}\n' \
            "$t" "${RPS[$t]}" "${P50[$t]}" "${P99[$t]}" "$(ratio "${RPS[$t]}" "${RPS[nginx]}")" \
            "${REQS[$t]}" "${NON2XX[$t]}" "$sock_json" "$DURATION" "$CONNECTIONS" "$THREADS"
    done >"$OUT"
    echo "results written to $OUT"
fi

# Shared by perf/compare.sh and perf/flamegraph.sh (sourced, not run): ports, the fast
# backend, the bench gateway config and its 1M revocations, test tokens, answer checks.
# Everything binds 127.0.0.1; every wait is bounded. The caller sets `set -euo pipefail`, DIR
# (a scratch directory it removes) and PIDS (an array its EXIT trap kills).

# The bench config, its JWK set (the HS256 secret is its `k`; perf/peers/haproxy-jwt.cfg holds
# the same secret as text), its RPC API key, the protected path and the claims loadtest signs.
BENCH_CONFIG=perf/peers/bloomgate-bench.json
BENCH_JWK=perf/peers/bench-jwk.json
BENCH_API_KEY=bench-api-key
BENCH_PATH=/protected
BENCH_CLAIMS='{"sub":"bench-user"}'
# The backend port written in the bench config (replaced by the backend's real port).
BENCH_BACKEND_IN_CONFIG=18490
TARGET_DIR=${CARGO_TARGET_DIR:-target}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT [PID]: until 127.0.0.1:PORT accepts (10 s at most); fails early if PID died.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
      echo "the process meant to listen on $1 exited" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "port $1 never opened" >&2
  return 1
}

# start_backend CPU [nginx|hello]: nginx `return 200` (or loadtest's `hello_server` example,
# built beforehand) pinned to CPU, on BACKEND_PORT (set here).
start_backend() {
  BACKEND_PORT=$(free_port)
  if [ "${2:-nginx}" = hello ]; then
    taskset -c "$1" "$TARGET_DIR/release/examples/hello_server" "$BACKEND_PORT" "$1" 2>/dev/null &
    PIDS+=($!)
    wait_port "$BACKEND_PORT" "$!"
    return
  fi
  sed "s|@PORT@|$BACKEND_PORT|; s|@DIR@|$DIR|g" perf/peers/nginx-backend.conf > "$DIR/backend.conf"
  taskset -c "$1" nginx -c "$DIR/backend.conf" -p "$DIR" &
  PIDS+=($!)
  wait_port "$BACKEND_PORT" "$!"
}

# gen_revocations N: DIR/revoked.keys (`jti-UUID` per line: the filter's `k-v` keys, for
# `bloomgate rpc add-batch`), DIR/revoked.map (`UUID 1`: HAProxy's map), DIR/revoked.jti (the
# first revoked jti, for the checks). Deterministic (seeded UUIDv4s).
gen_revocations() {
  python3 - "$1" "$DIR" <<'PY'
import random, sys, uuid
n, d = int(sys.argv[1]), sys.argv[2]
rng = random.Random(20261123)
with open(f"{d}/revoked.keys", "w") as keys, open(f"{d}/revoked.map", "w") as hmap:
    for i in range(n):
        u = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        keys.write(f"jti-{u}\n")
        hmap.write(f"{u} 1\n")
        if i == 0:
            open(f"{d}/revoked.jti", "w").write(u)
PY
}

# bench_config BACKEND_PORT GATEWAY_PORT RPC_PORT -> DIR/bloomgate.json: the bench config with
# the real backend port and an absolute JWK path (ports also go on the command line).
bench_config() {
  local jwk
  jwk=$(realpath "$BENCH_JWK")
  sed "s|127.0.0.1:$BENCH_BACKEND_IN_CONFIG|127.0.0.1:$1|; s|\"bench-jwk.json\"|\"$jwk\"|; s|\"port\": 18480|\"port\": $2|; s|\"port\": 18481|\"port\": $3|" \
    "$BENCH_CONFIG" > "$DIR/bloomgate.json"
}

# fill_revocations BLOOMGATE_BINARY RPC_PORT: DIR/revoked.keys into the running gateway's
# filter through its RPC port.
fill_revocations() {
  timeout 120 "$1" rpc --to "127.0.0.1:$2" --api-key "$BENCH_API_KEY" \
    add-batch "$DIR/revoked.keys" >&2
}

# mint KIND -> an HS256 token for the checks: valid, revoked (the first revoked jti), expired
# (exp an hour ago), badsig (one signature bit flipped).
mint() {
  python3 - "$1" "$BENCH_JWK" "$DIR/revoked.jti" <<'PY'
import base64, hashlib, hmac, json, sys, time
kind, jwk, revoked = sys.argv[1], sys.argv[2], sys.argv[3]
key = json.load(open(jwk))["keys"][0]
secret = base64.urlsafe_b64decode(key["k"] + "=" * (-len(key["k"]) % 4))
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
now = int(time.time())
claims = {"sub": "bench-user", "jti": f"check-{kind}", "iat": now - 10, "exp": now + 3600}
if kind == "revoked":
    claims["jti"] = open(revoked).read().strip()
if kind == "expired":
    claims["iat"], claims["exp"] = now - 7200, now - 3600
head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key["kid"]}).encode())
body = b64(json.dumps(claims).encode())
sig = bytearray(hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest())
if kind == "badsig":
    sig[0] ^= 1
print(f"{head}.{body}.{b64(bytes(sig))}")
PY
}

# expect NAME PORT CODE [TOKEN]: one GET of BENCH_PATH must answer CODE.
expect() {
  local code args=(-s -o /dev/null -w '%{http_code}' --max-time 5)
  [ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
  code=$(curl "${args[@]}" "http://127.0.0.1:$2$BENCH_PATH" || true)
  if [ "$code" != "$3" ]; then
    echo "check failed: $1 answered $code, expected $3" >&2
    return 1
  fi
}

# check_jwt_gateway NAME PORT: valid 200; revoked, expired, bad signature, no token 401.
check_jwt_gateway() {
  expect "$1 (valid token)" "$2" 200 "$(mint valid)"
  expect "$1 (revoked token)" "$2" 401 "$(mint revoked)"
  expect "$1 (expired token)" "$2" 401 "$(mint expired)"
  expect "$1 (bad signature)" "$2" 401 "$(mint badsig)"
  expect "$1 (no token)" "$2" 401
  echo "check: $1 answers valid 200, revoked/expired/badsig/none 401" >&2
}

# cpu_ticks PID: user+system clock ticks of PID and its children (nginx's worker).
cpu_ticks() {
  local total=0 p rest
  for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
    [ -r "/proc/$p/stat" ] || continue
    rest=$(sed 's/^.*) //' "/proc/$p/stat")
    # After the command name: field 12 is utime, 13 stime (stat fields 14 and 15).
    total=$((total + $(echo "$rest" | awk '{print $12 + $13}')))
  done
  echo "$total"
}

# start_bench_gateway BINARY CPUS: the bench config (or CONFIG_FILE when set, as is) served by
# BINARY with one data core under `taskset -c CPUS`, on GATEWAY_PORT, its RPC on RPC_PORT (both
# set here), BLOOMGATE_PID set; with the bench config, DIR/revoked.keys is revoked through RPC.
# A PREFIX array, when set, goes before the command (perf record ...).
start_bench_gateway() {
  GATEWAY_PORT=$(free_port) RPC_PORT=$(free_port)
  local config=$DIR/bloomgate.json
  if [ -n "${CONFIG_FILE:-}" ]; then
    sed "s|@BACKEND@|$BACKEND_PORT|g" "$CONFIG_FILE" > "$DIR/custom.json"
    # Relative paths in the file resolve against its own directory: keep it where it is when
    # it has no placeholder.
    if cmp -s "$CONFIG_FILE" "$DIR/custom.json"; then config=$CONFIG_FILE; else config=$DIR/custom.json; fi
  else
    bench_config "$BACKEND_PORT" "$GATEWAY_PORT" "$RPC_PORT"
  fi
  taskset -c "$2" "$1" run -c "$config" --cores 1 --port "$GATEWAY_PORT" --rpc-port "$RPC_PORT" \
    2>"$DIR/bloomgate.log" &
  BLOOMGATE_PID=$!
  PIDS+=("$BLOOMGATE_PID")
  wait_port "$GATEWAY_PORT" "$BLOOMGATE_PID" || { cat "$DIR/bloomgate.log" >&2; return 1; }
  if [ -z "${CONFIG_FILE:-}" ]; then
    wait_port "$RPC_PORT" "$BLOOMGATE_PID"
    fill_revocations "$1" "$RPC_PORT"
  fi
}

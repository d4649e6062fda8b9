#!/usr/bin/env bash
# Self-hosting beyond one core: N `streamlit run app.py` processes behind nginx
# (Debian's nginx-light) with sticky sessions, all on localhost. Starts them,
# checks health through the proxy, checks stickiness (same cookie -> same
# process), optionally runs the load test through the proxy, then stops
# everything it started (by PID) and removes its temporary files.
# Usage: scripts/multiproc_nginx.sh [N=2] [--load]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${1:-2}"; LOAD="${2:-}"
PREFIX="$(mktemp -d /tmp/multilevel-nginx.XXXXXX)"
PIDS=()
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cleanup() {
  if [[ -f "$PREFIX/nginx.pid" ]]; then kill "$(cat "$PREFIX/nginx.pid")" 2>/dev/null || true; fi
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$PREFIX"
}
trap cleanup EXIT
command -v nginx >/dev/null || { echo "needs nginx: apt-get install nginx-light"; exit 1; }
mkdir -p "$PREFIX"/{body,proxy,fastcgi,uwsgi,scgi}

BACKENDS=""
PORTS=()
for i in $(seq 1 "$N"); do
  port="$(free_port)"; PORTS+=("$port")
  (cd "$ROOT" && exec python3 -m streamlit run app.py --server.headless true \
     --server.address 127.0.0.1 --server.port "$port" >"$PREFIX/streamlit-$i.log" 2>&1) &
  PIDS+=("$!")
  BACKENDS+="        server 127.0.0.1:$port;"$'\n'
done
PORT="$(free_port)"
sed -e "s|@PORT@|$PORT|" -e "s|@PREFIX@|$PREFIX|g" "$ROOT/deploy/nginx-sticky.conf.template" \
  | awk -v b="$BACKENDS" '{ if ($0 == "@BACKENDS@") printf "%s", b; else print }' >"$PREFIX/nginx.conf"
nginx -t -c "$PREFIX/nginx.conf" -p "$PREFIX" 2>&1 | tail -1
nginx -c "$PREFIX/nginx.conf" -p "$PREFIX"

for port in "${PORTS[@]}"; do
  for _ in $(seq 1 240); do
    [[ "$(curl -fsS "http://127.0.0.1:$port/_stcore/health" 2>/dev/null)" == "ok" ]] && break
    sleep 0.5
  done
done
echo "backends: ${PORTS[*]}  proxy: 127.0.0.1:$PORT"
echo "health through the proxy: $(curl -fsS "http://127.0.0.1:$PORT/_stcore/health")"

# Stickiness: a browser keeps its cookie, so all its requests reach one backend.
# The backends answer identically, so for this check nginx reports its choice in
# a debug header (X-Upstream), added to this temporary config only.
sed -i 's|add_header Set-Cookie|add_header X-Upstream $upstream_addr always;\n            add_header Set-Cookie|' "$PREFIX/nginx.conf"
nginx -s reload -c "$PREFIX/nginx.conf" -p "$PREFIX"; sleep 1
declare -A SEEN=()
for k in $(seq 1 12); do
  jar="$PREFIX/jar-$k"
  first="$(curl -fsS -c "$jar" -D - -o /dev/null "http://127.0.0.1:$PORT/_stcore/health" | tr -d '\r' | awk -F': ' '/^X-Upstream/{print $2}')"
  for _ in 1 2 3; do
    again="$(curl -fsS -b "$jar" -D - -o /dev/null "http://127.0.0.1:$PORT/_stcore/health" | tr -d '\r' | awk -F': ' '/^X-Upstream/{print $2}')"
    [[ "$again" == "$first" ]] || { echo "NOT sticky: $first then $again"; exit 1; }
  done
  SEEN[$first]=1
done
echo "sticky: 12 browsers x 4 requests each stayed on their backend; backends used: ${!SEEN[*]}"
[[ "${#SEEN[@]}" -ge 2 || "$N" -lt 2 ]] || { echo "only one backend was used"; exit 1; }

if [[ "$LOAD" == "--load" ]]; then
  # Warm every process first (imports and the first fit, ~2 s each), as the single-process
  # load test's first scenario does for its one process; then the class, through nginx.
  for port in "${PORTS[@]}"; do
    python3 "$ROOT/benchmarks/load_test.py" --url "http://127.0.0.1:$port" --scenario one \
      --max-seconds 120 | tail -n +4 | sed "s/^| one /| warm-up :$port /"
  done
  PID_ARGS=(); for pid in "${PIDS[@]}"; do PID_ARGS+=(--pid "$pid"); done
  python3 "$ROOT/benchmarks/load_test.py" --url "http://127.0.0.1:$PORT" --scenario all \
    --max-seconds 900 "${PID_ARGS[@]}"
fi
echo "MULTI-PROCESS CHECK PASSED"

#!/usr/bin/env bash
# Check the Community-Cloud-style deployment on this machine:
#   1. a fresh virtual environment gets requirements.txt and nothing else
#      (as Cloud installs; no `pip install -e .`, no test extras);
#   2. a clean copy of the repository's files (git ls-files) is served with
#      `streamlit run app.py` on a free localhost port;
#   3. /_stcore/health must answer "ok", and a real page run must finish without
#      an exception (the Model page with ?random_slope=true and a toggle, through
#      benchmarks/load_test.py's WebSocket client, one session);
#   4. the server is stopped and the copy removed (the venv is kept for reruns
#      unless KEEP_VENV=0).
# Usage: scripts/check_deploy.sh   (VENV=/path to reuse a venv; PYTHON=python3.11)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-/tmp/multilevel-explorer-deploy-venv}"
WORK="$(mktemp -d /tmp/multilevel-explorer-deploy.XXXXXX)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  if [[ "${KEEP_VENV:-1}" == "0" ]]; then rm -rf "$VENV"; fi
}
trap cleanup EXIT

echo "== fresh venv at $VENV from requirements.txt only"
if [[ ! -x "$VENV/bin/python" ]]; then "$PYTHON" -m venv "$VENV"; fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$ROOT/requirements.txt"
"$VENV/bin/python" -m pip freeze | grep -i -E "^(streamlit|pandas|numpy|scipy|nlopt)=="

echo "== clean copy of the tracked files in $WORK"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$WORK")
test -f "$WORK/.streamlit/config.toml"

PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
echo "== streamlit run app.py on 127.0.0.1:$PORT"
(cd "$WORK" && exec "$VENV/bin/streamlit" run app.py --server.headless true \
   --server.address 127.0.0.1 --server.port "$PORT" >"$WORK/server.log" 2>&1) &
SERVER_PID=$!

for _ in $(seq 1 120); do
  if [[ "$(curl -fsS "http://127.0.0.1:$PORT/_stcore/health" 2>/dev/null)" == "ok" ]]; then break; fi
  sleep 0.5
done
HEALTH="$(curl -fsS "http://127.0.0.1:$PORT/_stcore/health")"
[[ "$HEALTH" == "ok" ]] || { echo "health check failed: $HEALTH"; cat "$WORK/server.log"; exit 1; }
echo "health: $HEALTH"

echo "== one page run over the WebSocket (Model page, then a toggle)"
OUT="$("$PYTHON" "$ROOT/benchmarks/load_test.py" --url "http://127.0.0.1:$PORT" \
        --scenario one --timeout 120 --max-seconds 240)"
echo "$OUT"
echo "$OUT" | grep -E '^\| one \| 1 \| [0-9.]+ / [0-9.]+ \| [0-9.]+ / [0-9.]+ \| 0 \|' >/dev/null \
  || { echo "page run failed"; tail -50 "$WORK/server.log"; exit 1; }
if grep -q "Traceback" "$WORK/server.log"; then echo "server logged a traceback"; cat "$WORK/server.log"; exit 1; fi
echo "DEPLOY CHECK PASSED"

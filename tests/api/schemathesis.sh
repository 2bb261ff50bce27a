#!/usr/bin/env bash
# Issue 12 item 12: the OpenAPI document tells the truth. Starts a real `rightful serve` on a free
# loopback port with a throwaway data directory and the demo site's stores in SQLite files, then
# runs schemathesis (https://schemathesis.readthedocs.io) against its /openapi.json with every
# check: once without credentials, once with a DPO's token. Any failure exits non-zero.
#
# Usage: tests/api/schemathesis.sh            (from the repository root; `make api-check`)
# Environment:
#   API_CHECK_MAX_EXAMPLES  test cases per operation and phase (default 25)
#   API_CHECK_MAX_TIME      time budget of each of the two runs, in seconds (default 90)
#   API_CHECK_SEED          schemathesis seed, to replay a run (default: random, printed)
#   API_CHECK_KEEP=1        keep the throwaway directory (server log, reports) for inspection
set -euo pipefail
cd "$(dirname "$0")/../.."

MAX_EXAMPLES=${API_CHECK_MAX_EXAMPLES:-25}
MAX_TIME=${API_CHECK_MAX_TIME:-90}
SEED=${API_CHECK_SEED:-$RANDOM$RANDOM}

# Every check schemathesis has runs (its default; --checks all on the command line would override
# the per-operation exceptions of tests/api/schemathesis.toml, each of which says why).
# schemathesis 4.32 or later 4.x, from PyPI, in the python3 that runs it.
python3 -c 'import sys, schemathesis as s; v = tuple(int(x) for x in s.__version__.split(".")[:2]); sys.exit(0 if (4, 32) <= v < (5, 0) else 1)' 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.32,<5'
st() { python3 -m schemathesis.cli "$@"; }

# The same build as `make test` and `make run` (same targets, same features): no rebuild.
cargo build --quiet --workspace --all-targets
bin=./target/debug/rightful

work=$(mktemp -d "${TMPDIR:-/tmp}/rightful-api-check.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${API_CHECK_KEEP:-}" = 1 ]; then echo "api-check: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The demo site's three stores in SQLite files of the throwaway directory, and the engine state in
# its own data directory; the server's mail goes to the file outbox there.
export RIGHTFUL_STORE_SHOP_URL="sqlite://$work/shop.sqlite3"
export RIGHTFUL_STORE_CMS_URL="sqlite://$work/cms.sqlite3"
export RIGHTFUL_STORE_LOGS_URL="sqlite://$work/logs.sqlite3"
export RIGHTFUL_STORAGE__DATA_DIR="$work/data"
export RIGHTFUL_MAIL__TRANSPORT=outbox
export RIGHTFUL_LOG__FORMAT=text
# The fuzzer sends thousands of requests from one address: the per-client and per-address limits
# are lifted so that it reaches the validation behind them (the limits themselves, and their 429
# with Retry-After, are tested in tests/e2e/security.rs).
export RIGHTFUL_LIMITS__INTAKE_PER_IP='{ max = 1000000, per_secs = 1 }'
export RIGHTFUL_LIMITS__INTAKE_PER_ADDRESS='{ max = 1000000, per_secs = 1 }'
export RIGHTFUL_LIMITS__VERIFY_PER_IP='{ max = 1000000, per_secs = 1 }'
export RIGHTFUL_LIMITS__TOKEN_PER_IP='{ max = 1000000, per_secs = 1 }'
export RIGHTFUL_LIMITS__SIGNIN_PER_IP='{ max = 1000000, per_secs = 1 }'
export RIGHTFUL_LIMITS__MAIL_PER_ADDRESS_PER_DAY=1000000
$bin demo seed --scale 50 --if-missing >/dev/null
password=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
RIGHTFUL_STAFF_PASSWORD="$password" $bin staff add api_check_dpo --role dpo >/dev/null

# Port 0: the system picks a free port; the server prints it.
$bin serve --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
base=
for _ in $(seq 100); do
  base=$(sed -n 's|^Rightful is listening on \(http://[0-9.:]*\)$|\1|p' "$work/server.out")
  [ -n "$base" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "api-check: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "api-check: the server did not print its address" >&2; exit 1; }
echo "api-check: server at $base, seed $SEED, $MAX_EXAMPLES examples, ${MAX_TIME}s per run"

# The password goes on standard input, not on a command line other users could read.
token=$(printf '{"username":"api_check_dpo","password":"%s"}' "$password" \
  | curl -sS --fail -H 'Content-Type: application/json' --data-binary @- "$base/v1/auth/token" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# A few requests and a hold, so that the queue, the audit trail and the holds answer with real
# bodies for the response-schema checks (the generated ids name nothing).
for t in access erasure portability; do
  curl -sS --fail -o /dev/null -H 'Content-Type: application/json' \
    -d "{\"type\":\"$t\",\"email\":\"api-check-$t@example.com\",\"last_name\":\"Check\",\"first_name\":\"Api\"}" \
    "$base/v1/requests"
done
curl -sS --fail -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
  -d '{"identity":"email","value":"api-check-hold@example.com","reason":"api-check"}' "$base/v1/holds"

# schemathesis runs inside the throwaway directory: its cache of failing cases (which may quote
# the token) stays out of the repository and goes with the rest.
repo=$PWD
run() {
  local name=$1; shift
  echo "api-check: schemathesis, $name"
  (cd "$work" && st --config-file "$repo/tests/api/schemathesis.toml" run "$base/openapi.json" \
    --max-examples "$MAX_EXAMPLES" --max-time "$MAX_TIME" --seed "$SEED" \
    --workers 2 --request-timeout 10 --no-color \
    --generation-database none \
    --report junit --report-dir "$work/report-$name" \
    "$@")
}

status=0
run anonymous || status=1
run dpo -H "Authorization: Bearer $token" || status=1

# The server must still be up: no check may have crashed it.
kill -0 "$server_pid" 2>/dev/null || { echo "api-check: the server died" >&2; status=1; }
# A panic, or an error Rightful logged for a 500 or 503 (actix's own notes about unparseable
# requests, which it answers 400, are not ours).
ours='panicked\|ERROR.*request failed\|ERROR.*DRP call failed'
if grep -q "$ours" "$work/server.log"; then
  echo "api-check: the server logged errors:" >&2
  grep "$ours" "$work/server.log" | head -20 >&2
  status=1
fi
[ "$status" = 0 ] && echo "api-check: 0 failures" || echo "api-check: FAILED (seed $SEED)" >&2
exit "$status"

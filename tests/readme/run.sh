#!/usr/bin/env bash
# Issue 13 item 3: the README's commands, run as printed after `make run`. Starts `make run` in the
# repository (a ./data of a developer is moved aside and put back), runs every ```sh block that
# follows a `<!-- readme-test -->` line, in order, as one bash script with -euo pipefail, then stops
# the server. Exit status: that of the commands.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
log=$(mktemp)
script=$(mktemp)
saved=""
server=""
cleanup() {
  if [ -n "$server" ]; then kill -- -"$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$root/data"
  if [ -n "$saved" ]; then mv "$saved" "$root/data"; fi
  rm -f "$script"
}
trap cleanup EXIT
if curl -s -o /dev/null http://127.0.0.1:8080/health; then
  echo "readme-check: something already listens on 127.0.0.1:8080 (the README's address); stop it first" >&2
  exit 1
fi
if [ -e data ]; then
  saved="$root/data.readme-saved.$$"
  echo "readme-check: ./data is moved aside to $saved while the check runs"
  mv data "$saved"
fi
# The blocks, in order.
python3 - "$root/README.md" >"$script" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"<!-- readme-test -->\n```sh\n(.*?)```", text, re.S)
if not blocks:
    sys.exit("no readme-test block")
print("set -euo pipefail")
for b in blocks:
    print(b)
PY
echo "readme-check: $(grep -c '' "$script") lines from README.md; starting make run"
setsid make run >"$log" 2>&1 &
server=$!
for _ in $(seq 900); do
  grep -q "Rightful is listening" "$log" && break
  kill -0 "$server" 2>/dev/null || { echo "readme-check: make run stopped" >&2; cat "$log" >&2; exit 1; }
  sleep 1
done
grep -q "Rightful is listening" "$log" || { echo "readme-check: make run did not start" >&2; cat "$log" >&2; exit 1; }
grep -E "schedule:|workers:" "$log" || true
if ! bash "$script"; then
  echo "readme-check: a README command failed; the server said:" >&2
  tail -30 "$log" >&2
  exit 1
fi
echo "readme-check: every README command succeeded"

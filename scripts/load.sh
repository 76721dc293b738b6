#!/usr/bin/env bash
# Load test: h2load (Debian's nghttp2-client) against the example server, with and without the
# misdirect layer, in the same run. 100,000 requests over 50 HTTP/2 connections: 80,000 for
# hosts the connection may serve (a.example.test on its own connection, b.example.test coalesced
# onto a's) and 20,000 misdirected (c.other.test, which a's certificate does not cover).
#
#   bash scripts/load.sh            # ROUNDS=2 by default: with/without alternate, twice
#
# Prints per round: wall time, requests per second, status-code counts, failures; then the
# layer's cost as the ratio of requests per second with and without it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-2}
command -v h2load >/dev/null || { apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null; }
cargo build -q --release --features rustls,tower,serde,reload,quinn --example server
BIN=${CARGO_TARGET_DIR:-target}/release/examples/server
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT

start() { # $1 port, $2 extra flag
  "$BIN" --port "$1" --out "$WORK/certs-$1" --quiet $2 >"$WORK/server-$1.log" 2>&1 &
  for _ in $(seq 50); do grep -q listening "$WORK/server-$1.log" 2>/dev/null && return; sleep 0.1; done
  echo "server on $1 did not start" >&2; cat "$WORK/server-$1.log" >&2; exit 1
}
ON=18601 OFF=18602
start $ON ""
start $OFF --no-layer

run() { # $1 port $2 label -> prints a summary line, writes $WORK/<label>.rps
  local p=$1 label=$2 t0 t1
  t0=$(date +%s.%N)
  h2load -t1 -c40 -m10 -n80000 --connect-to=127.0.0.1:$p \
    -H ":authority: b.example.test:$p" "https://a.example.test:$p/" >"$WORK/good.out" 2>&1 &
  local good=$!
  h2load -t1 -c10 -m10 -n20000 --connect-to=127.0.0.1:$p \
    -H ":authority: c.other.test:$p" "https://a.example.test:$p/" >"$WORK/bad.out" 2>&1 &
  local bad=$!
  wait $good $bad
  t1=$(date +%s.%N)
  python3 - "$WORK/good.out" "$WORK/bad.out" "$t0" "$t1" "$label" "$WORK/$label.rps" <<'PY'
import re, sys
good, bad, t0, t1, label, out = sys.argv[1:]
wall = float(t1) - float(t0)
def stats(path):
    text = open(path).read()
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if not req or not codes:
        sys.exit(f"h2load output not understood:\n{text}")
    return [int(x) for x in req.groups()], [int(x) for x in codes.groups()]
(g, gc), (b, bc) = stats(good), stats(bad)
done = g[2] + b[2]
rps = done / wall
print(f"{label:>10}: {done} requests in {wall:.2f} s = {rps:,.0f} req/s; "
      f"coalesced host: {gc[0]} 2xx, {gc[2]} 4xx, {g[4]} failed, {g[5]} errored; "
      f"misdirected host: {bc[0]} 2xx, {bc[2]} 4xx, {b[4]} failed, {b[5]} errored")
open(out, "a").write(f"{rps}\n")
# With the layer, every misdirected request is a 4xx (h2load counts those as "failed") and
# nothing else fails; without it, everything is a 2xx.
want_bad_4xx = 20000 if label == "layer" else 0
problems = []
if (gc[0], g[4], g[5], g[6]) != (80000, 0, 0, 0):
    problems.append("coalesced host: not all 80000 answered 2xx")
if (bc[2], b[4] - bc[2], b[5], b[6]) != (want_bad_4xx, 0, 0, 0):
    problems.append(f"misdirected host: expected {want_bad_4xx} 4xx and no other failure")
if problems:
    sys.exit("CHECK FAILED: " + "; ".join(problems))
PY
}

for round in $(seq "$ROUNDS"); do
  run $ON "layer"
  run $OFF "no-layer"
done
python3 - "$WORK/layer.rps" "$WORK/no-layer.rps" <<'PY'
import statistics, sys
on = [float(x) for x in open(sys.argv[1])]
off = [float(x) for x in open(sys.argv[2])]
m_on, m_off = statistics.median(on), statistics.median(off)
print(f"median req/s with the layer {m_on:,.0f}, without {m_off:,.0f}: ratio {m_on / m_off:.3f}")
PY

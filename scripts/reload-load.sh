#!/usr/bin/env bash
# Reload under load: h2load (Debian's nghttp2-client) through the example server while it
# reloads 20 times, one SIGHUP every 100 ms, alternating two configurations:
#   A: the example's own (virtual host b serves b.example.test)
#   B: the same without virtual host b (b.example.test is then a 421: no virtual host)
# For 3 s, h2load sends b.example.test coalesced onto a's connections (20 connections, 10
# streams each) and a.example.test (10 connections). In timing mode h2load opens a new
# connection when the server drains one (GOAWAY), so the clients follow the generations.
#
#   bash scripts/reload-load.sh
#
# Checks, from h2load's counts and the server's request log (one line per answer with the
# generation its connection was made on): no request errored or failed but the designed
# refusals (b on a generation of configuration B); every answer is the one its connection's
# generation gives (odd generations are A, even are B); and the server reloaded 20 times.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v h2load >/dev/null || { apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null; }
cargo build -q --release --features rustls,tower,serde,reload,quinn --example server
BIN=${CARGO_TARGET_DIR:-target}/release/examples/server
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
PORT=${PORT:-18611}

"$BIN" --port "$PORT" --out "$WORK/certs" --grace 1000 --log-requests >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do grep -q listening "$WORK/server.log" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/server.log" || { cat "$WORK/server.log" >&2; exit 1; }
CONFIG_A="$WORK/certs/server.toml.a"
CONFIG_B="$WORK/certs/server.toml.b"
cp "$WORK/certs/server.toml" "$CONFIG_A"
python3 - "$CONFIG_A" "$CONFIG_B" <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index('[[vhosts]]\nname = "b"')
end = text.index("[[vhosts]]", start + 1)
open(sys.argv[2], "w").write(text[:start] + text[end:])
PY

reloads() {
  sleep 0.2
  for i in $(seq 20); do
    if [ $((i % 2)) = 1 ]; then cp "$CONFIG_B" "$WORK/certs/server.toml"; else cp "$CONFIG_A" "$WORK/certs/server.toml"; fi
    kill -HUP "$SERVER"
    sleep 0.1
  done
}

t0=$(date +%s.%N)
reloads &
RELOADS=$!
h2load -t1 -r4 --rate-period=50ms -c240 -m4 -n24000 --connect-to=127.0.0.1:$PORT \
  -H ":authority: b.example.test:$PORT" "https://a.example.test:$PORT/" >"$WORK/b.out" 2>&1 &
B=$!
h2load -t1 -r2 --rate-period=50ms -c120 -m4 -n12000 --connect-to=127.0.0.1:$PORT \
  "https://a.example.test:$PORT/" >"$WORK/a.out" 2>&1 &
A=$!
wait $B $A $RELOADS
t1=$(date +%s.%N)
sleep 0.2
python3 - "$WORK/a.out" "$WORK/b.out" "$WORK/server.log" "$t0" "$t1" <<'PY'
import re, sys
a_out, b_out, log, t0, t1 = sys.argv[1:]
def stats(path):
    text = open(path).read()
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", text)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text)
    if not req or not codes:
        sys.exit(f"h2load output not understood:\n{text}")
    return dict(zip("total started done succeeded failed errored timeout".split(), map(int, req.groups()))), [int(x) for x in codes.groups()]
(a, ac), (b, bc) = stats(a_out), stats(b_out)
text = open(log).read()
reloaded = len(re.findall(r"^reloaded, generation", text, re.M))
failed_reloads = len(re.findall(r"^reload failed", text, re.M))
answers = re.findall(r"^request generation=(\d+) sni=(\S*) authority=(\S+) status=(\d+)", text, re.M)
wrong, per_generation = [], {}
for generation, sni, authority, status in answers:
    generation, status = int(generation), int(status)
    host = authority.split(":")[0]
    config_a = generation % 2 == 1
    want = 200 if (host == "a.example.test" or config_a) else 421
    per_generation[generation] = per_generation.get(generation, 0) + 1
    if status != want:
        wrong.append((generation, host, status, want))
wall = float(t1) - float(t0)
answered = ac[0] + ac[2] + bc[0] + bc[2]
queued = a["errored"] + b["errored"]
print(f"{answered} requests answered in {wall:.2f} s ({answered / wall:,.0f} req/s) across "
      f"{reloaded} reloads ({failed_reloads} failed), on {len(per_generation)} generations")
print(f"a.example.test: {ac[0]} 2xx, {ac[2]} 4xx, {ac[3]} 5xx, {a['timeout']} timeouts")
print(f"b.example.test: {bc[0]} 2xx, {bc[2]} 4xx (the designed 421s: b on configuration B), "
      f"{bc[3]} 5xx, {b['timeout']} timeouts")
print(f"answers in the server's log: {len(answers)}, inconsistent with their connection's "
      f"generation: {len(wrong)}")
print(f"requests h2load had queued on connections drained by GOAWAY, never sent or refused "
      f"unprocessed (RFC 9113 §6.8: safe to retry; h2load does not retry): {queued}")
problems = []
if reloaded != 20 or failed_reloads:
    problems.append(f"{reloaded} reloads, {failed_reloads} failed")
if ac[2] or ac[3] or bc[3] or a["timeout"] or b["timeout"]:
    problems.append("an answer other than 200 for a, 200 or 421 for b, or a timeout")
if b["failed"] - b["errored"] != bc[2] or a["failed"] != a["errored"]:
    problems.append("failures other than the designed 421s and the drained queue")
if bc[0] == 0 or bc[2] == 0:
    problems.append("b.example.test: both configurations should have answered it")
if len(answers) != answered:
    problems.append(f"{len(answers)} answers logged, {answered} received by h2load")
if wrong:
    problems.append(f"inconsistent answers, e.g. {wrong[:3]}")
if len(per_generation) < 10:
    problems.append(f"answers on only {len(per_generation)} generations: the clients did not follow")
if problems:
    sys.exit("CHECK FAILED: " + "; ".join(problems))
print("check: ok")
PY

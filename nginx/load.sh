#!/usr/bin/env bash
# Throughput of nginx with and without the misdirect module: the same server blocks (nginx/lib.sh),
# one worker each, h2load over HTTP/2 to a served host, runs alternated, medians compared.
#
#   bash nginx/load.sh                     # RUNS=2 REQUESTS=200000 by default
#
# Installs h2load (nghttp2-client) when missing. Prints requests/s of every run, each median,
# and the ratio with/without.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-2}
REQUESTS=${REQUESTS:-200000}
PORT=${PORT:-18953}
MODULE=$(bash nginx/build.sh)
command -v h2load >/dev/null || { apt-get update -qq && apt-get install -y -qq nghttp2-client >/dev/null; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=nginx/lib.sh
. nginx/lib.sh
site_files
ADMIN="ssl_client_certificate $WORK/ca.pem; ssl_verify_client on;"

start() { # $1 name $2 port $3 before http{} $4 in http{}
  mkdir -p "$WORK/$1"
  PORT=$2 conf "$3" "$4" "$ADMIN" | sed "s|$WORK/nginx.pid|$WORK/$1/nginx.pid|; s|$WORK/error.log info|$WORK/$1/error.log warn|" \
    >"$WORK/$1/nginx.conf"
  # nginx on the first core, h2load on the second: less noise than both on either.
  taskset -c 0 nginx -c "$WORK/$1/nginx.conf" >"$WORK/$1/stdout.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$2") 2>/dev/null && return
    sleep 0.1
  done
  cat "$WORK/$1/stdout.log" >&2
  exit 1
}
# The module's configuration names the port it is measured on.
# nginx closes an HTTP/2 connection after keepalive_requests (1000) requests: not here.
KEEP="keepalive_requests 100000000;"
start plain "$PORT" "" "$KEEP"
sed "s/$PORT/$((PORT + 1))/g" "$WORK/misdirect.toml" >"$WORK/misdirect-load.toml"
start module "$((PORT + 1))" "load_module $MODULE;" "$KEEP misdirect_config $WORK/misdirect-load.toml;"

cpu() { # $1 pid: its CPU time so far, in clock ticks (user + system)
  awk '{print $14 + $15}' "/proc/$1/stat"
}
rate() { # $1 port $2 nginx pid: requests per second and nginx's CPU µs per request, after
  # checking that every request got 200
  local out before after
  before=$(cpu "$2")
  out=$(taskset -c 1 h2load -n "$REQUESTS" -c 4 -m 16 -t 1 --connect-to="127.0.0.1:$1" \
    "https://a.example.test:$1/" 2>&1)
  grep -q "status codes: $REQUESTS 2xx" <<<"$out" || { echo "$out" >&2; exit 1; }
  after=$(cpu "$2")
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$REQUESTS" \
    '/^finished in/ {gsub(",", "", $4); printf "%s %.2f\n", $4, ticks / hz * 1e6 / n}' <<<"$out"
}
plain=() module=() plain_cpu=() module_cpu=()
for i in $(seq "$RUNS"); do
  read -r r c < <(rate "$PORT" "${PIDS[0]}")
  plain+=("$r") plain_cpu+=("$c")
  read -r r c < <(rate "$((PORT + 1))" "${PIDS[1]}")
  module+=("$r") module_cpu+=("$c")
  echo "run $i: nginx ${plain[-1]} req/s (${plain_cpu[-1]} µs CPU/request)," \
    "nginx + misdirect ${module[-1]} req/s (${module_cpu[-1]} µs CPU/request)"
done
python3 - "${plain[*]}" "${module[*]}" "${plain_cpu[*]}" "${module_cpu[*]}" <<'PY'
import statistics, sys
plain, module, plain_cpu, module_cpu = ([float(x) for x in a.split()] for a in sys.argv[1:])
p, m = statistics.median(plain), statistics.median(module)
pc, mc = statistics.median(plain_cpu), statistics.median(module_cpu)
print(f"median: nginx {p:.0f} req/s, nginx + misdirect {m:.0f} req/s, throughput ratio {m / p:.3f}")
print(f"median CPU per request: nginx {pc:.2f} µs, nginx + misdirect {mc:.2f} µs, ratio {pc / mc:.3f}")
PY

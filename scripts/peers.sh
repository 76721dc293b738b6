#!/usr/bin/env bash
# The probe against peers: nginx and HAProxy (Debian's packages) and the example server, each on
# loopback with the same certificates and virtual hosts, each probed with the same configuration
# file (the example's server.toml). Prints one table: every scenario, what the RFC asks (the
# crate's decision), and what each server did, with the versions.
#
#   bash scripts/peers.sh            # PORT=18443 by default: the example on PORT, nginx on
#                                    # PORT+100, HAProxy on PORT+200
#
# The virtual hosts, as in examples/server.rs:
#   a.example.test, b.example.test  certificate *.example.test, no client certificate
#   admin.example.test              certificate *.example.test, client certificate required
#   c.other.test                    certificate c.other.test
#   anything else                   the default server: certificate *.example.test, answers 421
#
# nginx: one server block per virtual host, `ssl_verify_client on` in admin's, a
# `default_server` that returns 421. HAProxy: one frontend with both certificates (crt-list),
# `ca-file` and `verify optional`, ACLs routing by Host (port stripped, lowercased) to backends
# that answer with `http-request return`; admin's backend answers 403 without a verified client
# certificate, the default backend 421. Nothing is a system service: every process runs from a
# temporary folder and is stopped at exit. Takes about a minute after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18443}
P_EX=$PORT P_NGINX=$((PORT + 100)) P_HAPROXY=$((PORT + 200)) P_NGINX_M=$((PORT + 300))

if ! command -v nginx >/dev/null || ! command -v haproxy >/dev/null; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx haproxy
fi
cargo build -q --release --features rustls,tower,serde,reload,quinn --example server
cargo build -q --release -p misdirect-probe --bin misdirect-probe
MODULE=$(bash nginx/build.sh)
TARGET=${CARGO_TARGET_DIR:-target}/release
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { # $1 port $2 name $3 log
  for _ in $(seq 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return; fi
    sleep 0.1
  done
  echo "$2 did not start on port $1:" >&2
  cat "$3" >&2
  exit 1
}

# The example server writes its certificates and server.toml into $CERTS.
CERTS=$WORK/certs
"$TARGET/examples/server" --port "$P_EX" --out "$CERTS" --quiet >"$WORK/example.log" 2>&1 &
PIDS+=($!)
wait_port "$P_EX" "the example server" "$WORK/example.log"

# nginx, one process per instance, everything under $WORK/NAME: plain nginx, and nginx with the
# misdirect module (the same server blocks; legacy offers what its policy declares, TLSv1.2 and
# TLSv1.3: the module refuses to start on a block whose TLS settings contradict its policy).
site() { # $1 port $2 name $3 certificate $4 extra directives
  cat <<EOF
  server {
    listen 127.0.0.1:$1 ssl http2;
    server_name $2;
    ssl_certificate $CERTS/$3.pem;
    ssl_certificate_key $CERTS/$3.key;
    $4
    location / { return 200 "site $2\n"; }
  }
EOF
}
nginx_conf() { # $1 name $2 port $3 lines before http $4 lines inside http $5 legacy's protocols
  local dir=$WORK/$1
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
$3
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 256; }
http {
  $4
  access_log $dir/access.log;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type text/plain;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:$2 ssl http2 default_server;
    server_name _;
    ssl_certificate $CERTS/example.pem;
    ssl_certificate_key $CERTS/example.key;
    return 421 "misdirected\n";
  }
$(site "$2" a.example.test example "")
$(site "$2" b.example.test example "")
$(site "$2" admin.example.test example "ssl_client_certificate $CERTS/ca.pem; ssl_verify_client on;")
$(site "$2" c.other.test other "")
$(site "$2" legacy.example.test example "ssl_protocols $5;")
}
EOF
  nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  PIDS+=($!)
  wait_port "$2" "nginx ($1)" "$dir/stdout.log"
}
nginx_conf nginx "$P_NGINX" "" "" "TLSv1.2"

# The module's configuration: the example's server.toml, whose TLS listener becomes nginx's
# port serving the example's origin port (the probe sends the example's authorities).
python3 - "$CERTS/server.toml" "$CERTS/nginx-misdirect.toml" "$P_EX" "$P_NGINX_M" <<'PY'
import re, sys
src, dst, origin, local = sys.argv[1:]
text = open(src).read()
text, n = re.subn(r'(name = "tls"\ntls = true\n)port = %s\n' % origin,
                  r'\g<1>port = %s\norigin_ports = [%s]\n' % (local, origin), text)
assert n == 1, "the tls listener of server.toml was not found"
open(dst, "w").write(text)
PY
nginx_conf nginx-misdirect "$P_NGINX_M" "load_module $MODULE;" \
  "misdirect_config $CERTS/nginx-misdirect.toml;" "TLSv1.2 TLSv1.3"

# HAProxy, one process in the foreground.
mkdir -p "$WORK/haproxy"
cat "$CERTS/example.pem" "$CERTS/example.key" >"$WORK/haproxy/example.pem"
cat "$CERTS/other.pem" "$CERTS/other.key" >"$WORK/haproxy/other.pem"
printf '%s\n' "$WORK/haproxy/example.pem" "$WORK/haproxy/other.pem" >"$WORK/haproxy/crt-list.txt"
cat >"$WORK/haproxy/haproxy.cfg" <<EOF
global
  maxconn 256
  nbthread 1

defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s

frontend tls
  bind 127.0.0.1:$P_HAPROXY ssl crt-list $WORK/haproxy/crt-list.txt ca-file $CERTS/ca.pem verify optional alpn h2,http/1.1
  acl host_a req.hdr(host),field(1,:),lower -m str a.example.test
  acl host_b req.hdr(host),field(1,:),lower -m str b.example.test
  acl host_admin req.hdr(host),field(1,:),lower -m str admin.example.test
  acl host_c req.hdr(host),field(1,:),lower -m str c.other.test
  acl host_legacy req.hdr(host),field(1,:),lower -m str legacy.example.test
  use_backend site_a if host_a
  use_backend site_b if host_b
  use_backend site_admin if host_admin
  use_backend site_c if host_c
  use_backend site_legacy if host_legacy
  default_backend unknown

backend site_a
  http-request return status 200 content-type text/plain string "site a"
backend site_b
  http-request return status 200 content-type text/plain string "site b"
backend site_admin
  http-request return status 403 content-type text/plain string "client certificate required" unless { ssl_c_used } { ssl_c_verify 0 }
  http-request return status 200 content-type text/plain string "site admin"
backend site_c
  http-request return status 200 content-type text/plain string "site c"
backend site_legacy
  http-request return status 200 content-type text/plain string "site legacy"
backend unknown
  http-request return status 421 content-type text/plain string "misdirected"
EOF
haproxy -db -f "$WORK/haproxy/haproxy.cfg" >"$WORK/haproxy/stdout.log" 2>&1 &
PIDS+=($!)
wait_port "$P_HAPROXY" HAProxy "$WORK/haproxy/stdout.log"

# The probe, the same configuration file for all three.
probe() { # $1 port $2 output
  local rc=0
  "$TARGET/misdirect-probe" --config "$CERTS/server.toml" --connect "127.0.0.1:$1" \
    --insecure-ca "$CERTS/ca.pem" --client-cert "$CERTS/client.pem" \
    --client-key "$CERTS/client.key" --listener tls --json >"$2" || rc=$?
  if [ "$rc" -gt 1 ]; then echo "the probe could not run against port $1" >&2; exit 1; fi
}
probe "$P_NGINX" "$WORK/nginx.json"
probe "$P_NGINX_M" "$WORK/nginx-misdirect.json"
probe "$P_HAPROXY" "$WORK/haproxy.json"
probe "$P_EX" "$WORK/misdirect.json"

NGINX_VERSION=$(nginx -v 2>&1 | sed 's/.*nginx\///')
# awk reads to the end: `head` would close the pipe early, and pipefail would end the script.
HAPROXY_VERSION=$(haproxy -v 2>&1 | awk 'NR == 1 {print $3}')
MISDIRECT_VERSION="$(awk -F'"' '/^version/ {print $2; exit}' Cargo.toml) ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
python3 - "$WORK" "$NGINX_VERSION" "$HAPROXY_VERSION" "$MISDIRECT_VERSION" <<'PY'
import json, sys
work, nginx_v, haproxy_v, misdirect_v = sys.argv[1:]
servers = [("nginx", f"nginx {nginx_v}"), ("nginx-misdirect", f"nginx {nginx_v} + misdirect"),
           ("haproxy", f"HAProxy {haproxy_v}"),
           ("misdirect", f"misdirect {misdirect_v}")]
runs = {name: json.load(open(f"{work}/{name}.json")) for name, _ in servers}
base = runs["misdirect"]["scenarios"]
keyed = {name: {(s["sni"], s["sent"]): s for s in run["scenarios"]} for name, run in runs.items()}

def cell(s):
    if s is None:
        return "not sent"
    got = s["got"]
    shown = {"response": lambda g: str(g["status"]), "rst_stream": lambda g: f"RST_STREAM({g['code']})",
             "goaway": lambda g: f"GOAWAY({g['code']})", "closed": lambda g: "closed",
             "tls_refused": lambda g: "TLS refused", "error": lambda g: "error"}[got["kind"]](got)
    word = {"pass": "pass", "fail": "**FAIL**", "skip": "skip"}[s["result"]]
    return f"{word} {shown}" + (" SERVED" if s["served_refused"] else "")

def expected(s):
    e = s["expected"]
    if e is None:
        return "-"
    if e.get("no_session"):
        return f"no session without a client certificate (policy {e['policy']})"
    if "serve" in e:
        return f"200 (site {e['serve']})"
    return f"{e['status']} rule {e['rule']} ({e['rule_name']})"

print(f"Peers: {', '.join(label for _, label in servers)}; one configuration "
      f"(the example's server.toml), {len(base)} scenarios each.\n")
print("| # | connection | sent | what it is | RFC asks (the crate's decision) | " + " | ".join(label for _, label in servers) + " |")
print("|---|---|---|---|---|" + "---|" * len(servers))
for s in base:
    key = (s["sni"], s["sent"])
    sent = s["sent"]
    if len(sent) > 90:
        sent = sent[:40] + "…" + sent[-40:]
    sni = f"SNI {s['sni']}" if s["sni"] else "no SNI"
    cells = [cell(keyed[name].get(key)) for name, _ in servers]
    label = s["label"].split(": ", 1)[-1] if ": " in s["label"] else s["label"]
    print(f"| {s['id']} | {sni} | `{sent}` | {label} | {expected(s)} | " + " | ".join(cells) + " |")

print()
groups = []
for s in base:
    if s["group"] not in groups:
        groups.append(s["group"])
print("| group | scenarios | " + " | ".join(f"{label}: failed (served)" for _, label in servers) + " |")
print("|---|---|" + "---|" * len(servers))
for g in groups + ["all"]:
    rows = [s for s in base if g in ("all", s["group"])]
    cells = []
    for name, _ in servers:
        mine = [keyed[name].get((s["sni"], s["sent"])) for s in rows]
        failed = sum(1 for m in mine if m and m["result"] == "fail")
        served = sum(1 for m in mine if m and m["served_refused"])
        skipped = sum(1 for m in mine if m and m["result"] == "skip")
        cells.append(f"{failed} ({served})" + (f", {skipped} skipped" if skipped else ""))
    print(f"| {g} | {len(rows)} | " + " | ".join(cells) + " |")
print()
for name, label in servers:
    print(f"{label}: {runs[name]['summary']['line']}")
PY

#!/usr/bin/env bash
# End-to-end: the stock Debian nginx with the misdirect module loaded, on loopback, asked with
# curl. Fails on the first answer that is not the crate's.
#
#   bash nginx/e2e.sh
#
# Builds the module (nginx/build.sh), makes two self-signed certificates and a client CA with
# openssl, and checks over HTTP/1.1 and HTTP/2: 200 for a served host, 421 for a host fronted
# onto another certificate's connection, 421 for a host whose TLS policy the handshake was not
# made under (with SNI, and without: nginx's own 400 for the missing client certificate becomes
# the crate's 421), 400 for two Host lines, the reason line in the error log; and that nginx
# refuses to start when a server block's ssl_verify_client contradicts its policy; and the
# probe's resumption and client-auth groups against it.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18943}
MODULE=$(bash nginx/build.sh)
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }

WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  [ -n "${BLOCKER:-}" ] && kill "$BLOCKER" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=nginx/lib.sh
. nginx/lib.sh
site_files
LOAD="load_module $MODULE;"
USE="misdirect_config $WORK/misdirect.toml;"
failed=0
check() { # $1 what $2 expected $3 got
  if [ "$2" = "$3" ]; then
    echo "ok   $1: $3"
  else
    echo "FAIL $1: expected $2, got $3" >&2
    failed=1
  fi
}

# A policy built not to verify is refused before anything is served.
conf "$LOAD" "$USE" "" >"$WORK/contradiction.conf"
what="nginx -t with admin's ssl_verify_client off under policy mtls"
if nginx -t -q -c "$WORK/contradiction.conf" -g "error_log $WORK/t.log;" >"$WORK/t.err" 2>&1; then
  check "$what" refused accepted
elif grep -q 'but its ssl_verify_client is off' "$WORK/t.err"; then
  check "$what" refused refused
  grep -o 'misdirect: server block.*' "$WORK/t.err" | head -n 1
else
  cat "$WORK/t.err" >&2
  check "$what" "refused, naming ssl_verify_client" "refused for another reason"
fi

# ... also when the block has no TLS context of its own (it presents the default server's
# certificate): nginx checks client certificates per request against the block it routes to.
cat >>"$WORK/misdirect.toml" <<EOF

[[vhosts]]
name = "admin2"
names = ["admin2.example.test"]
https_ports = [$PORT]
policy = "mtls"
EOF
VERIFY="ssl_client_certificate $WORK/ca.pem; ssl_verify_client on;"
admin2() { # $1 admin2's client verification
  echo "server { listen 127.0.0.1:$PORT ssl http2; server_name admin2.example.test; $1
    location / { return 200 \"site admin2\\n\"; } }"
}
conf "$LOAD" "$USE" "$VERIFY" "$(admin2 "")" >"$WORK/contradiction2.conf"
what="nginx -t with admin2 (no certificate of its own, ssl_verify_client off) under policy mtls"
if nginx -t -q -c "$WORK/contradiction2.conf" -g "error_log $WORK/t.log;" >"$WORK/t.err" 2>&1; then
  check "$what" refused accepted
elif grep -q 'admin2.example.test.*but its ssl_verify_client is off' "$WORK/t.err"; then
  check "$what" refused refused
else
  cat "$WORK/t.err" >&2
  check "$what" "refused, naming ssl_verify_client" "refused for another reason"
fi

# An error_page must not turn a refusal into some location's content, a URI's or a named
# location's.
USE="$USE error_page 400 421 =200 /;"  # and a's block sends 421 to a named location
conf "$LOAD" "$USE" "$VERIFY" "$(admin2 "$VERIFY")" >"$WORK/nginx.conf"
nginx -c "$WORK/nginx.conf" >"$WORK/stdout.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
  sleep 0.1
done

status() { # curl arguments...
  curl -sk -o /dev/null -w '%{http_code}' --resolve "a.example.test:$PORT:127.0.0.1" \
    --resolve "c.other.test:$PORT:127.0.0.1" "$@" || echo "curl-failed"
}
A=https://a.example.test:$PORT/
for v in --http1.1 --http2; do
  check "$v served (SNI and Host a.example.test)" 200 "$(status "$v" "$A")"
  check "$v fronted (SNI a.example.test, Host c.other.test: another certificate)" 421 \
    "$(status "$v" -H "Host: c.other.test:$PORT" "$A")"
  check "$v another policy (SNI a.example.test, Host admin.example.test)" 421 \
    "$(status "$v" -H "Host: admin.example.test:$PORT" "$A")"
  check "$v another policy without SNI (Host admin.example.test)" 421 \
    "$(status "$v" -H "Host: admin.example.test:$PORT" "https://127.0.0.1:$PORT/")"
  check "$v the scheme's default port (Host a.example.test)" 421 \
    "$(status "$v" -H "Host: a.example.test" "$A")"
  check "$v userinfo (Host user@a.example.test)" 400 \
    "$(status "$v" -H "Host: user@a.example.test:$PORT" "$A")"
  check "$v a wildcard server_name (SNI and Host w.other.test)" 200 \
    "$(status "$v" --resolve "w.other.test:$PORT:127.0.0.1" "https://w.other.test:$PORT/")"
  # nginx's own refusal: the handshake was made under admin's block, and nginx checks the
  # certificate per request on every block that verifies (the module holds each mtls block to it)
  check "$v admin's connection without a client certificate (Host admin.example.test)" 400 \
    "$(status "$v" --resolve "admin.example.test:$PORT:127.0.0.1" "https://admin.example.test:$PORT/")"
  check "$v admin's connection without a client certificate (Host admin2.example.test)" 421 \
    "$(status "$v" --resolve "admin.example.test:$PORT:127.0.0.1" \
      -H "Host: admin2.example.test:$PORT" "https://admin.example.test:$PORT/")"
done
# Cleartext: a serves http on PORT + 2.
P=http://127.0.0.1:$((PORT + 2))/
check "http:// served (Host a.example.test on the cleartext port)" 200 \
  "$(status --http1.1 -H "Host: a.example.test:$((PORT + 2))" "$P")"
check "http:// a host with no http port (Host admin.example.test)" 421 \
  "$(status --http1.1 -H "Host: admin.example.test:$((PORT + 2))" "$P")"
check "http:// the scheme's default port (Host a.example.test)" 421 \
  "$(status --http1.1 -H "Host: a.example.test" "$P")"
# A request line longer than client_header_buffer_size (1k) moves to a large buffer.
long="/$(printf 'A%.0s' $(seq 3000))"
check "HTTP/1.1 absolute-form target of 3 KB" 200 \
  "$(status --http1.1 --request-target "https://a.example.test:$PORT$long" "$A")"
# curl sends one Host of its own: the second rides in another header's value.
check "HTTP/1.1 two Host lines" 400 \
  "$(status --http1.1 -H "Host: a.example.test:$PORT" -H "X-Pad: 1"$'\r\n'"Host: a.example.test:$PORT" "$A")"
check "served body" "site a" "$(curl -sk --resolve "a.example.test:$PORT:127.0.0.1" "$A")"
# Sessions made under one name and offered under another (TLS 1.3 tickets: OpenSSL resumes
# them across server blocks) are decided on the handshake that made them: the probe's
# resumption group, and what mtls demands, with the SNI as configured and in capitals.
cargo build -q -p misdirect-probe
rc=0
"${CARGO_TARGET_DIR:-target}/debug/misdirect-probe" --config "$WORK/misdirect.toml" \
  --connect "127.0.0.1:$PORT" --only resumption,client-auth >"$WORK/probe.txt" 2>&1 || rc=$?
# Nothing served where a refusal is due (4), nothing refused that the crate serves (8). Under
# this configuration's `error_page 421 =200 @fallback`, nginx's own 421 (an HTTP/2 :authority
# for a block that verifies, on a.example.test's connection, refused by nginx before the
# module decides) becomes a 500 ("empty URI in redirect to named location"): not served, an
# "other" mismatch (16), which docs/nginx.md states.
if [ "$rc" = 2 ]; then
  check "misdirect-probe --only resumption,client-auth ran" ran "could not run"
else
  check "misdirect-probe --only resumption,client-auth: no security or availability failure" \
    none "$([ $((rc & 12)) = 0 ] && echo none || echo "exit status $rc")"
fi
grep -E '^FAIL' "$WORK/probe.txt" || true
tail -n 1 "$WORK/probe.txt"

kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
if grep -q 'misdirect: 421: .*c.other.test' "$WORK/error.log"; then
  check "the reason line in the error log" logged logged
else
  check "the reason line in the error log" logged missing
fi
# A reload that fails after the module's configuration pass (here: a port already taken) leaves
# the master on its previous configuration; a worker forked after it must still decide.
sed 's/^master_process off;/master_process on;/' "$WORK/nginx.conf" >"$WORK/master.conf"
nginx -c "$WORK/master.conf" >"$WORK/master.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
  sleep 0.1
done
# The blocker takes a port the kernel picks (a fixed one may be held by another job, or by
# TIME_WAIT sockets of an earlier run) and prints it once it listens.
python3 -c "import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)" \
  >"$WORK/blocker.port" &
BLOCKER=$!
for _ in $(seq 50); do
  [ -s "$WORK/blocker.port" ] && break
  sleep 0.1
done
TAKEN=$(cat "$WORK/blocker.port")
sed "s|^http {|http {\n  server { listen 127.0.0.1:$TAKEN; return 200; }|" "$WORK/master.conf" \
  >"$WORK/master-next.conf"
cp "$WORK/master-next.conf" "$WORK/master.conf"
nginx -c "$WORK/master.conf" -s reload
for _ in $(seq 50); do
  grep -q "bind() to 127.0.0.1:$TAKEN" "$WORK/error.log" && break
  sleep 0.1
done
check "the reload failed as meant" "bind failed" \
  "$(grep -q "bind() to 127.0.0.1:$TAKEN" "$WORK/error.log" && echo "bind failed" || echo "no bind failure")"
# A worker that dies is forked again from the master's (previous) configuration.
worker=$(pgrep -P "$PID" | head -n 1)
kill -KILL "$worker"
for _ in $(seq 50); do
  new=$(pgrep -P "$PID" | head -n 1 || true)
  [ -n "$new" ] && [ "$new" != "$worker" ] && break
  sleep 0.1
done
check "after a failed reload, a new worker: served" 200 "$(status --http1.1 "$A")"
check "after a failed reload, a new worker: fronted" 421 \
  "$(status --http1.1 -H "Host: c.other.test:$PORT" "$A")"
kill "$BLOCKER" 2>/dev/null || true
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
[ "$failed" = 0 ] || { tail -n 20 "$WORK/error.log" >&2; exit 1; }
echo "nginx/e2e.sh: every answer is the one expected"

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
# refuses to start when a server block's ssl_verify_client contradicts its policy.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18943}
MODULE=$(bash nginx/build.sh)
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }

WORK=$(mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
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

conf "$LOAD" "$USE" "ssl_client_certificate $WORK/ca.pem; ssl_verify_client on;" >"$WORK/nginx.conf"
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
done
# curl sends one Host of its own: the second rides in another header's value.
check "HTTP/1.1 two Host lines" 400 \
  "$(status --http1.1 -H "Host: a.example.test:$PORT" -H "X-Pad: 1"$'\r\n'"Host: a.example.test:$PORT" "$A")"
check "served body" "site a" "$(curl -sk --resolve "a.example.test:$PORT:127.0.0.1" "$A")"

kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
if grep -q 'misdirect: 421: .*c.other.test' "$WORK/error.log"; then
  check "the reason line in the error log" logged logged
else
  check "the reason line in the error log" logged missing
fi
[ "$failed" = 0 ] || { tail -n 20 "$WORK/error.log" >&2; exit 1; }
echo "nginx/e2e.sh: every answer is the crate's"

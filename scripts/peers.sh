#!/usr/bin/env bash
# The probe against peers: nginx, nginx with the misdirect module, HAProxy, Apache httpd, Caddy,
# h2o and Apache Traffic Server (Debian's packages) and the example server, each on loopback
# with the same certificates and virtual hosts, each probed with the same configuration file (the
# example's server.toml). Prints every scenario with what the RFC asks (the crate's decision) and
# what each server did, the failures per group and class, the totals per class, and each
# server's summary line, with the versions.
#
#   bash scripts/peers.sh            # PORT=18443 by default: the example on PORT, nginx on
#                                    # PORT+100, HAProxy on PORT+200, nginx + misdirect on
#                                    # PORT+300, Apache on PORT+400, Caddy on PORT+500, h2o on
#                                    # PORT+600, Traffic Server on PORT+700 (its origin PORT+701)
#
# The virtual hosts, as in examples/server.rs:
#   a.example.test, b.example.test  certificate *.example.test, no client certificate
#   admin.example.test              certificate *.example.test, client certificate required
#   c.other.test                    certificate c.other.test
#   legacy.example.test             certificate *.example.test, TLS 1.2 only where expressible
#   anything else                   the default server: certificate *.example.test, answers 421
#
# nginx: one server block per virtual host, `ssl_verify_client on` in admin's, a
# `default_server` that returns 421. HAProxy: one frontend with both certificates (crt-list),
# `ca-file` and `verify optional`, ACLs routing by Host (port stripped, lowercased) to backends
# that answer with `http-request return`; admin's backend answers 403 without a verified client
# certificate, the default backend 421. Apache: a name-based <VirtualHost> per virtual host
# (mod_ssl, mod_http2), `SSLVerifyClient require` in admin's, the first <VirtualHost> the
# default with `Redirect 421 /`, `SSLVHostSNIPolicy secure` (its default since 2.4.66) written
# out. Caddy: a site block per virtual host with `tls CERT KEY`, `client_auth` in admin's,
# `strict_sni_host on`, a catch-all `https://` site answering 421. h2o: a host per virtual host,
# keyed by name and the origin port, an mruby handler per host; the first host answers 421;
# h2o 2.2 cannot ask for a client certificate, so admin is left out (it gets the 421). Traffic
# Server: ssl_multicert.config with both certificates, sni.yaml with `verify_client: STRICT`
# for admin and TLS 1.2 for legacy, remap.config mapping each name and the origin port to a
# small origin (python3) that answers "site NAME", and everything else to its 421.
#
# Nothing is a system service: every process runs in the foreground from a temporary folder and
# is stopped at exit; a server that does not start is reported and the others go on. Takes about
# a minute after the build; PEERS_JSON=DIR keeps each run's JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-18443}
P_EX=$PORT P_NGINX=$((PORT + 100)) P_HAPROXY=$((PORT + 200)) P_NGINX_M=$((PORT + 300))
P_APACHE=$((PORT + 400)) P_CADDY=$((PORT + 500)) P_H2O=$((PORT + 600)) P_ATS=$((PORT + 700))
P_ATS_ORIGIN=$((PORT + 701))

# Debian's packages, installed when missing. Installing them would start their system services
# (apache2, caddy and h2o on ports 80 and 443, trafficserver on 8080): a policy-rc.d that denies
# every start (Debian's documented switch, see invoke-rc.d(8)) keeps them stopped, put in place
# only while apt runs and only when there was none. Ports PORT+... are none of theirs, so a
# system instance already running does not interfere either.
missing=()
for tool in nginx:nginx haproxy:haproxy apache2:apache2 caddy:caddy h2o:h2o \
  traffic_server:trafficserver; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  policy=/usr/sbin/policy-rc.d
  ours=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update
  # One at a time when the lot fails: a package that cannot be had leaves its server out.
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" ||
    for package in "${missing[@]}"; do
      DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" || true
    done
  if [ -n "$ours" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
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

# Why a server is left out of the tables: it did not start, or the probe could not run.
declare -A DOWN=()
wait_port() { # $1 port $2 pid: 0 once the port is open and the process still runs, else 1 (10 s at most)
  for _ in $(seq 100); do
    kill -0 "$2" 2>/dev/null || return 1
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then
      # Another process may hold the port: this one then ends, having failed to bind.
      sleep 0.3
      kill -0 "$2" 2>/dev/null
      return
    fi
    sleep 0.1
  done
  return 1
}
started() { # $1 name $2 port $3 pid $4 log: 1, with the log's last lines in DOWN, when it did not start
  PIDS+=("$3")
  if wait_port "$2" "$3"; then return 0; fi
  DOWN[$1]="did not start: $(tail -n 3 "$4" 2>/dev/null | tr -s '\n' ' ' | tail -c 500)"
  kill "$3" 2>/dev/null || true
  return 1
}

# The example server writes its certificates and server.toml into $CERTS.
CERTS=$WORK/certs
"$TARGET/examples/server" --port "$P_EX" --out "$CERTS" --quiet >"$WORK/example.log" 2>&1 &
if ! started misdirect "$P_EX" $! "$WORK/example.log"; then
  echo "the example server ${DOWN[misdirect]}" >&2
  exit 1
fi

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
  started "$1" "$2" $! "$dir/stdout.log"
}
nginx_conf nginx "$P_NGINX" "" "" "TLSv1.2" || true

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
  "misdirect_config $CERTS/nginx-misdirect.toml;" "TLSv1.2 TLSv1.3" || true

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
started haproxy "$P_HAPROXY" $! "$WORK/haproxy/stdout.log" || true

# Apache httpd 2.4 (mod_ssl, mod_http2, the event MPM), in the foreground (-DFOREGROUND). As root
# it needs `User`: its children run as www-data, so the folders up to the document roots are
# made traversable. A name-based <VirtualHost> per virtual host, as its users write them; the
# first one for the address is the default (SNI-less and unknown names), answering 421. Names
# are matched without the port. The SNI check is mod_ssl's SSLVHostSNIPolicy (httpd 2.4.66 and
# later), `secure` by default and written out: a request whose Host selects a <VirtualHost>
# other than the handshake's gets 421 when the two differ in certificate, protocols, ciphers or
# client verification, on connections without SNI too (against the default <VirtualHost>).
# SSLStrictSNIVHostCheck is left off: it would answer 403 to SNI-less clients.
apache_conf() {
  local dir=$WORK/apache site
  mkdir -p "$dir"
  for site in a b admin c legacy; do
    mkdir -p "$dir/www/$site"
    echo "site $site" >"$dir/www/$site/index.html"
  done
  chmod 711 "$WORK" "$dir"
  chmod -R a+rX "$dir/www"
  apache_vhost() { # $1 name $2 document root $3 certificate $4 extra directives
    cat <<EOF
<VirtualHost 127.0.0.1:$P_APACHE>
  ServerName $1
  DocumentRoot $dir/www/$2
  SSLEngine on
  SSLCertificateFile $CERTS/$3.pem
  SSLCertificateKeyFile $CERTS/$3.key
  $4
</VirtualHost>
EOF
  }
  cat >"$dir/httpd.conf" <<EOF
ServerRoot $dir
DefaultRuntimeDir $dir
PidFile $dir/httpd.pid
ErrorLog /dev/stderr
LogLevel warn
User www-data
Group www-data
ServerName localhost
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule dir_module /usr/lib/apache2/modules/mod_dir.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
LoadModule http2_module /usr/lib/apache2/modules/mod_http2.so
StartServers 1
ServerLimit 1
ThreadsPerChild 32
MaxRequestWorkers 32
MinSpareThreads 8
MaxSpareThreads 32
TypesConfig /etc/mime.types
DirectoryIndex index.html
CustomLog $dir/access.log "%h %{SSL_TLS_SNI}x \"%{Host}i\" \"%r\" %>s"
Listen 127.0.0.1:$P_APACHE https
Protocols h2 http/1.1
SSLProtocol -all +TLSv1.2 +TLSv1.3
SSLSessionCache shmcb:$dir/ssl_scache(512000)
SSLVHostSNIPolicy secure
<Directory $dir/www>
  Require all granted
</Directory>
$(apache_vhost default.invalid . example "Redirect 421 /")
$(apache_vhost a.example.test a example "")
$(apache_vhost b.example.test b example "")
$(apache_vhost admin.example.test admin example "SSLCACertificateFile $CERTS/ca.pem
  SSLVerifyClient require")
$(apache_vhost c.other.test c other "")
$(apache_vhost legacy.example.test legacy example "SSLProtocol -all +TLSv1.2")
EOF
  apache2 -d "$dir" -f "$dir/httpd.conf" -DFOREGROUND >"$dir/stdout.log" 2>&1 &
  started apache "$P_APACHE" $! "$dir/stdout.log"
}
apache_conf || true

# Caddy 2.6, `caddy run` in the foreground with its state (XDG folders, HOME) under $WORK/caddy
# and its admin endpoint off. A site block per virtual host with the certificate files (`tls
# CERT KEY`, so nothing is obtained), a catch-all `https://` site answering 421, no HTTP->HTTPS
# redirect listener. `strict_sni_host on` (a server option): a request whose Host differs from
# the SNI gets 421. Caddy turns it on by itself when a site has `client_auth` (admin's does);
# it is written out as a user who relies on it would, and `strict_sni_host insecure_off` is the
# only way to have it off then. Caddy 2.6 serves HTTP/3 on the same UDP port by default.
caddy_conf() {
  local dir=$WORK/caddy
  mkdir -p "$dir"
  caddy_site() { # $1 name $2 certificate $3 body $4 tls options
    cat <<EOF
https://$1:$P_CADDY {
	tls $CERTS/$2.pem $CERTS/$2.key$4
	respond "$3"
}
EOF
  }
  cat >"$dir/Caddyfile" <<EOF
{
	admin off
	auto_https disable_redirects
	default_bind 127.0.0.1
	servers {
		strict_sni_host on
	}
}
$(caddy_site a.example.test example "site a" "")
$(caddy_site b.example.test example "site b" "")
$(caddy_site admin.example.test example "site admin" " {
		client_auth {
			mode require_and_verify
			trusted_ca_cert_file $CERTS/ca.pem
		}
	}")
$(caddy_site c.other.test other "site c" "")
$(caddy_site legacy.example.test example "site legacy" " {
		protocols tls1.2 tls1.2
	}")
https://:$P_CADDY {
	tls $CERTS/example.pem $CERTS/example.key
	respond "misdirected" 421
}
EOF
  HOME=$dir XDG_DATA_HOME=$dir/data XDG_CONFIG_HOME=$dir/config \
    caddy run --config "$dir/Caddyfile" --adapter caddyfile >"$dir/stdout.log" 2>&1 &
  started caddy "$P_CADDY" $! "$dir/stdout.log"
}
caddy_conf || true

# h2o 2.2, in the foreground (no pid-file, no daemon). As root it changes to `user: nobody`
# after reading its configuration. A host per virtual host, each with its own `listen` (its
# certificate), keyed by name and port: h2o matches the authority's port too, so the keys carry
# the origin port the probe sends (PORT), as behind a port mapping. An mruby handler answers;
# the first host of the port is the default and answers 421. h2o 2.2 has no option to ask for a
# client certificate (client-ca-file came in 2021, after 2.2), so admin is left out and gets
# the default's 421; legacy's `maximum-version: TLSv1.2` is written as a user would.
h2o_conf() {
  local dir=$WORK/h2o
  mkdir -p "$dir"
  h2o_host() { # $1 name $2 certificate $3 status $4 body $5 ssl options
    cat <<EOF
  "$1:$P_EX":
    listen:
      host: 127.0.0.1
      port: $P_H2O
      ssl:
        certificate-file: $CERTS/$2.pem
        key-file: $CERTS/$2.key
        minimum-version: TLSv1.2
        ocsp-update-interval: 0$5
    paths:
      "/":
        mruby.handler: |
          Proc.new do |env|
            [$3, {"content-type" => "text/plain"}, ["$4\\n"]]
          end
EOF
  }
  cat >"$dir/h2o.conf" <<EOF
user: nobody
access-log: $dir/access.log
hosts:
$(h2o_host default.invalid example 421 misdirected "")
$(h2o_host a.example.test example 200 "site a" "")
$(h2o_host b.example.test example 200 "site b" "")
$(h2o_host c.other.test other 200 "site c" "")
$(h2o_host legacy.example.test example 200 "site legacy" "
        maximum-version: TLSv1.2")
EOF
  h2o -c "$dir/h2o.conf" >"$dir/stdout.log" 2>&1 &
  started h2o "$P_H2O" $! "$dir/stdout.log"
}
h2o_conf || true

# Apache Traffic Server 9.2, traffic_server alone in the foreground, its layout a runroot.yaml
# under $WORK/ats (configuration, logs, runtime files there; binaries and plugins Debian's).
# It changes user unless proxy.config.admin.user_id is #-1, which keeps root (records.config(5)).
# A reverse proxy: ssl_multicert.config holds both certificates (chosen by SNI against their
# names, *.example.test the default), sni.yaml asks admin's SNI for a client certificate
# (`verify_client: STRICT`) and gives legacy TLS 1.2 (`valid_tls_versions_in`), and
# remap.config maps each name (with the origin port the probe sends, PORT: remap compares the
# port) to a small origin that answers "site NAME", and any other name to a path of it that
# answers 421. Its Host/SNI check is proxy.config.http.host_sni_policy (2, enforced, by
# default): a Host whose sni.yaml entry has verify_client, on a connection whose SNI differs,
# gets 403. A port other than PORT or 443 matches no rule: ATS's own 404. One setting is for
# the probe, not the routing: the probe gives back each DATA frame's few bytes in a
# WINDOW_UPDATE, and ATS ends a connection whose last five increments average below
# proxy.config.http2.min_avg_window_update (2560 bytes) with GOAWAY(ENHANCE_YOUR_CALM), which
# would stand in for every sixth HTTP/2 answer; it is 0 here.
ats_conf() {
  local dir=$WORK/ats
  mkdir -p "$dir/etc" "$dir/log" "$dir/run" "$dir/cache"
  cat >"$dir/origin.py" <<'EOF'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Site(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        site = self.path.strip("/").split("/")[0]
        status, body = (421, b"misdirected\n") if site == "unknown" else (200, f"site {site}\n".encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Site).serve_forever()
EOF
  python3 "$dir/origin.py" "$P_ATS_ORIGIN" >"$dir/origin.log" 2>&1 &
  started ats-origin "$P_ATS_ORIGIN" $! "$dir/origin.log" || {
    DOWN[ats]="its origin ${DOWN[ats-origin]}"
    return 1
  }
  cat >"$dir/runroot.yaml" <<EOF
prefix: /usr
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: $dir/etc
datadir: $dir/cache
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: $dir/run
runtimedir: $dir/run
logdir: $dir/log
cachedir: $dir/cache
EOF
  # Debian's files for what is not set here (ip_allow.yaml letting loopback in, logging.yaml,
  # body_factory's error pages, ...).
  cp -r /etc/trafficserver/. "$dir/etc/"
  echo "$dir/cache 32M" >"$dir/etc/storage.config"
  cat >"$dir/etc/records.config" <<EOF
CONFIG proxy.config.admin.user_id STRING #-1
CONFIG proxy.config.http.server_ports STRING $P_ATS:ssl:ip-in=127.0.0.1
CONFIG proxy.config.http.cache.http INT 0
CONFIG proxy.config.reverse_proxy.enabled INT 1
CONFIG proxy.config.url_remap.remap_required INT 1
CONFIG proxy.config.http.host_sni_policy INT 2
CONFIG proxy.config.http2.min_avg_window_update FLOAT 0.0
CONFIG proxy.config.ssl.server.cert.path STRING $CERTS
CONFIG proxy.config.ssl.server.private_key.path STRING $CERTS
CONFIG proxy.config.ssl.server.version.min INT 0
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 1
CONFIG proxy.config.accept_threads INT 1
CONFIG proxy.config.task_threads INT 1
CONFIG proxy.config.diags.logfile.filename STRING stdout
EOF
  cat >"$dir/etc/ssl_multicert.config" <<EOF
dest_ip=* ssl_cert_name=example.pem ssl_key_name=example.key
ssl_cert_name=other.pem ssl_key_name=other.key
EOF
  cat >"$dir/etc/sni.yaml" <<EOF
sni:
- fqdn: admin.example.test
  verify_client: STRICT
  verify_client_ca_certs: $CERTS/ca.pem
- fqdn: legacy.example.test
  valid_tls_versions_in: [ TLSv1_2 ]
EOF
  local origin=http://127.0.0.1:$P_ATS_ORIGIN
  cat >"$dir/etc/remap.config" <<EOF
map https://a.example.test:$P_EX/ $origin/a/
map https://b.example.test:$P_EX/ $origin/b/
map https://admin.example.test:$P_EX/ $origin/admin/
map https://c.other.test:$P_EX/ $origin/c/
map https://legacy.example.test:$P_EX/ $origin/legacy/
regex_map https://.*:$P_EX/ $origin/unknown/
regex_map https://.*/ $origin/unknown/
regex_map http://.*:$P_EX/ $origin/unknown/
regex_map http://.*/ $origin/unknown/
EOF
  (cd "$dir" && exec traffic_server --run-root="$dir/runroot.yaml") >"$dir/stdout.log" 2>&1 &
  started ats "$P_ATS" $! "$dir/stdout.log"
}
ats_conf || true

# HTTP/3. In these versions HTTP/3 is served by the example (on its own UDP port, the listener
# "h3" of server.toml) and by Caddy 2.6 (UDP on its TCP port: `protocols h1 h2 h3` is its
# default); nginx 1.22, HAProxy 2.6 (Debian's is built without QUIC), Apache 2.4, h2o 2.2 and
# Traffic Server 9.2 (built with TS_USE_QUIC 0) have none. The probe sends the h3 group to each
# server's port in H3_PORT (PROBE_H3=0: none). For Caddy, no listener of server.toml is on its
# UDP port, so the probe's default takes `--listener`'s, tls: HTTP/3 on the TCP port's number.
declare -A H3_PORT=(
  [misdirect]=$(awk '/^name = "h3"/ {h3 = 1} h3 && /^port = / {print $3; exit}' "$CERTS/server.toml")
  [caddy]=$P_CADDY
)
H3_ARGS=()
h3_args() { # $1 name: sets H3_ARGS, the probe's HTTP/3 arguments for that server
  H3_ARGS=()
  if [ "${PROBE_H3:-1}" = 1 ] && [ -n "${H3_PORT[$1]:-}" ]; then H3_ARGS=(--h3 "${H3_PORT[$1]}"); fi
}

# The probe, the same configuration file for all. Its exit status is 0 (all passed), odd when
# scenarios failed (1, plus 4, 8, 16 by class), 2 when the run could not start.
probe() { # $1 name $2 port: $WORK/NAME.json, or the reason in DOWN
  local rc=0
  if [ -n "${DOWN[$1]:-}" ]; then return; fi
  h3_args "$1"
  "$TARGET/misdirect-probe" --config "$CERTS/server.toml" --connect "127.0.0.1:$2" \
    --insecure-ca "$CERTS/ca.pem" --client-cert "$CERTS/client.pem" \
    --client-key "$CERTS/client.key" --listener tls "${H3_ARGS[@]}" --json \
    >"$WORK/$1.json" 2>"$WORK/$1.probe.log" || rc=$?
  if [ "$rc" -ne 0 ] && [ $((rc % 2)) -eq 0 ]; then
    DOWN[$1]="the probe could not run (exit $rc): $(tail -n 3 "$WORK/$1.probe.log" | tr -s '\n' ' ')"
  fi
}
probe nginx "$P_NGINX"
probe nginx-misdirect "$P_NGINX_M"
probe haproxy "$P_HAPROXY"
probe apache "$P_APACHE"
probe caddy "$P_CADDY"
probe h2o "$P_H2O"
probe ats "$P_ATS"
probe misdirect "$P_EX"
if [ -n "${DOWN[misdirect]:-}" ]; then
  echo "the example server: ${DOWN[misdirect]}" >&2
  exit 1
fi
# PEERS_JSON=DIR keeps each run's JSON (DIR/NAME.json).
if [ -n "${PEERS_JSON:-}" ]; then
  mkdir -p "$PEERS_JSON"
  cp "$WORK"/*.json "$PEERS_JSON"/
fi

# Versions, as each binary reports itself (awk reads to the end: `head` would close the pipe
# early, and pipefail would end the script).
version() { # $1 command...: its output's first match of a version number, or "?"
  "$@" 2>&1 | awk 'match($0, /[0-9]+\.[0-9]+(\.[0-9]+)?([-+~][0-9A-Za-z.+~-]*)?/) && !v {v = substr($0, RSTART, RLENGTH)} END {print v ? v : "?"}' || true
}
NGINX_VERSION=$(version nginx -v)
HAPROXY_VERSION=$(version haproxy -v)
APACHE_VERSION=$(version apache2 -v)
CADDY_VERSION=$(version caddy version)
H2O_VERSION=$(version h2o --version)
ATS_VERSION=$(version traffic_server -V)
MISDIRECT_VERSION="$(awk -F'"' '/^version/ {print $2; exit}' Cargo.toml) ($(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
for name in "${!DOWN[@]}"; do printf '%s\t%s\n' "$name" "${DOWN[$name]}"; done >"$WORK/down.tsv"
python3 - "$WORK" "nginx $NGINX_VERSION" "nginx $NGINX_VERSION + misdirect" \
  "HAProxy $HAPROXY_VERSION" "Apache $APACHE_VERSION" "Caddy $CADDY_VERSION" "h2o $H2O_VERSION" \
  "Traffic Server $ATS_VERSION" "misdirect $MISDIRECT_VERSION" <<'PY'
import json, sys
work, *labels = sys.argv[1:]
names = ["nginx", "nginx-misdirect", "haproxy", "apache", "caddy", "h2o", "ats", "misdirect"]
down = dict(line.rstrip("\n").split("\t", 1) for line in open(f"{work}/down.tsv") if "\t" in line)
every = list(zip(names, labels))
servers = [(name, label) for name, label in every if name not in down]
runs = {name: json.load(open(f"{work}/{name}.json")) for name, _ in servers}
base = runs["misdirect"]["scenarios"]

def keys(scenarios):
    """Each scenario's key across runs: its group, SNI and what was sent, numbered when repeated
    (admin's client-auth request is sent as its pair request is, without the certificate)."""
    seen = {}
    for s in scenarios:
        # A resumption scenario by what its label says before its outcome (what was sent
        # differs when it was not sent).
        what = s["label"].split(";")[0] if s["group"] == "resumption" else s["sent"]
        k = (s["group"], s["sni"], what)
        seen[k] = seen.get(k, 0) + 1
        yield k + (seen[k],), s

keyed = {name: dict(keys(run["scenarios"])) for name, run in runs.items()}
base = list(keys(base))
CLASSES = [("security", "S"), ("availability", "A"), ("other", "O")]

def cell(s):
    if s is None:
        return "not sent"
    got = s["got"]
    shown = {"response": lambda g: str(g["status"]), "rst_stream": lambda g: f"RST_STREAM({g['code']})",
             "goaway": lambda g: f"GOAWAY({g['code']})", "closed": lambda g: "closed",
             "tls_refused": lambda g: "TLS refused", "error": lambda g: "error",
             "not_sent": lambda g: "not sent"}[got["kind"]](got)
    word = {"pass": "pass", "fail": "**FAIL**", "skip": "skip"}[s["result"]]
    # A resumption scenario's session, as this server's run saw it (the row's text is the
    # example's): the verdict due differs when the server resumed.
    resumed = " (resumed)" if s["group"] == "resumption" and "; resumed (" in s["label"] else ""
    return f"{word} {shown}" + (" SERVED" if s["served_refused"] else "") + resumed

def expected(s):
    e = s["expected"]
    if e is None:
        return "-"
    if e.get("no_session"):
        return f"no session without a client certificate (policy {e['policy']})"
    if "serve" in e:
        return f"200 (site {e['serve']})"
    return f"{e['status']} rule {e['rule']} ({e['rule_name']})"

def failures(mine):
    """`F (S# A# O#)`: F failed, of which # security, availability, other; classes with none left out."""
    failed = [m for m in mine if m and m["result"] == "fail"]
    counts = [(letter, sum(1 for m in failed if m["class"] == cls)) for cls, letter in CLASSES]
    parts = " ".join(f"{letter}{n}" for letter, n in counts if n)
    skipped = sum(1 for m in mine if m and m["result"] == "skip")
    return (f"{len(failed)} ({parts})" if parts else str(len(failed))) + (f", {skipped} skipped" if skipped else "")

print(f"Peers: {', '.join(label for _, label in servers)}; one configuration "
      f"(the example's server.toml), {len(base)} scenarios each.\n")
print("| # | connection | sent | what it is | RFC asks (the crate's decision) | " + " | ".join(label for _, label in servers) + " |")
print("|---|---|---|---|---|" + "---|" * len(servers))
for key, s in base:
    sent = s["sent"]
    if len(sent) > 90:
        sent = sent[:40] + "…" + sent[-40:]
    sni = f"SNI {s['sni']}" if s["sni"] else "no SNI"
    cells = [cell(keyed[name].get(key)) for name, _ in servers]
    label = s["label"].split(": ", 1)[-1] if ": " in s["label"] else s["label"]
    print(f"| {s['id']} | {sni} | `{sent}` | {label} | {expected(s)} | " + " | ".join(cells) + " |")

print()
groups = []
for _, s in base:
    if s["group"] not in groups:
        groups.append(s["group"])
print("Failures per group. A cell is `F (S# A# O#)`: F scenarios failed, of which # were served where "
      "421 or 400 is due (S, security), refused where the crate serves (A, availability), any other "
      "mismatch (O, other); a class with none is left out, and `0` is no failure.\n")
print("| group | scenarios | " + " | ".join(label for _, label in servers) + " |")
print("|---|---|" + "---|" * len(servers))
for g in groups + ["all"]:
    rows = [key for key, s in base if g in ("all", s["group"])]
    cells = [failures([keyed[name].get(key) for key in rows]) for name, _ in servers]
    print(f"| {g} | {len(rows)} | " + " | ".join(cells) + " |")
print()
print("Totals per class.\n")
print("| server | scenarios | passed | failed | security: served where 421 or 400 is due | "
      "availability: refused where the crate serves | other | skipped |")
print("|---|---|---|---|---|---|---|---|")
for name, label in servers:
    m = runs[name]["summary"]
    c = m["classes"]
    print(f"| {label} | {m['scenarios']} | {m['passed']} | {m['failed']} | {c['security']} | "
          f"{c['availability']} | {c['other']} | {m['skipped']} |")
print()
for name, label in every:
    if name in down:
        print(f"{label}: {down[name]}")
    else:
        print(f"{label}: {runs[name]['summary']['line']}")
PY

# Sourced by nginx/e2e.sh and nginx/load.sh: the same site for both, under $WORK on $PORT
# (TLS) and PORT + 2 (cleartext, a only).
#   site_files                  two self-signed certificates, a client CA, misdirect.toml
#   conf BEFORE IN_HTTP ADMIN   an nginx.conf: BEFORE and IN_HTTP are the load_module and
#                               misdirect_config lines (empty: plain nginx), ADMIN admin's
#                               client verification
cert() { # $1 file stem $2 subjectAltName
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -addext "subjectAltName=$2" \
    -keyout "$WORK/$1.key" -out "$WORK/$1.pem" 2>/dev/null
}
site_files() {
  cert example "DNS:*.example.test"
  cert other "DNS:c.other.test,DNS:*.other.test"
  cert ca "DNS:ca.invalid"
  cat >"$WORK/misdirect.toml" <<EOF
[[policies]]
name = "public"
client_auth = "none"

[[policies]]
name = "mtls"
client_auth = "required"
client_cas = ["ca.pem"]

[[certificates]]
id = "example"
file = "example.pem"

[[certificates]]
id = "other"
file = "other.pem"

[[listeners]]
name = "tls"
tls = true
port = $PORT
default_tls_vhost = "a"

[[listeners]]
name = "plain"
tls = false
port = $((PORT + 2))

[[vhosts]]
name = "a"
names = ["a.example.test"]
https_ports = [$PORT]
http_ports = [$((PORT + 2))]
policy = "public"

[[vhosts]]
name = "admin"
names = ["admin.example.test"]
https_ports = [$PORT]
policy = "mtls"

[[vhosts]]
name = "c"
names = ["c.other.test"]
https_ports = [$PORT]
policy = "public"

[[vhosts]]
name = "w"
names = ["*.other.test"]
https_ports = [$PORT]
policy = "public"
EOF
}

conf() { # $1 lines before http{} $2 lines in http{} $3 admin's client verification
  #      $4 more server blocks
  cat <<EOF
$1
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 64; }
http {
  $2
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fastcgi;
  uwsgi_temp_path $WORK/uwsgi;
  scgi_temp_path $WORK/scgi;
  default_type text/plain;
  ssl_protocols TLSv1.2 TLSv1.3;
  server {
    listen 127.0.0.1:$PORT ssl http2 default_server;
    server_name _;
    ssl_certificate $WORK/example.pem;
    ssl_certificate_key $WORK/example.key;
    return 421 "misdirected\n";
  }
  server {
    listen 127.0.0.1:$PORT ssl http2;
    server_name a.example.test;
    ssl_certificate $WORK/example.pem;
    ssl_certificate_key $WORK/example.key;
    location / { return 200 "site a\n"; }
    # nginx/e2e.sh: neither an error_page to a URI nor one to a named location may serve a
    # refused request
    error_page 421 =200 @fallback;
    location @fallback { return 200 "fallback\n"; }
  }
  server {
    listen 127.0.0.1:$PORT ssl http2;
    server_name admin.example.test;
    ssl_certificate $WORK/example.pem;
    ssl_certificate_key $WORK/example.key;
    $3
    location / { return 200 "site admin\n"; }
  }
  server {
    listen 127.0.0.1:$PORT ssl http2;
    server_name c.other.test;
    ssl_certificate $WORK/other.pem;
    ssl_certificate_key $WORK/other.key;
    location / { return 200 "site c\n"; }
  }
  server {
    listen 127.0.0.1:$((PORT + 2));
    server_name a.example.test;
    location / { return 200 "site a over http\n"; }
  }
  server {
    listen 127.0.0.1:$PORT ssl http2;
    server_name *.other.test;
    ssl_certificate $WORK/other.pem;
    ssl_certificate_key $WORK/other.key;
    location / { return 200 "site w\n"; }
  }
  ${4:-}
}
EOF
}

#!/usr/bin/env bash
# Builds ngx_http_misdirect_module.so against Debian's nginx-dev (the configure flags of
# Debian's own nginx binary, --with-compat), for `load_module` in the stock nginx.
#
#   bash nginx/build.sh            # prints the path of the module
#   OUT=/some/dir bash nginx/build.sh
#
# Installs nginx, nginx-dev and the headers its configure needs when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/target/nginx-module}
src=/usr/share/nginx/src

if [ ! -x "$src/configure" ] || ! command -v nginx >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  "${apt_get[@]}" update -qq
  DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq nginx nginx-dev >/dev/null
fi

cargo build --release -q -p misdirect-ffi
lib=${CARGO_TARGET_DIR:-$repo/target}/release/libmisdirect_ffi.a
[ -f "$lib" ] || { echo "no $lib" >&2; exit 1; }

mkdir -p "$out"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
# Debian's recipe (dh_nginx's nginx_mod build system): configure in the packaged source with
# the binary's flags, into a build directory of our own, then `make modules`.
(
  cd "$src"
  # shellcheck disable=SC1091
  . ./conf_flags
  MISDIRECT_FFI_LIB=$lib ./configure \
    --with-cc-opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS)" \
    --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC" \
    "${NGX_CONF_FLAGS[@]}" \
    --add-dynamic-module="$repo/nginx" \
    --builddir="$build" >"$build/configure.log" 2>&1 \
    || { tail -n 30 "$build/configure.log" >&2; exit 1; }
)
make -s -f "$build/Makefile" -C "$src" modules >"$build/make.log" 2>&1 \
  || { grep -v '^make' "$build/make.log" | tail -n 40 >&2; exit 1; }
cp "$build/ngx_http_misdirect_module.so" "$out/"
# The module loads into the stock binary (nginx -t reads load_module first).
conf=$(mktemp)
printf 'load_module %s;\nevents {}\n' "$out/ngx_http_misdirect_module.so" >"$conf"
nginx -q -t -c "$conf" -g "error_log /dev/null; pid /dev/null;"
rm -f "$conf"
echo "$out/ngx_http_misdirect_module.so"

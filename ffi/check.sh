#!/usr/bin/env bash
# The C ABI's checks, from any directory: `bash ffi/check.sh`.
#
#  1. builds libmisdirect_ffi (.a and .so) in release;
#  2. regenerates include/misdirect.h with cbindgen and fails on any difference from the
#     committed one (installing cbindgen with `cargo install cbindgen --locked` if missing);
#  3. compiles the header alone as C99 (-Wall -Wextra -Werror -pedantic) and as C++;
#  4. builds tests/c/test_misdirect.c against the static library and runs it under valgrind
#     (no error, no definite or indirect leak);
#  5. builds it against the shared library with ASan and UBSan and runs it;
#  6. builds it against the shared library without sanitizers and runs it;
#  7. runs the crate's Rust tests (tests/no_alloc.rs: no allocation in misdirect_decide).
#
# CARGO_TARGET_DIR is honoured (default: the workspace's target/). One summary line per stage.
set -euo pipefail

START=$SECONDS
FFI=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$FFI/.." && pwd)
# A relative CARGO_TARGET_DIR is relative to where the script was started, as for cargo.
if [[ -n ${CARGO_TARGET_DIR:-} && ${CARGO_TARGET_DIR} != /* ]]; then
  CARGO_TARGET_DIR=$PWD/$CARGO_TARGET_DIR
  export CARGO_TARGET_DIR
fi
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
CC=${CC:-cc}
CXX=${CXX:-c++}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/misdirect-ffi-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

stage() { # $1 the stage's name, then its summary
  printf '%-28s %s (%ds)\n' "$1:" "$2" $((SECONDS - START))
}
fail() {
  printf 'FAILED: %s\n' "$*" >&2
  exit 1
}

# 1. The library.
cargo build --quiet --release -p misdirect-ffi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
LIB=$TARGET_DIR/release
[[ -f $LIB/libmisdirect_ffi.a && -f $LIB/libmisdirect_ffi.so ]] ||
  fail "no libmisdirect_ffi.a and .so in $LIB"
stage "build" "libmisdirect_ffi.a and libmisdirect_ffi.so in $LIB"

# 2. The header, regenerated.
if ! command -v cbindgen >/dev/null; then
  echo "cbindgen is missing: cargo install cbindgen --locked" >&2
  cargo install --quiet cbindgen --locked
fi
if ! (cd "$FFI" && cbindgen --quiet --config cbindgen.toml --crate misdirect-ffi \
  --output "$WORK/misdirect.h") 2>"$WORK/cbindgen.log"; then
  cat "$WORK/cbindgen.log" >&2
  fail "cbindgen"
fi
if ! diff -u "$FFI/include/misdirect.h" "$WORK/misdirect.h"; then
  fail "ffi/include/misdirect.h differs from what cbindgen generates from ffi/src/lib.rs" \
    "(regenerate it: cd ffi && cbindgen --config cbindgen.toml --crate misdirect-ffi" \
    "--output include/misdirect.h)"
fi
stage "header" "include/misdirect.h is what $(cbindgen --version) generates"

# 3. The header alone, as C99 and as C++.
printf '#include "misdirect.h"\n#include "misdirect.h"\nint main(void) { return 0; }\n' \
  >"$WORK/header.c"
"$CC" -std=c99 -Wall -Wextra -Werror -pedantic -I"$FFI/include" -c "$WORK/header.c" \
  -o "$WORK/header.o"
"$CC" -std=c99 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c "$FFI/include/misdirect.h"
"$CXX" -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ "$FFI/include/misdirect.h"
"$CXX" -std=c++11 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ "$WORK/header.c"
stage "header compiles" "C99 and C++, -Wall -Wextra -Werror -pedantic"

# The certificates the test reads: SANs DNS:*.example.test and DNS:example.test, and others.
cert() { # $1 file $2 SANs
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=misdirect-ffi test" -addext "subjectAltName=$2" \
    -keyout "$WORK/$1.key" -outform DER -out "$WORK/$1.der" 2>"$WORK/openssl.log" ||
    { cat "$WORK/openssl.log" >&2; fail "openssl"; }
}
cert wild "DNS:*.example.test,DNS:example.test"
cert other "DNS:elsewhere.invalid"
ARGS=("$WORK/wild.der" "$WORK/other.der")

# The libraries a static Rust library needs, as rustc says for this toolchain.
printf '' >"$WORK/empty.rs"
NATIVE=$("${RUSTC:-rustc}" --crate-type staticlib --print native-static-libs \
  -o "$WORK/empty.a" "$WORK/empty.rs" 2>&1 | sed -n 's/^note: native-static-libs: //p')
read -r -a NATIVE <<<"${NATIVE:--lpthread -ldl -lm}"

CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -I"$FFI/include")
TEST=$FFI/tests/c/test_misdirect.c

# 4. Static, under valgrind.
"$CC" "${CFLAGS[@]}" "$TEST" "$LIB/libmisdirect_ffi.a" "${NATIVE[@]}" -o "$WORK/test_static"
if ! command -v valgrind >/dev/null; then
  if [[ $(id -u) -eq 0 ]]; then
    echo "valgrind is missing: apt-get install valgrind" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
  else
    fail "valgrind is missing (apt-get install valgrind, as root)"
  fi
fi
if ! valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  --log-file="$WORK/valgrind.log" "$WORK/test_static" "${ARGS[@]}" >"$WORK/static.out"; then
  cat "$WORK/static.out" "$WORK/valgrind.log" >&2
  fail "the C test under valgrind"
fi
SUMMARY=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]* errors\).*/\1/p' "$WORK/valgrind.log")
if grep -q 'All heap blocks were freed' "$WORK/valgrind.log"; then
  LEAKS="all heap blocks freed"
else
  LEAKS=$(sed -n 's/^==[0-9]*== *definitely lost: \(.*\)/definitely lost \1/p' "$WORK/valgrind.log")
fi
[[ -n $SUMMARY ]] || { cat "$WORK/valgrind.log" >&2; fail "no valgrind summary"; }
stage "C test, static, valgrind" "$(cat "$WORK/static.out"); $SUMMARY; ${LEAKS:-?}"

# 5. Shared, with ASan and UBSan (skipped, and said so, where ASan cannot run at all).
printf 'int main(void) { return 0; }\n' >"$WORK/probe.c"
if "$CC" -fsanitize=address,undefined "$WORK/probe.c" -o "$WORK/probe" 2>/dev/null &&
  "$WORK/probe" 2>/dev/null; then
  "$CC" "${CFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer \
    -fno-sanitize-recover=undefined "$TEST" -L"$LIB" -lmisdirect_ffi -lpthread \
    -o "$WORK/test_asan"
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
    LD_LIBRARY_PATH="$LIB" "$WORK/test_asan" "${ARGS[@]}" >"$WORK/asan.out" 2>"$WORK/asan.err"; then
    cat "$WORK/asan.out" "$WORK/asan.err" >&2
    fail "the C test under ASan and UBSan"
  fi
  [[ ! -s $WORK/asan.err ]] || { cat "$WORK/asan.err" >&2; fail "ASan or UBSan reported"; }
  stage "C test, shared, ASan+UBSan" "$(cat "$WORK/asan.out"); no report"
else
  stage "C test, shared, ASan+UBSan" "SKIPPED: ASan cannot run on this machine"
fi

# 6. Shared, without sanitizers: the cdylib alone.
"$CC" "${CFLAGS[@]}" "$TEST" -L"$LIB" -lmisdirect_ffi -lpthread -o "$WORK/test_shared"
readelf -d "$WORK/test_shared" | grep -q 'NEEDED.*libmisdirect_ffi\.so' ||
  fail "test_shared is not linked against libmisdirect_ffi.so"
LD_LIBRARY_PATH="$LIB" "$WORK/test_shared" "${ARGS[@]}" >"$WORK/shared.out" ||
  { cat "$WORK/shared.out" >&2; fail "the C test against the shared library"; }
stage "C test, shared" "$(cat "$WORK/shared.out") (NEEDED libmisdirect_ffi.so)"

# 7. The Rust tests of the crate.
cargo test --quiet -p misdirect-ffi >"$WORK/cargo-test.out" 2>&1 ||
  { cat "$WORK/cargo-test.out" >&2; fail "cargo test -p misdirect-ffi"; }
PASSED=$(awk '/^test result: ok\./ { n += $4 } END { print n + 0 }' "$WORK/cargo-test.out")
stage "cargo test" "${PASSED:-0} Rust tests passed"

printf 'all checks passed in %ds\n' $((SECONDS - START))

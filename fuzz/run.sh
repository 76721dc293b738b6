#!/usr/bin/env bash
# Runs every fuzz target (or those named) for SECONDS each (default 20) from its committed seed
# corpus, with the dictionary. New corpus entries go to a scratch folder, not to the seeds.
# A crash leaves its input under fuzz/artifacts/<target>/ and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${SECONDS_PER_TARGET:-20}"
scratch="${FUZZ_SCRATCH:-$(mktemp -d)}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# How each target is built. The structured targets whose code under test forbids unsafe code
# (`decide`, `index`) run without AddressSanitizer (cargo fuzz: sanitizers "perform checks
# necessary for detecting bugs in unsafe code") and without trace-compares (their inputs are
# decoded with `arbitrary`, so libFuzzer's compare tables steer little): 3-10x the executions
# and as much coverage in the same time (docs/fuzzing.md). The others keep cargo fuzz's
# defaults; `server` runs the same decision code as `decide` under AddressSanitizer. The fast
# ones build into their own folder, so that the two kinds do not rebuild each other.
flavour() {
  case "$1" in
    decide | index) echo "-s none --no-trace-compares --target-dir target/fast" ;;
    *) echo "" ;;
  esac
}
for target in "${targets[@]}"; do
  mkdir -p "$scratch/$target"
  echo "=== fuzz $target for ${seconds}s"
  status=0
  # shellcheck disable=SC2046 # the flags are words
  cargo +nightly fuzz run $(flavour "$target") "$target" "$scratch/$target" "corpus/$target" -- \
    -dict=authority.dict -max_total_time="$seconds" -print_final_stats=1 \
    > "$scratch/$target.log" 2>&1 || status=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|panicked|SUMMARY|Test unit written' \
    "$scratch/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$scratch/$target.log" >&2
    echo "fuzz target $target failed (exit $status): see fuzz/artifacts/$target/" >&2
    exit 1
  fi
done

#!/usr/bin/env bash
# Runs the shell commands of README.md and docs/*.md, so that the docs stay true: a command a
# reader is told to run must run as written.
#
#   bash scripts/doc-commands.sh            the blocks marked ```sh
#   bash scripts/doc-commands.sh --long     those and the blocks marked ```sh long
#   bash scripts/doc-commands.sh --list     what each block is and whether it would run
#   bash scripts/doc-commands.sh FILE...    only these files (default: README.md docs/*.md)
#
# What a fenced block's info string means here:
#   sh        run. Keep these short: .ci/run runs them on every change (about a minute in all
#             beyond building).
#   sh long   run only with --long: peers, load, benchmarks, long fuzzing. Each says in a
#             comment how long it takes.
#   sh ci     never run here, because .ci/run runs the same command itself: the README's test
#             command, the instruction-count gate, the 20-second fuzzing. Running them twice
#             would only make CI slower.
#   anything else (text, rust, toml, ...) is not a command. A block marked bash, shell,
#   console or another sh variant is an error, so that no command escapes the check by its
#   spelling.
#
# Each block runs in a `bash` of its own with `set -euo pipefail`, from the repository root,
# with stdin from /dev/null, in a process group of its own (timeout(1)'s). When the block ends,
# whatever it left running (a server a failing block never stopped) is stopped: TERM, then KILL
# after 5 s. A block running longer than DOC_BLOCK_TIMEOUT seconds (default 1800: a first build
# takes minutes) is stopped and fails. A failing block is reported with its file and the line of its
# opening fence; the others still run, and the script fails at the end if any failed.
#
# Nothing here assumes a target directory: the blocks call cargo, which honours
# CARGO_TARGET_DIR when it is set and uses target/ when it is not (as in .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

long=0
list=0
files=()
for arg in "$@"; do
  case "$arg" in
    --long) long=1 ;;
    --list) list=1 ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "doc-commands: unknown option $arg (try --help)" >&2
      exit 2
      ;;
    *) files+=("$arg") ;;
  esac
done
if ((${#files[@]} == 0)); then
  files=(README.md docs/*.md)
fi

timeout_s=${DOC_BLOCK_TIMEOUT:-1800}
work=$(mktemp -d)
current=""  # process group of the block running now, if any

# Stops every process of the process group $1: TERM, then KILL if any is left after 5 s.
stop_group() {
  local group=$1
  kill -TERM -- "-$group" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 -- "-$group" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$group" 2>/dev/null || true
}
main=$BASHPID
cleanup() {
  # Only the script itself cleans up, never a subshell that inherited the trap.
  [ "$BASHPID" = "$main" ] || return 0
  if [ -n "$current" ]; then stop_group "$current"; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Extract the fenced blocks (CommonMark: a fence of three or more backticks, indented by at most
# three spaces, closed by a fence at least as long with no info string). Each block becomes
# $work/N.sh; $work/index has "N<TAB>file<TAB>line<TAB>info" per block.
: >"$work/index"
n=0
for file in "${files[@]}"; do
  if [ ! -f "$file" ]; then
    echo "doc-commands: no such file: $file" >&2
    exit 2
  fi
  n=$(awk -v file="$file" -v n="$n" -v dir="$work" '
    function fence_len(s) { match(s, /^`+/); return RLENGTH }
    # (mawk has no {m,n} intervals, hence the alternation.)
    !open && /^(   |  | )?```/ {
      indent = match($0, /[^ ]/) - 1
      rest = substr($0, indent + 1)
      len = fence_len(rest)
      info = substr(rest, len + 1)
      sub(/^[ \t]+/, "", info); sub(/[ \t]+$/, "", info)
      open = 1; n++; start = FNR
      out = dir "/" n ".sh"
      printf "" > out
      printf "%d\t%s\t%d\t%s\n", n, file, start, info >> (dir "/index")
      next
    }
    open && /^(   |  | )?`+[ \t]*$/ {
      line = $0; sub(/^ +/, "", line); sub(/[ \t]+$/, "", line)
      if (length(line) >= len) { open = 0; close(out); next }
    }
    open {
      line = $0
      for (i = 0; i < indent && substr(line, 1, 1) == " "; i++) line = substr(line, 2)
      print line > out
    }
    END {
      if (open) { printf "doc-commands: %s:%d: code block never closed\n", file, start > "/dev/stderr"; exit 1 }
      print n
    }
  ' "$file")
done

# What each block is: run, long, ci or none; an error for shell blocks marked otherwise.
kind_of() {
  case "$1" in
    sh) echo run ;;
    "sh long") echo long ;;
    "sh ci") echo ci ;;
    sh\ * | bash* | shell* | console* | zsh* | sh-*) echo bad ;;
    *) echo none ;;
  esac
}

bad=0
while IFS=$'\t' read -r i file line info; do
  if [ "$(kind_of "$info")" = bad ]; then
    echo "doc-commands: $file:$line: info string '$info': mark a command block sh, sh long or sh ci, anything else text" >&2
    bad=1
  fi
done <"$work/index"
((bad == 0)) || exit 2

if ((list)); then
  while IFS=$'\t' read -r i file line info; do
    case "$(kind_of "$info")" in
      run) what="runs" ;;
      long) if ((long)); then what="runs (long)"; else what="skipped: long (--long runs it)"; fi ;;
      ci) what="skipped: .ci/run runs it" ;;
      *) continue ;;
    esac
    printf '%s:%s  %s  %s\n' "$file" "$line" "$what" "$(grep -v '^[[:space:]]*#' "$work/$i.sh" | grep -m1 .)"
  done <"$work/index"
  exit 0
fi

# Each block under timeout(1), which puts it in a process group of its own (timeout's), so that
# a block running too long is stopped whole, and what a block leaves behind can be stopped as one
# when it ends.
ran=0 skipped_long=0 skipped_ci=0
failures=()
started=$SECONDS
while IFS=$'\t' read -r i file line info; do
  case "$(kind_of "$info")" in
    run) ;;
    long) if ((long == 0)); then skipped_long=$((skipped_long + 1)); continue; fi ;;
    ci) skipped_ci=$((skipped_ci + 1)); continue ;;
    *) continue ;;
  esac
  printf '\n=== %s:%s (%s)\n' "$file" "$line" "$info"
  t0=$SECONDS
  timeout --kill-after=5 "$timeout_s" bash -euo pipefail "$work/$i.sh" </dev/null &
  current=$!
  status=0
  wait "$current" || status=$?
  stop_group "$current"
  current=""
  ran=$((ran + 1))
  if ((status == 0)); then
    printf '=== ok %s:%s (%d s)\n' "$file" "$line" $((SECONDS - t0))
  else
    if ((status == 124 || status == 137)); then
      printf 'doc-commands: %s:%s ran past DOC_BLOCK_TIMEOUT (%s s) and was stopped\n' \
        "$file" "$line" "$timeout_s" >&2
    fi
    printf '=== FAILED %s:%s (exit %d, %d s)\n' "$file" "$line" "$status" $((SECONDS - t0)) >&2
    failures+=("$file:$line (exit $status)")
  fi
done <"$work/index"

printf '\n%d blocks run in %d s; skipped: %d long%s, %d run by .ci/run\n' "$ran" \
  $((SECONDS - started)) "$skipped_long" "$( ((long)) || echo ' (--long runs them)')" "$skipped_ci"
if ((${#failures[@]})); then
  printf 'failed: %s\n' "${failures[@]}" >&2
  exit 1
fi

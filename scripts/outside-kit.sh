#!/usr/bin/env bash
# Runs testkit/outside (a user's crate) as a crate outside this repository: copied to a
# temporary folder, its path dependencies pointed at this checkout, then `cargo test`.
# Builds share this repository's target folder.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$repo/testkit/outside/." "$work/"
sed -i -e "s|path = \"../\"|path = \"$repo/testkit\"|" -e "s|path = \"../..\"|path = \"$repo\"|" "$work/Cargo.toml"
cd "$work"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" cargo test --quiet

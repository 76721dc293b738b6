#!/bin/bash -eu
# Builds every cargo-fuzz target into $OUT with its dictionary, options and seed corpus, as
# ClusterFuzzLite and OSS-Fuzz expect. It runs from the repository root (the image's WORKDIR).
# In their images `cargo` is nightly; to check this script on a workstation, from the root:
#   OUT=$(mktemp -d) CARGO="cargo +nightly" .clusterfuzzlite/build.sh
cargo_cmd=${CARGO:-cargo}
cd fuzz
$cargo_cmd fuzz build -O
triple=$(rustc -vV | sed -n 's/^host: //p')
for target in $($cargo_cmd fuzz list); do
  cp "target/$triple/release/$target" "$OUT/"
  cp authority.dict "$OUT/$target.dict"
  printf '[libfuzzer]\ndict = %s.dict\n' "$target" > "$OUT/$target.options"
  (cd "corpus/$target" && python3 -m zipfile -c "$OUT/${target}_seed_corpus.zip" .)
done

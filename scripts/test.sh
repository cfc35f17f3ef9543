#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite: unit and
# simulator tests, loopback and network-namespace integration tests and the
# replay of every fuzz seed and crash regression (ctest), then the same
# inputs under ASan and UBSan and a short run of every libFuzzer target.
# Fuzzers write what they find under build-fuzz/, never into the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
fuzzers=()
for source in fuzz/fuzz_*.cc; do fuzzers+=("$(basename "$source" .cc)"); done
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DARDUS_FUZZ=ON -DARDUS_BUILD_TESTS=OFF -DARDUS_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${fuzzers[@]}"
ctest --test-dir build-fuzz --output-on-failure -j"$(nproc)"
passed=0
failed=0
for target in "${fuzzers[@]}"; do
  # New inputs go to the first corpus directory (in the build tree); the
  # committed seeds are only read.
  corpus=build-fuzz/corpus/$target artifacts=build-fuzz/artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  log=$(mktemp)
  if ./build-fuzz/fuzz/"$target" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" "fuzz/corpus/$target" >"$log" 2>&1; then
    passed=$((passed + 1))
    grep -E "^(Done|stat::number_of_executed_units)" "$log" || true
  else
    failed=$((failed + 1))
    echo "fuzz: $target FAILED (its input is in $artifacts/); its output:"
    tail -n 60 "$log"
  fi
  rm -f "$log"
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))

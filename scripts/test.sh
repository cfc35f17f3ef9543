#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite: unit and
# simulator tests, loopback and network-namespace integration tests (ctest),
# then a short run of every libFuzzer target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"

FUZZ_SECONDS=${FUZZ_SECONDS:-15}
fuzzers=(fuzz_packet fuzz_manifest fuzz_receiver fuzz_tcl fuzz_rex_server)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DARDUS_FUZZ=ON -DARDUS_BUILD_TESTS=OFF -DARDUS_WERROR=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${fuzzers[@]}"
passed=0
failed=0
for target in "${fuzzers[@]}"; do
  log=$(mktemp)
  if ./build-fuzz/fuzz/$target -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 >"$log" 2>&1; then
    passed=$((passed + 1))
    grep -E "^(Done|stat::number_of_executed_units)" "$log" || true
  else
    failed=$((failed + 1))
    echo "fuzz: $target FAILED; its output:"
    tail -n 60 "$log"
  fi
  rm -f "$log"
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))

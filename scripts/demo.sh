#!/usr/bin/env bash
# The main job: installs dependencies, builds, and sends a generated 256 MiB
# file from one sender to three receivers on this host over loopback
# multicast, printing the per-receiver report, then checks every copy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
ARDUS=$PWD/build/ardus
SIZE_MB=${SIZE_MB:-256}
demo=$(mktemp -d /tmp/ardus-demo-XXXXXX)
trap 'jobs -p | xargs -r kill 2>/dev/null || true; rm -rf "$demo"' EXIT

echo "== generating a ${SIZE_MB} MiB file"
mkdir -p "$demo/source"
head -c $((SIZE_MB << 20)) /dev/urandom > "$demo/source/image.raw"
for i in 1 2 3; do
  mkdir -p "$demo/receiver$i"
  $ARDUS receive --interface lo --dir "$demo/receiver$i" --once --timeout 60 &
done
sleep 0.5
echo "== sending to 3 receivers over loopback multicast"
$ARDUS send --interface lo --receivers 3 "$demo/source/image.raw"
wait
for i in 1 2 3; do
  cmp "$demo/source/image.raw" "$demo/receiver$i/image.raw"
done
echo "== all 3 copies are byte-identical to the source"

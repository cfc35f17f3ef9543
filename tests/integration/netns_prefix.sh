#!/usr/bin/env bash
# Issue 15, 1, as it was found: the real sender, one receiver losing 2% of
# its frames (nftables, network namespaces), and 30 files whose names share
# their first 200 bytes. Each file spans several blocks, so loss leaves many
# files incomplete at once; every one must be published with its own bytes
# (temporary names were derived from the first 200 bytes, and one file's
# live temporary was removed as another's "stale leftover").
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces"
for tool in ip nft tc ethtool; do command -v $tool >/dev/null || skip "needs $tool"; done
netns_testbed prefix 1 2 none

prefix=$(printf 'p%.0s' $(seq 200))
mkdir -p "$work/src/tree" "$work/r1"
for i in $(seq 0 29); do
  head -c $(( (1 << 20) + 4099 * i )) /dev/urandom > "$work/src/tree/$prefix$i"
done
testbed_exec "$tag" r1 $ARDUS receive --interface eth0 --dir "$work/r1" --once --timeout 60 \
  --json > "$work/r1.json" 2> "$work/r1.err" &
sleep 0.5
set +e
testbed_exec "$tag" s $ARDUS send --interface eth0 --receivers 1 --wait 20 --rate 200M --json \
  "$work/src/tree" > "$work/send.json" 2> "$work/send.err"
code=$?
set -e
wait
[[ $code -eq 0 ]] || { cat "$work/send.json" "$work/send.err" "$work/r1.err" "$work/r1.json" >&2; fail "sender exit $code"; }
diff -r "$work/src/tree" "$work/r1/tree" || fail "a file was published with other bytes, or is missing"
if find "$work/r1" -name '.ardus-*' | grep -q .; then fail "temporary or journal files left"; fi
python3 - "$work/send.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
x = r["receivers"][0]
print(f"prefix: 30 files sharing a 200-byte prefix at 2% loss: {x['status']}, loss "
      f"{x['loss'] * 100:.1f}%, {r['stats']['repair_symbols']} repair symbols, every file identical")
PY

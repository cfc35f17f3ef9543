#!/usr/bin/env bash
# What a passive observer on the link sees: every frame on the sender's
# switch port is captured (AF_PACKET, tests/integration/link_capture.py)
# during a transfer. With the default --encrypt aes256-gcm no frame may hold
# any of the file's probes (a 32-byte run every 4 KiB); with --encrypt auth
# (tagged, not encrypted) most must appear, which shows the capture sees the
# data at all.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and a packet socket"
for tool in ip nft tc ethtool; do command -v $tool >/dev/null || skip "needs $tool"; done
here=$(dirname "$0")
netns_testbed capture 2 0 none
head -c $((4 << 20)) /dev/urandom > "$work/secret.bin"

for mode in aes256-gcm auth; do
  rm -rf "$work/r1" "$work/r2" "$work/stop" "$work/cap.json"*
  mkdir -p "$work/r1" "$work/r2"
  ip netns exec "$tag-br" python3 "$here/link_capture.py" p-s "$work/secret.bin" "$work/stop" \
    "$work/cap.json" &
  capture=$!
  for _ in $(seq 50); do [[ -e "$work/cap.json.ready" ]] && break; sleep 0.1; done
  for i in 1 2; do
    testbed_exec "$tag" r$i $ARDUS receive --interface eth0 --dir "$work/r$i" --once --timeout 30 \
      --json > "$work/r$i.json" 2> "$work/r$i.err" &
  done
  sleep 0.5
  testbed_exec "$tag" s $ARDUS send --interface eth0 --receivers 2 --wait 10 --rate 200M --json \
    --encrypt $mode "$work/secret.bin" > "$work/send.json" 2> "$work/send.err" \
    || fail "$mode transfer failed: $(cat "$work/send.err" "$work"/r*.err)"
  sleep 0.3
  touch "$work/stop"
  wait $capture
  wait
  for i in 1 2; do cmp "$work/secret.bin" "$work/r$i/secret.bin" || fail "$mode: receiver $i differs"; done
  read -r frames probes found < <(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print(r['udp_frames'], r['probes'], r['found'])" "$work/cap.json")
  echo "$mode: captured $frames UDP frames; $found of $probes file probes seen"
  ((frames > 2000)) || fail "$mode: only $frames frames captured"
  if [[ $mode == aes256-gcm ]]; then
    ((found == 0)) || fail "aes256-gcm: $found probes of the file appear on the link"
  else
    ((found * 10 >= probes * 9)) || fail "auth: only $found of $probes probes seen: the capture misses data"
  fi
done

#!/usr/bin/env bash
# A forged ANNOUNCE whose source address the receiver has no route to (a
# peer on the link may spoof any): the receiver cannot send its JOIN. That
# session fails alone; the receiver keeps serving, and takes the next real
# session. (It used to exit 4: "cannot send to ...: Network is unreachable".)
# On network namespaces (bench/testbed.sh): receivers there have no default
# route, as on an isolated LAN.
# The forgeries are version 1 datagrams, so both sides run --encrypt none
# (receivers --accept-plaintext); under version 2 they are refused outright
# (secure_sim_test, netns_capture.sh).
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and a raw socket"
for tool in ip nft tc ethtool; do command -v $tool >/dev/null || skip "needs $tool"; done
here=$(dirname "$0")
netns_testbed spoof 1 0 none
testbed_exec "$tag" r1 ip route get 192.0.2.77 >/dev/null 2>&1 && skip "the receiver has a route to 192.0.2.77"

mkdir -p "$work/r1"
# Not through testbed_exec: $! must be the receiver itself, to signal it.
ip netns exec "$tag-r1" $ARDUS receive --interface eth0 --dir "$work/r1" --json --accept-plaintext \
  > "$work/r1.json" 2> "$work/r1.err" &
receiver=$!
sleep 0.5
testbed_exec "$tag" s python3 "$here/hostile_peer.py" spoof-announce 192.0.2.77 eth0 239.255.18.35 1835 \
  || fail "could not send the spoofed ANNOUNCE"
sleep 0.5
kill -0 $receiver 2>/dev/null || { cat "$work/r1.err" >&2; fail "the receiver exited on a spoofed ANNOUNCE"; }
echo "hello after the spoof" > "$work/real.txt"
# The forged session ends after the 3 s quiet timeout; the sender waits for it.
testbed_exec "$tag" s $ARDUS send --interface eth0 --receivers 1 --wait 20 --json --encrypt none "$work/real.txt" \
  > "$work/send.json" 2> "$work/send.err" || { cat "$work/send.err" "$work/r1.err" >&2; fail "real session failed"; }
cmp "$work/real.txt" "$work/r1/real.txt" || fail "real session's file differs"
kill -TERM $receiver
set +e; wait $receiver; code=$?; set -e
[[ $code -eq 0 ]] || fail "receiver exit $code on SIGTERM"
python3 - "$work/r1.json" <<'PY'
import json, sys
reports = [json.loads(line) for line in open(sys.argv[1])]
assert [r["status"] for r in reports] == ["failed", "ok"], reports
assert "cannot reach the sender" in reports[0]["reason"], reports[0]
print(f"spoof: forged ANNOUNCE from 192.0.2.77 failed alone ({reports[0]['reason']}); "
      "the next session was received")
PY

# The sender likewise: its DONE_ACK to a DONE forged from an unreachable
# address is that peer's loss, not the end of the session (it was exit 4).
mkdir -p "$work/r2"
testbed_exec "$tag" r1 $ARDUS receive --interface eth0 --dir "$work/r2" --once --timeout 30 --accept-plaintext \
  > /dev/null 2>&1 &
head -c $((8 << 20)) /dev/urandom > "$work/big.bin"
testbed_exec "$tag" r1 python3 "$here/hostile_peer.py" spoof-done 192.0.2.77 eth0 239.255.18.35 1835 \
  10.77.0.1 1834 &
forger=$!
set +e
testbed_exec "$tag" s $ARDUS send --interface eth0 --receivers 2 --wait 10 --rate 100M --json --encrypt none \
  "$work/big.bin" > "$work/send2.json" 2> "$work/send2.err"
code=$?
set -e
wait $forger || fail "could not send the spoofed DONE"
wait
[[ $code -eq 1 ]] || { cat "$work/send2.err" >&2; fail "sender exit $code (expected 1: one 'receiver' failed)"; }
cmp "$work/big.bin" "$work/r2/big.bin" || fail "the real receiver's copy differs"
python3 - "$work/send2.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
st = sorted((x["status"], x["reason"]) for x in r["receivers"])
assert st[0][0] == "failed" and "forged" in st[0][1] and st[1][0] == "ok", st
print(f"spoof: the sender's reply to a DONE forged from 192.0.2.77 was lost, the session went on: {st}")
PY

#!/usr/bin/env bash
# Issue 17 on the namespace testbed: a third party on the link (r3) attacks a
# version 2 session between the sender and two receivers. While the file
# moves it floods forged JOIN, NAK, STATUS and DONE at the sender, spoofed
# from a real receiver's address, and forged ANNOUNCE (tampered manifest
# digest), DATA, POLL, ADVERT and END at the groups, spoofed from the
# sender's, each as version 2 with made-up tags and as version 1 plaintext,
# plus replayed and bit-flipped copies of real sealed DATA
# (hostile_peer.py forge-v2). Each forgery may only move a counter: the
# session ends with exactly the two real receivers verified, no repairs are
# drawn, and the refusals show in both sides' --json.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and a raw socket"
for tool in ip nft tc ethtool; do command -v $tool >/dev/null || skip "needs $tool"; done
here=$(dirname "$0")
netns_testbed forge 3 0 none
SIZE_MB=48
head -c $((SIZE_MB << 20)) /dev/urandom > "$work/payload.bin"

for i in 1 2; do
  mkdir -p "$work/r$i"
  testbed_exec "$tag" r$i $ARDUS receive --interface eth0 --dir "$work/r$i" --once --timeout 60 \
    --json > "$work/r$i.json" 2> "$work/r$i.err" &
done
testbed_exec "$tag" r3 python3 "$here/hostile_peer.py" forge-v2 eth0 239.255.18.35 1835 \
  10.77.0.1 10.77.0.11 "$work/stop" "$work/forged.json" 2> "$work/forger.err" &
forger=$!
sleep 0.5
tx0=$(testbed_tx_bytes "$tag")
set +e
# A fixed rate well under the link, so that the forger has the whole
# transfer to work in and any repair it drew would show.
testbed_exec "$tag" s $ARDUS send --interface eth0 --receivers 2 --wait 20 --rate 150M --json \
  "$work/payload.bin" > "$work/send.json" 2> "$work/send.err"
code=$?
set -e
tx1=$(testbed_tx_bytes "$tag")
touch "$work/stop"
wait $forger || { cat "$work/forger.err" >&2; fail "the forger failed"; }
wait
[[ $code -eq 0 ]] || { cat "$work/send.json" "$work/send.err" "$work"/r*.err >&2; fail "sender exit $code"; }
for i in 1 2; do cmp "$work/payload.bin" "$work/r$i/payload.bin" || fail "receiver $i differs"; done

python3 - "$work" "$(( (tx1 - tx0) ))" "$((SIZE_MB << 20))" <<'PY'
import json, sys
work, tx, payload = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
send = json.load(open(f"{work}/send.json"))
forged = json.load(open(f"{work}/forged.json"))
recv = [json.loads(open(f"{work}/r{i}.json").read().splitlines()[-1]) for i in (1, 2)]
problems = []
def need(ok, why):
    if not ok:
        problems.append(why)
sent = forged["sent"]
need(sum(sent.values()) > 1000, f"the forger sent too little to test anything: {sent}")
need(send["encryption"] == "aes256-gcm", f"session mode {send['encryption']}")
need(send["receivers_ok"] == 2 and len(send["receivers"]) == 2,
     f"the sender counts {len(send['receivers'])} receivers, {send['receivers_ok']} ok: "
     "a forged JOIN or DONE counted")
need(all(r["status"] == "ok" for r in send["receivers"]), f"receivers: {send['receivers']}")
# A forged NAK names the whole session (or 2^20 blocks): had one counted,
# the sender would repair it all. The flood's load may cost a receiver a few
# datagrams from its socket buffer, repaired as any loss: under 2%.
repairs, source = send["stats"]["repair_symbols"], send["stats"]["source_symbols"]
need(repairs <= 0.02 * source,
     f"{repairs} repair symbols for {source} source symbols on a lossless link: a forged NAK drew them")
need(send["rate_decreases"] == 0, f"{send['rate_decreases']} rate decreases: a forged STATUS throttled")
ratio = tx / payload
# Frames of 1514 bytes carry 1428 payload bytes under version 2: 1.060.
need(ratio < 1.08, f"sender link bytes / payload = {ratio:.4f}")
s = send["security"]
need(s["tampered"] > 0 and s["plaintext"] > 0, f"the sender refused no forged feedback: {s}")
for i, r in enumerate(recv, 1):
    need(r["status"] == "ok", f"receiver {i}: {r}")
    rs = r["security"]
    need(rs["tampered"] > 0 and rs["replayed"] > 0 and rs["plaintext"] > 0,
         f"receiver {i} did not refuse the forged group traffic: {rs}")
def refusals(stats):
    counters = ("tampered", "replayed", "plaintext", "unkeyed", "malformed", "foreign",
                "not_allowed", "conflicting", "over_limit", "untrusted")
    return {k: stats[k] for k in counters if stats.get(k)}
print(f"netns forge: {sum(sent.values())} forged datagrams ({sent}); transfer "
      f"{send['seconds']:.2f} s, wire ratio {ratio:.4f}, {send['receivers_ok']}/2 verified, "
      f"{send['stats']['repair_symbols']} repair symbols, {send['stats']['naks']} NAKs; sender refused "
      f"{refusals(s)}; receivers refused "
      f"{[refusals(r['security']) for r in recv]}")
if problems:
    print("FAIL: " + "; ".join(problems), file=sys.stderr)
    sys.exit(1)
PY

#!/usr/bin/env bash
# Identities and trust through the real CLI over loopback: keygen's files and
# fingerprint; a loose or bad key refused with its path named; --trust takes
# the trusted sender and ignores (and names) an untrusted one; --allow takes
# listed receivers and refuses (and names) another; each --encrypt mode
# transfers, and a receiver takes --encrypt none only with --accept-plaintext.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/ardus-sec-XXXXXX)
cleanup() { jobs -p | xargs -r kill 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
base=43000

# keygen: FILE 0600, FILE.pub, fingerprint first; never overwrites.
$ARDUS keygen "$work/sender.key" > "$work/keygen.out"
fpr=$(head -1 "$work/keygen.out")
[[ $fpr =~ ^[0-9a-f]{64}$ ]] || fail "keygen's first line is not a fingerprint: $fpr"
[[ $(stat -c %a "$work/sender.key") == 600 ]] || fail "private key mode $(stat -c %a "$work/sender.key")"
[[ -f "$work/sender.key.pub" ]] || fail "no .pub written"
# The fingerprint as documented: SHA-256 of the raw public key.
want=$(openssl pkey -in "$work/sender.key" -pubout -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
[[ $fpr == "$want" ]] || fail "fingerprint $fpr, openssl says $want"
expect_exit 4 "sender.key: exists" -- $ARDUS keygen "$work/sender.key"
$ARDUS keygen "$work/r1.key" | head -1 > "$work/r1.fpr"
$ARDUS keygen "$work/r2.key" | head -1 > "$work/r2.fpr"
$ARDUS keygen "$work/other.key" | head -1 > "$work/other.fpr"

mkdir -p "$work/src" "$work/d1" "$work/d2" "$work/d3"
head -c 2000000 /dev/urandom > "$work/src/payload.bin"

# Loose permissions, garbage, missing: refused before anything starts.
cp "$work/r1.key" "$work/loose.key"; chmod 644 "$work/loose.key"
expect_exit 2 "loose.key: key file is readable by group or others \(mode 0644\)" -- \
  $ARDUS send --key "$work/loose.key" --wait 1 "$work/src"
expect_exit 2 "loose.key: key file is readable by group or others" -- \
  $ARDUS receive --key "$work/loose.key" --dir "$work/d1" --once --timeout 1
echo garbage > "$work/bad.key"; chmod 600 "$work/bad.key"
expect_exit 2 "bad.key: bad key" -- $ARDUS send --key "$work/bad.key" --wait 1 "$work/src"
expect_exit 4 "absent.key: cannot open" -- $ARDUS receive --key "$work/absent.key" --dir "$work/d1" --once
expect_exit 2 "--trust: 'abc'" -- $ARDUS receive --trust abc --dir "$work/d1" --once
echo "# nobody yet" > "$work/empty.list"
expect_exit 2 "--allow: .*empty.list: no fingerprints" -- $ARDUS send --allow "@$work/empty.list" --wait 1 "$work/src"

# --trust: a receiver trusting another key ignores this sender and names it.
$ARDUS receive --dir "$work/d3" --interface lo --once --timeout 3 --json --trust "$(cat "$work/other.fpr")" \
  $(net_flags $base) > "$work/untrusting.json" 2> "$work/untrusting.err" &
untrusting=$!
# --allow: r1 and r2 are allowed; "other" is not.
for i in 1 2; do
  $ARDUS receive --dir "$work/d$i" --interface lo --once --timeout 20 --json --key "$work/r$i.key" \
    --trust "@$work/sender.key.pub" $(net_flags $base) > "$work/r$i.json" 2> "$work/r$i.err" &
done
mkdir -p "$work/dx"
$ARDUS receive --dir "$work/dx" --interface lo --once --timeout 4 --key "$work/other.key" \
  $(net_flags $base) > "$work/rx.out" 2> "$work/rx.err" &
sleep 0.3
cat "$work/r1.fpr" "$work/r2.fpr" > "$work/allowed"
set +e
$ARDUS send --interface lo --receivers 2 --wait 3 --json --key "$work/sender.key" --allow "@$work/allowed" \
  $(send_flags $base) "$work/src" > "$work/send.json" 2> "$work/send.err"
code=$?
set -e
wait
[[ $code -eq 0 ]] || fail "sender exit $code: $(cat "$work/send.json" "$work/send.err")"
python3 - "$work" "$fpr" <<'PY' || fail "reports do not name the keys"
import json, sys
work, sender = sys.argv[1], sys.argv[2]
s = json.load(open(f"{work}/send.json"))
allowed = {open(f"{work}/r{i}.fpr").read().strip() for i in (1, 2)}
other = open(f"{work}/other.fpr").read().strip()
assert s["encryption"] == "aes256-gcm", s
assert {r["fingerprint"] for r in s["receivers"]} == allowed, s["receivers"]
assert other in s["security"]["refused_receivers"], s["security"]
for i in (1, 2):
    r = json.load(open(f"{work}/r{i}.json"))
    assert r["status"] == "ok" and r["sender_fingerprint"] == sender and r["encryption"] == "aes256-gcm", r
PY
cmp "$work/src/payload.bin" "$work/d1/src/payload.bin" && cmp "$work/src/payload.bin" "$work/d2/src/payload.bin" \
  || fail "allowed receivers' copies differ"
grep -q "ignoring sessions of untrusted sender $fpr" "$work/untrusting.err" \
  || fail "untrusted sender not logged: $(cat "$work/untrusting.err")"
[[ ! -e "$work/d3/src/payload.bin" ]] || fail "the untrusting receiver wrote the file"
grep -q "receiver not allowed (not in --allow): $(cat "$work/other.fpr")" "$work/send.err" \
  || fail "refused receiver not named: $(cat "$work/send.err")"
grep -q "is probably not in its --allow" "$work/rx.err" || fail "refused receiver not told: $(cat "$work/rx.err")"
[[ ! -e "$work/dx/src/payload.bin" ]] || fail "the refused receiver wrote the file"
echo "trust and allow: trusted taken, untrusted ignored and named, unlisted receiver refused and named"

# Each mode end to end; none only with --accept-plaintext.
for mode in auth none; do
  rm -rf "$work/m"; mkdir -p "$work/m"
  flags=(); [[ $mode == none ]] && flags=(--accept-plaintext)
  $ARDUS receive --dir "$work/m" --interface lo --once --timeout 20 --json "${flags[@]}" \
    $(net_flags $((base + 100))) > "$work/m.json" 2> "$work/m.err" &
  sleep 0.3
  $ARDUS send --interface lo --receivers 1 --wait 10 --json --encrypt $mode \
    $(send_flags $((base + 100))) "$work/src" > "$work/ms.json" 2> "$work/ms.err" \
    || fail "--encrypt $mode: $(cat "$work/ms.json" "$work/ms.err" "$work/m.err")"
  wait
  [[ $(json_field "$work/m.json" encryption) == "$mode" ]] || fail "mode not reported: $(cat "$work/m.json")"
  cmp "$work/src/payload.bin" "$work/m/src/payload.bin" || fail "--encrypt $mode copy differs"
done
rm -rf "$work/m"; mkdir -p "$work/m"
$ARDUS receive --dir "$work/m" --interface lo --once --timeout 3 --json \
  $(net_flags $((base + 150))) > "$work/m.json" 2> "$work/m.err" &
sleep 0.3
set +e
$ARDUS send --interface lo --receivers 1 --wait 2 --json --encrypt none $(send_flags $((base + 150))) \
  "$work/src" > "$work/ms.json" 2> "$work/ms.err"
code=$?
set -e
wait
[[ $code -eq 3 ]] || fail "a plaintext session was taken without --accept-plaintext (exit $code)"
[[ ! -e "$work/m/src/payload.bin" ]] || fail "plaintext session written without --accept-plaintext"
echo "modes: aes256-gcm, auth and none transfer; none refused without --accept-plaintext"

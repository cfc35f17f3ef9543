#!/usr/bin/env bash
# The command line: help, unknown options, bad values and unreachable
# situations give a clear message and the documented exit code.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/ardus-cli-XXXXXX)
trap 'rm -rf "$work"' EXIT
expect() {  # expect CODE PATTERN -- command...
  local want=$1 pattern=$2; shift 3
  set +e; out=$("$@" 2>&1); got=$?; set -e
  [[ $got -eq $want ]] || fail "'$*' exited $got, expected $want: $out"
  grep -qiE -e "$pattern" <<<"$out" || fail "'$*' output lacks /$pattern/: $out"
}
expect 0 "--receivers" -- $ARDUS send --help
expect 0 "--once" -- $ARDUS receive --help
expect 2 "not expected|extras|unknown|following argument" -- $ARDUS send --bogus x
expect 2 "required" -- $ARDUS receive
expect 2 "expected bits/s" -- $ARDUS send --rate fast /etc/hostname
expect 2 "unknown setting" -- $ARDUS send --rate auto:floor=1M /etc/hostname
expect 2 "min above max" -- $ARDUS send --rate auto:min=2G,max=1G /etc/hostname
expect 2 "expected auto" -- $ARDUS send --rate automatic /etc/hostname
expect 2 "md5 not in .xxh128,sha256" -- $ARDUS send --digest md5 /etc/hostname
expect 2 "no such interface" -- $ARDUS send --interface nosuch0 /etc/hostname
expect 2 "not an IPv4" -- $ARDUS send --group 1.2.3 /etc/hostname
expect 2 "must be multicast" -- $ARDUS send --group 10.1.2.3 /etc/hostname
# A missing source is a local error (4), as README says, not a usage error.
expect 4 "cannot stat" -- $ARDUS send --interface lo "$work/missing"
# The destination is checked before the receiver says it is listening.
expect 4 "cannot open destination" -- $ARDUS receive --interface lo --dir "$work/missing" --once --timeout 1
if grep -q listening <<<"$out"; then fail "receive said it was listening before failing: $out"; fi
# An unknown command is named, with the nearest one.
expect 2 "unknown command 'sned' \(did you mean 'send'\?\)" -- $ARDUS sned /etc/hostname
expect 2 "unknown command 'recieve' \(did you mean 'receive'\?\)" -- $ARDUS recieve --dir "$work"
expect 2 "unknown command 'frobnicate'; the commands are send, receive" -- $ARDUS frobnicate
expect 0 "keep-special-bits" -- $ARDUS receive --help
# ardus doctor: its help names --probe and its exit codes; a group that is
# not multicast, or a probe window out of range, is a usage error.
expect 0 "1 at least one check failed" -- $ARDUS doctor --help
expect 2 "must be IPv4 multicast groups" -- $ARDUS doctor --group 10.0.0.1
expect 2 "probe-seconds" -- $ARDUS doctor --probe --probe-seconds 0
# sim_scale --help prints its usage and runs nothing (the sweep takes minutes).
if [[ -n ${SIM_SCALE:-} ]]; then
  expect 0 "usage: sim_scale" -- timeout 10 "$SIM_SCALE" --help
  expect 2 "unknown option --bogus" -- timeout 10 "$SIM_SCALE" --bogus 1
fi
expect 3 "no receiver joined" -- $ARDUS send --interface lo --wait 0.5 --port 44035 --feedback-port 44034 /etc/hostname
expect 3 "no session" -- $ARDUS receive --interface lo --dir "$work" --once --timeout 0.5 --port 44135
# A privileged port without the right to bind it: as root, drop to nobody to see it.
as_user=()
if [[ $(id -u) -eq 0 ]]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
expect 4 "permission denied.*--feedback-port" -- "${as_user[@]}" $ARDUS send --interface lo --feedback-port 999 /etc/hostname

# A service manager stops a receiver with SIGTERM and expects 0; SIGHUP (a
# closed terminal, a reload) stops it the same way; SIGINT (^C) is 130.
for sig in TERM HUP INT; do
  $ARDUS receive --interface lo --dir "$work" --port 44335 >/dev/null 2>&1 &
  pid=$!
  sleep 0.3
  kill -$sig $pid
  set +e; wait $pid; got=$?; set -e
  want=$([[ $sig == INT ]] && echo 130 || echo 0)
  [[ $got -eq $want ]] || fail "receive on SIG$sig exited $got, expected $want"
done
# Mid-session too: SIGHUP removes the receiver's temporaries and exits 0;
# it stops a sender as SIGINT does (130). Both died of it before.
mkdir "$work/hup"
head -c $((8 << 20)) /dev/urandom > "$work/slow.bin"
$ARDUS receive --interface lo --dir "$work/hup" --port 44635 >/dev/null 2>&1 &
receiver=$!
sleep 0.3
$ARDUS send --interface lo --receivers 1 --rate 10M --port 44635 --feedback-port 44634 \
  --data-port 44617 "$work/slow.bin" >/dev/null 2>&1 &
sender=$!
for _ in $(seq 100); do ls -A "$work/hup" | grep -q '\.part$' && break; sleep 0.05; done
ls -A "$work/hup" | grep -q '\.part$' || fail "no temporary mid-session: $(ls -A "$work/hup")"
kill -HUP $receiver
set +e; wait $receiver; got=$?; set -e
[[ $got -eq 0 ]] || fail "receive on SIGHUP mid-session exited $got, expected 0"
[[ -z $(ls -A "$work/hup") ]] || fail "SIGHUP left $(ls -A "$work/hup")"
kill -HUP $sender
set +e; wait $sender; got=$?; set -e
[[ $got -eq 130 ]] || fail "send on SIGHUP exited $got, expected 130"

# On a terminal the hashing progress counts towards the total to hash (it
# used to read 100% throughout).
head -c $((64 << 20)) /dev/urandom > "$work/big.bin"
set +e
out=$(script -qec "$ARDUS send --interface lo --wait 0.2 --port 44435 --feedback-port 44434 $work/big.bin" /dev/null 2>&1)
set -e
grep -qE "hashing +[0-9]{1,2}\.[0-9]%" <<<"$out" || fail "no partial hashing progress: $(tr '\r' '\n' <<<"$out")"

# Without --receivers the sender waits all of --wait: the report gives the
# transfer's time and rate apart from that wait.
head -c $((1 << 20)) /dev/urandom > "$work/one.bin"
for format in --json ""; do
  mkdir -p "$work/dst$format"
  $ARDUS receive --interface lo --dir "$work/dst$format" --once --timeout 10 --port 44535 \
    >/dev/null 2>&1 &
  sleep 0.3
  $ARDUS send --interface lo --wait 1.5 --port 44535 --feedback-port 44534 --data-port 44517 \
    $format "$work/one.bin" > "$work/report$format" 2>/dev/null || fail "session failed"
  wait
done
python3 - "$work/report--json" <<'PY' || fail "JSON report does not separate the wait"
import json, sys
r = json.load(open(sys.argv[1]))
assert 1.4 <= r["wait_seconds"] < 3, r
assert r["transfer_seconds"] < r["wait_seconds"], r
assert abs(r["seconds"] - r["wait_seconds"] - r["transfer_seconds"]) < 0.01, r
assert r["goodput_bps"] > 8 * (1 << 20) / r["wait_seconds"], r
PY
grep -qE "verified 1.0 MiB \(1 files\) in 0\.[0-9]+s, .* after 1\.[5-9][0-9]s waiting for receivers" \
  "$work/report" || fail "text report does not separate the wait: $(cat "$work/report")"
echo "cli: all usage errors reported with their exit codes"

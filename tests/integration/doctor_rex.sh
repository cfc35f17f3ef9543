#!/usr/bin/env bash
# ardus doctor's Trader and Notify checks against real servers on loopback:
# a plaintext rexd answers REX; a TLS rexd answers with --tls-pin, and is
# named a TLS server without it; a port that accepts TCP but speaks no REX,
# and a closed port, each fail with a fix and exit 1.
source "$(dirname "$0")/lib.sh"
ARDUS=${ARDUS:?set ARDUS to the ardus binary}
REXD=${REXD:?set REXD to the rexd binary}
work=$(mktemp -d /tmp/doctor-rex-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start_rexd NAME [flags...]: rexd on free ports; sets tport, nport, log.
start_rexd() {
  local name=$1; shift
  tport=$((20000 + RANDOM % 20000)); nport=$((tport + 1)); log=$work/$name.err
  $REXD --listen 127.0.0.1 --trader-port "$tport" --notify-port "$nport" \
    --data "$work/$name" "$@" 2>"$log" &
  pids+=($!)
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $tport), 1).close()" \
      2>/dev/null && return
    sleep 0.1
  done
  fail "rexd ($name) did not come up: $(cat "$log")"
}
# finding FILE CHECK FIELD: that field of the finding named CHECK.
finding() {
  python3 -c "
import json, sys
print(next(f[sys.argv[3]] for f in json.load(open(sys.argv[1])) if f['check'] == sys.argv[2]))" "$@"
}
# doctor OUT [flags...]: doctor --json into OUT, its exit in rc. Other checks
# (interface, route) may fail on this host too, so exit 0 is never asserted.
doctor() {
  local out=$1; shift
  set +e
  $ARDUS doctor --json "$@" >"$out"
  rc=$?
  set -e
}

start_rexd plain
doctor "$work/plain.json" --trader 127.0.0.1:$tport --notify 127.0.0.1:$nport
for check in trader notify; do
  [[ $(finding "$work/plain.json" $check status) == ok ]] || fail "plaintext $check: $(cat "$work/plain.json")"
  finding "$work/plain.json" $check detail | grep -q 'answers REX$' || fail "detail: $(cat "$work/plain.json")"
done
echo "plaintext rexd: trader and notify answer REX"

start_rexd tls --tls-self-signed "$work/tls-cert"
pin=$(sed -n 's/^rexd: TLS pin (rex --tls-pin, SHA-256 of the public key): //p' "$log")
[[ $pin =~ ^[0-9a-f]{64}$ ]] || fail "rexd printed no pin: $(cat "$log")"
doctor "$work/tls.json" --trader 127.0.0.1:$tport --tls-pin "$pin"
[[ $(finding "$work/tls.json" trader status) == ok ]] || fail "TLS by pin: $(cat "$work/tls.json")"
finding "$work/tls.json" trader detail | grep -q 'answers REX over TLS' || fail "TLS detail: $(cat "$work/tls.json")"
doctor "$work/tls-plain.json" --trader 127.0.0.1:$tport
((rc == 1)) || fail "plaintext HELLO to a TLS port: exit $rc, expected 1"
[[ $(finding "$work/tls-plain.json" trader status) == fail ]] || fail "$(cat "$work/tls-plain.json")"
finding "$work/tls-plain.json" trader fix | grep -q 'tls-ca or --tls-pin' || fail "no TLS fix: $(cat "$work/tls-plain.json")"
echo "TLS rexd: answers with --tls-pin; without it: $(finding "$work/tls-plain.json" trader detail)"

# A listener that accepts and says nothing: TCP alone is not a Trader.
mute=$((20000 + RANDOM % 20000))
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $mute)); s.listen(8)
conns = []
while True:
    conns.append(s.accept()[0])" &
pids+=($!)
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $mute), 1).close()" 2>/dev/null && break
  sleep 0.1
done
doctor "$work/mute.json" --trader 127.0.0.1:$mute
((rc == 1)) || fail "mute listener: exit $rc, expected 1"
[[ $(finding "$work/mute.json" trader status) == fail ]] || fail "mute listener passed: $(cat "$work/mute.json")"
echo "mute listener: $(finding "$work/mute.json" trader detail)"

closed=$((20000 + RANDOM % 20000))
doctor "$work/closed.json" --notify 127.0.0.1:$closed
((rc == 1)) || fail "closed port: exit $rc, expected 1"
[[ $(finding "$work/closed.json" notify status) == fail ]] || fail "closed port passed: $(cat "$work/closed.json")"
finding "$work/closed.json" notify fix | grep -q 'start rexd there' || fail "no fix: $(cat "$work/closed.json")"
echo "closed port: $(finding "$work/closed.json" notify detail)"
echo "PASS doctor_rex"

#!/usr/bin/env bash
# rexd on a --data that fills up (a 2 MiB tmpfs): the publish whose commit
# meets the full disk is answered storage_failed, rexd stops with exit 5
# saying the disk is full, and once there is room again a restarted rexd
# holds every event it acknowledged. Needs root, to mount the tmpfs in a
# private mount namespace.
source "$(dirname "$0")/lib.sh"
REXD=${REXD:?set REXD to the rexd binary}
REX=${REX:?set REX to the rex binary}
here=$(cd "$(dirname "$0")" && pwd)
[[ $(id -u) -eq 0 ]] || skip "needs root to mount a small tmpfs"
if [[ -z ${REXD_STORAGE_NS:-} ]]; then
  # The mount stays private to this test and goes when it ends.
  unshare --mount --propagation private true 2>/dev/null ||
    skip "cannot make a mount namespace (unshare needs CAP_SYS_ADMIN)"
  exec env REXD_STORAGE_NS=1 unshare --mount --propagation private bash "$0" "$@"
fi
work=$(mktemp -d /tmp/rexd-storage-XXXXXX)
data=$work/data
port=$((20000 + RANDOM % 20000))
nport=$((port + 1))
export REX_NOTIFY=127.0.0.1:$nport
pid=
cleanup() {
  [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
  umount "$data" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$data"
mount -t tmpfs -o size=2M tmpfs "$data" || fail "cannot mount a tmpfs on $data"

start_rexd() {
  $REXD --listen 127.0.0.1 --trader-port "$port" --notify-port "$nport" --data "$data" \
    --quiet 2>"$work/rexd.err" &
  pid=$!
  for _ in $(seq 50); do $REX notify channel create jobs --persistent >/dev/null 2>&1 && return; sleep 0.1; done
  fail "rexd did not come up: $(cat "$work/rexd.err")"
}

# Publishes 16 KiB events one at a time (each its own commit) until one is
# refused; prints how many were acknowledged.
fill() {
  python3 - "$here" "$nport" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import rex_raw as r
s = r.connect(int(sys.argv[2]))
r.hello(s)
for n in range(1000):  # 16 MiB: far past the tmpfs
    s.sendall(r.frame(r.REQUEST, r.PUBLISH, n + 1, r.mp_map({
        "channel": "jobs", "domain": "test", "type": "t", "name": "e",
        "fields": {"n": n}, "body": b"x" * 16384})))
    f = r.read_frame(s)
    assert f, f"rexd hung up without answering publish {n}"
    if f[0] == r.ERROR:
        assert r.error_name(f[3]) == "storage_failed", (n, f[3][:200])
        print(n)
        sys.exit(0)
    assert f[0] == r.REPLY, (n, f[0])
sys.exit("the disk never filled")
PY
}

start_rexd
acked=$(fill) || fail "publishing until the disk is full"
[[ $acked -gt 10 ]] || fail "only $acked events fitted on 2 MiB"
set +e
wait "$pid"
code=$?
set -e
pid=
[[ $code -eq 5 ]] || fail "rexd exited $code after the failed commit, expected 5"
grep -q "the store failed, stopping: .*full" "$work/rexd.err" ||
  fail "rexd did not say the disk is full: $(cat "$work/rexd.err")"
echo "full disk: publish $acked answered storage_failed, rexd stopped with exit 5: ok"

# Room again: every acknowledged event is there, in order, and rexd serves.
mount -o remount,size=64M "$data"
start_rexd
$REX notify subscribe jobs "" --durable audit --count "$acked" --json >"$work/events.out" ||
  fail "reading the events back"
python3 - "$work/events.out" "$acked" <<'PY' || fail "acknowledged events lost after the restart"
import json, sys
ns = [json.loads(line)["fields"]["n"] for line in open(sys.argv[1])]
assert ns == list(range(int(sys.argv[2]))), ns[:5] + ["..."] + ns[-5:]
PY
$REX notify publish jobs --event test/t/e >/dev/null || fail "rexd does not serve after the restart"
kill "$pid"
wait "$pid" || fail "rexd exited $? on SIGTERM"
pid=
echo "after the restart: all $acked acknowledged events present: ok"

#!/usr/bin/env bash
# Notify end to end on loopback: fan-out to many subscribers with different
# filters, a slow consumer that must not grow rexd's memory, durable resume
# after a consumer disconnect and after kill -9 of rexd (every event counted
# by sequence number), and malformed or oversized input.
source "$(dirname "$0")/lib.sh"
REXD=${REXD:?set REXD to the rexd binary}
REX=${REX:?set REX to the rex binary}
here=$(dirname "$0")
work=$(mktemp -d /tmp/rexd-notify-XXXXXX)
port=$((20000 + RANDOM % 20000))
nport=$((port + 1))
export REX_NOTIFY=127.0.0.1:$nport
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
start_rexd() {
  $REXD --listen 127.0.0.1 --trader-port "$port" --notify-port "$nport" --data "$work/data" --quiet &
  rexd_pid=$!
  pids+=("$rexd_pid")
  for _ in $(seq 50); do $REX notify channel create probe >/dev/null 2>&1 && return; sleep 0.1; done
  fail "rexd did not come up"
}
rss_kib() { awk "/$1/ {print \$2}" "/proc/$rexd_pid/status"; }

start_rexd
expect_exit 0 "--durable" -- $REX notify subscribe --help

# Fan-out: 20 subscribers, each with its own filter, get exactly their events.
for k in $(seq 0 19); do
  if ((k < 10)); then
    filter="\$.n >= $((k * 20)) and \$.n < $((k * 20 + 20)) and \$type_name == 't0'"
  else
    filter="\$type_name == 't1' and \$.n >= $(((k - 10) * 20)) and \$.n < $(((k - 10) * 20 + 20))"
  fi
  $REX notify subscribe fan "$filter" --count 10 --json >"$work/fan$k.out" &
  pids+=($!)
  fan_pids+=($!)
done
sleep 1
python3 "$here/rex_raw.py" "$nport" publish fan 200
for p in "${fan_pids[@]}"; do wait "$p" || fail "a fan-out subscriber failed"; done
python3 - "$work" <<'PY' || fail "fan-out deliveries are wrong"
import json, sys
for k in range(20):
    ns = [json.loads(l)["fields"]["n"] for l in open(f"{sys.argv[1]}/fan{k}.out")]
    parity = 0 if k < 10 else 1
    lo = (k % 10) * 20
    want = [n for n in range(lo, lo + 20) if n % 2 == parity]
    assert ns == want, (k, ns, want)
PY
echo "fan-out to 20 filtered subscribers: ok"

# Offer and subscription changes reach a publisher watching the channel.
$REX notify types news --watch --count 2 --json >"$work/types.out" &
types_pid=$!
pids+=("$types_pid")
sleep 0.5
$REX notify subscribe news "\$domain_name == 'ardus'" --count 1 >/dev/null &
pids+=($!)
sleep 0.5
$REX notify publish news --event ardus/transfer/done >/dev/null
wait "$types_pid" || fail "types --watch failed"
python3 - "$work/types.out" <<'PY' || fail "type changes: $(cat "$work/types.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["offered"] == [] and lines[0]["subscribed"] == [], lines[0]
assert lines[1:] == [{"change": "subscribed", "type": "ardus/*"},
                     {"change": "offered", "type": "ardus/transfer"}], lines
PY
echo "offer and subscription changes: ok"

# --notify, --json and --timeout work at every level.
for argv in "--notify $REX_NOTIFY notify types news" "notify --notify $REX_NOTIFY types news" \
            "notify types news --notify $REX_NOTIFY" "--json --timeout 2000 --notify $REX_NOTIFY notify types news" \
            "notify channel --notify $REX_NOTIFY create levels"; do
  expect_exit 0 "offered|levels" -- env REX_NOTIFY=127.0.0.1:1 $REX $argv
done
expect_exit 2 "'localhost' is not HOST:PORT" -- $REX notify --notify localhost types news
# A subscriber stopped by SIGTERM exits 0; by Ctrl-C (SIGINT) 130.
for sig in TERM INT; do
  $REX notify subscribe news >/dev/null &
  sub=$!
  pids+=("$sub")
  sleep 0.5
  kill -$sig "$sub"
  set +e; wait "$sub"; code=$?; set -e
  want=$([[ $sig == TERM ]] && echo 0 || echo 130)
  [[ $code -eq $want ]] || fail "subscribe exited $code on SIG$sig, expected $want"
done
echo "flags at every level, and SIGTERM: ok"

# Union fields: `default $.u` picks the event whose union is in its default branch.
$REX notify subscribe shapes "default \$.shape and \$.shape._d == 9" --count 1 --json \
  >"$work/union.out" &
union_pid=$!
pids+=("$union_pid")
sleep 0.5
$REX notify publish shapes --event geo/shape/a --union shape=1:2.5 >/dev/null
$REX notify publish shapes --event geo/shape/b --union shape=9:unknown:default n=1 >/dev/null
wait "$union_pid" || fail "union subscriber failed"
python3 - "$work/union.out" <<'PY' || fail "union: $(cat "$work/union.out")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 1 and lines[0]["name"] == "b", lines
assert lines[0]["fields"] == {"n": 1, "shape": {"_d": 9, "_v": "unknown", "_default": True}}, lines
PY
expect_exit 2 "NAME=DISC:VALUE" -- $REX notify publish shapes --event a/b/c --union shape
echo "union fields and default: ok"

# A slow consumer: 320 MiB published while it reads nothing.
before=$(rss_kib VmRSS)
python3 "$here/rex_raw.py" "$nport" slow_consumer || fail "slow consumer run"
peak=$(rss_kib VmHWM)
growth=$(((peak - before) / 1024))
echo "rexd RSS ${before} KiB before, peak ${peak} KiB (+${growth} MiB) while 320 MiB went to a stalled subscriber"
((growth < 120)) || fail "rexd grew by ${growth} MiB for a slow consumer"
$REX notify publish flood --event test/t/e >/dev/null || fail "rexd stopped serving"
echo "slow consumer bounded: ok"

# Durable: 300 events read 100 at a time across a disconnect and a kill -9.
$REX notify channel create jobs --persistent --retain-count 100000 >/dev/null
python3 "$here/rex_raw.py" "$nport" publish jobs 300
$REX notify subscribe jobs "" --durable worker --count 100 --json >"$work/d1.out"
$REX notify subscribe jobs "" --durable worker --count 100 --json >"$work/d2.out"
kill -9 "$rexd_pid"
wait "$rexd_pid" 2>/dev/null || true
start_rexd
python3 "$here/rex_raw.py" "$nport" publish jobs 50 300
$REX notify subscribe jobs "" --durable worker --count 150 --json >"$work/d3.out"
python3 - "$work" <<'PY' || fail "durable delivery lost or repeated events"
import json, sys
seqs = [json.loads(l)["seq"] for f in ("d1", "d2", "d3") for l in open(f"{sys.argv[1]}/{f}.out")]
assert seqs == list(range(1, 351)), (len(seqs), seqs[:5], seqs[-5:])
PY
echo "durable resume across disconnects and kill -9: 350/350 events, none missing or repeated: ok"
expect_exit 1 "persistent" -- $REX notify subscribe fan "" --durable nope --count 1
python3 "$here/rex_raw.py" "$nport" durable_twice || fail "a durable name on two connections"

# Malformed and oversized input.
python3 "$here/rex_raw.py" "$nport" bad_publish || fail "bad publishes"
python3 "$here/rex_raw.py" "$nport" batch || fail "publish_batch"
head -c 3000000 /dev/zero >"$work/big"
expect_exit 4 "frame_too_large|reset by peer|Broken pipe" -- $REX notify publish jobs --event a/b/c --body "@$work/big"
$REX notify publish jobs --event a/b/c >/dev/null || fail "rexd stopped serving after bad input"
echo "malformed and oversized input: ok"

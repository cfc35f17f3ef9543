#!/usr/bin/env bash
# rexd and rex end to end on loopback: types, offers, queries, watches,
# leases (with a provider that dies), kill -9 persistence, raw hostile
# frames and queries, and the privileged-port error.
source "$(dirname "$0")/lib.sh"
REXD=${REXD:?set REXD to the rexd binary}
REX=${REX:?set REX to the rex binary}
here=$(dirname "$0")
work=$(mktemp -d /tmp/rexd-test-XXXXXX)
port=$((20000 + RANDOM % 20000))
export REX_TRADER=127.0.0.1:$port
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

start_rexd() {
  $REXD --listen 127.0.0.1 --trader-port "$port" --notify-port $((port + 1)) --data "$work/data" --quiet \
    2> >(tee -a "$work/rexd.err" >&2) &
  rexd_pid=$!
  pids+=("$rexd_pid")
  for _ in $(seq 50); do $REX trader list-types >/dev/null 2>&1 && return; sleep 0.1; done
  fail "rexd did not come up on port $port"
}
count() { $REX trader query "$@" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['count'])"; }

expect_exit 0 "--trader-port" -- $REXD --help
expect_exit 0 "--pref" -- $REX trader query --help
expect_exit 2 "not expected|extras|unknown|following argument" -- $REXD --bogus
expect_exit 2 "subcommand is required|not expected" -- $REX trader bogus

start_rexd
$REX trader add-type device name:string >/dev/null
$REX trader add-type printer --super device ppm:int:mandatory location:string colour:bool >/dev/null
$REX trader export printer ppm=30 location='Cambridge Lab' colour=true >/dev/null
$REX trader export printer ppm=12 location='Cambridge Hall' colour=false >/dev/null
$REX trader export printer ppm=50 location='Oxford' colour=true >/dev/null
$REX trader export device name=scanner >/dev/null
out=$($REX trader query printer "ppm > 20 and 'Cambridge' ~ location" --pref 'max ppm')
[[ $(wc -l <<<"$out") -eq 1 && $out == *"ppm=30"* ]] || fail "query: $out"
[[ $(count device "") -eq 4 ]] || fail "a query for device must include printers"
[[ $(count device "" --exact) -eq 1 ]] || fail "--exact must exclude subtypes"
# SIGHUP (a closed terminal, a service manager's reload) is logged and
# ignored: nothing is reloadable yet.
kill -HUP "$rexd_pid"
sleep 0.3
kill -0 "$rexd_pid" 2>/dev/null || fail "rexd died on SIGHUP"
grep -q "rexd: SIGHUP: nothing to reload" "$work/rexd.err" || fail "SIGHUP not logged"
[[ $(count device "") -eq 4 ]] || fail "rexd stopped serving after SIGHUP"
first=$($REX trader query printer "" --pref 'max ppm' --limit 1)
[[ $first == *"ppm=50"* ]] || fail "max ppm first: $first"
expect_exit 1 "illegal_constraint: column 5" -- $REX trader query printer "ppm > 'x'"
expect_exit 1 "missing_property" -- $REX trader export printer location=x
expect_exit 1 "type_in_use" -- $REX trader remove-type printer
expect_exit 3 "cannot_connect" -- $REX trader --trader 127.0.0.1:1 list-types
# The address, --json and --timeout work at every level; an address without a
# port, and values the type refuses, are usage errors: nothing is sent.
for argv in "--trader $REX_TRADER trader list-types" "trader --trader $REX_TRADER list-types" \
            "trader list-types --trader $REX_TRADER" "--json --timeout 2000 --trader $REX_TRADER trader list-types"; do
  expect_exit 0 "printer" -- env REX_TRADER=127.0.0.1:1 $REX $argv
done
expect_exit 0 '"types":' -- $REX --json trader list-types
expect_exit 2 "'127.0.0.1' is not HOST:PORT" -- $REX trader list-types --trader 127.0.0.1
expect_exit 2 "'127.0.0.1' is not HOST:PORT" -- $REX --trader 127.0.0.1 trader list-types
expect_exit 2 "usage: .*'127.0.0.1' is not HOST:PORT" -- env REX_TRADER=127.0.0.1 $REX trader list-types
expect_exit 2 "^rex: usage: ppm=fast: 'fast' is not a valid int" -- $REX trader export printer ppm=fast
expect_exit 2 "^rex: usage: type 'printer' has no property 'speed'" -- $REX trader export printer speed=3
mid=$($REX trader export printer ppm=8 location=Annex --lease 60)
$REX trader modify "$mid" ppm=9 --delete location >/dev/null
$REX trader describe "$mid" --json | python3 -c "
import json, sys
o = json.load(sys.stdin)['offer']
assert o['props'] == {'ppm': 9} and o['lease'] == 60, o" || fail "modify/describe"
$REX trader renew "$mid" >/dev/null || fail "renew"
$REX trader withdraw "$mid" >/dev/null
expect_exit 1 "unknown_offer" -- $REX trader describe "$mid"
echo "types, offers, queries: ok"

# A watch sees an export, a withdrawal and a lease expiry.
$REX trader watch printer "colour == TRUE" --count 5 --json >"$work/watch.out" &
watch_pid=$!
pids+=("$watch_pid")
sleep 0.3
id=$($REX trader export printer ppm=5 colour=true)
$REX trader withdraw "$id" >/dev/null
$REX trader export printer ppm=6 colour=true --lease 1 >/dev/null
sleep 2.6  # the lease runs out
[[ $(count printer "ppm == 6") -eq 0 ]] || fail "the leased offer outlived its lease"
wait "$watch_pid" || fail "watch exited non-zero"
python3 - "$work/watch.out" <<'PY' || fail "watch events: $(cat "$work/watch.out")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
kinds = [(e["event"], e["offer"]["props"]["ppm"], e.get("reason", "")) for e in events]
assert kinds[:2] == [("enter", 30, ""), ("enter", 50, "")], kinds
assert kinds[2:] == [("enter", 5, ""), ("leave", 5, "withdrawn"), ("enter", 6, "")], kinds
PY
echo "watch: ok"

# A provider that keeps its lease alive stays; killed with -9 it vanishes.
$REX trader export printer ppm=77 --lease 1 --keepalive >/dev/null &
provider=$!
pids+=("$provider")
sleep 2.5
[[ $(count printer "ppm == 77") -eq 1 ]] || fail "a kept-alive offer expired"
kill -9 "$provider"
sleep 2.5
[[ $(count printer "ppm == 77") -eq 0 ]] || fail "a dead provider's offer outlived its lease"
# Stopped by a service manager (SIGTERM) it withdraws and exits 0; Ctrl-C is 130.
for sig in TERM INT; do
  $REX trader export printer ppm=78 --lease 30 --keepalive >/dev/null &
  provider=$!
  pids+=("$provider")
  sleep 0.5
  [[ $(count printer "ppm == 78") -eq 1 ]] || fail "no kept-alive offer"
  kill -$sig "$provider"
  set +e; wait "$provider"; code=$?; set -e
  want=$([[ $sig == TERM ]] && echo 0 || echo 130)
  [[ $code -eq $want ]] || fail "export --keepalive exited $code on SIG$sig, expected $want"
  [[ $(count printer "ppm == 78") -eq 0 ]] || fail "SIG$sig did not withdraw the offer"
done
$REX trader watch printer >/dev/null &
watcher=$!
pids+=("$watcher")
sleep 0.5
kill -TERM "$watcher"
set +e; wait "$watcher"; code=$?; set -e
[[ $code -eq 0 ]] || fail "watch exited $code on SIGTERM, expected 0"
echo "leases, and SIGTERM: ok"

# kill -9 of rexd loses no acknowledged change, and ids are never reused.
last=$($REX trader export printer ppm=99)
$REX trader withdraw "$last" >/dev/null
for i in $(seq 1 50); do $REX trader export device name="bulk$i" >/dev/null; done
kill -9 "$rexd_pid"
wait "$rexd_pid" 2>/dev/null || true
start_rexd
[[ $(count device "") -eq 54 ]] || fail "after kill -9: $(count device "") offers, expected 54"
next=$($REX trader export device name=after)
((next > last + 50)) || fail "offer id $next reused after restart (last $last)"
$REX trader describe-type printer | grep -q "ppm .*mandatory" || fail "type lost on restart"
echo "kill -9 persistence: ok"

for c in split oversized bad_kind no_hello bad_body hostile_query; do
  python3 "$here/rex_raw.py" "$port" "$c" || fail "raw frames: $c"
done
$REX trader list-types >/dev/null || fail "rexd stopped answering after hostile input"
echo "raw frames and hostile queries: ok"

# A full disk: the export that cannot be committed is refused with
# storage_failed, rexd stops (exit 5), and after space is freed a restart
# has every acknowledged export.
if [[ $(id -u) -eq 0 ]]; then
  kill "$rexd_pid"; wait "$rexd_pid" 2>/dev/null || true
  tiny="$work/tiny"
  mkdir -p "$tiny" && mount -t tmpfs -o size=256k tmpfs "$tiny"
  trap 'umount "$tiny" 2>/dev/null || true; cleanup' EXIT
  $REXD --listen 127.0.0.1 --trader-port "$port" --notify-port $((port + 1)) --data "$tiny/data" --quiet &
  rexd_pid=$!
  pids+=("$rexd_pid")
  sleep 0.5
  $REX trader add-type blob s:string >/dev/null
  big=$(head -c 20000 /dev/zero | tr '\0' x)
  acked=0
  set +e
  for _ in $(seq 1 40); do
    out=$($REX trader export blob s="$big" 2>&1); code=$?
    ((code == 0)) || break
    acked=$((acked + 1))
  done
  wait "$rexd_pid"; rexd_code=$?
  set -e
  [[ $code -eq 1 && $out == *storage_failed* ]] || fail "full disk: rex exited $code: $out"
  [[ $rexd_code -eq 5 ]] || fail "full disk: rexd exited $rexd_code, expected 5"
  mount -o remount,size=8m "$tiny"
  $REXD --listen 127.0.0.1 --trader-port "$port" --notify-port $((port + 1)) --data "$tiny/data" --quiet &
  rexd_pid=$!
  pids+=("$rexd_pid")
  sleep 0.5
  [[ $(count blob "") -eq $acked ]] || fail "after the full disk: $(count blob "") offers, $acked acknowledged"
  kill "$rexd_pid"; wait "$rexd_pid" 2>/dev/null || true
  umount "$tiny"
  echo "full disk ($acked exports acknowledged before it): ok"
else
  skip_part "full-disk check: mounting a small tmpfs needs root"
fi

# A privileged port without the right to bind it names the flag to use.
if [[ $(id -u) -eq 0 ]]; then
  as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  nobody_dir=$(mktemp -d /tmp/rexd-nobody-XXXXXX)  # $work is 0700: nobody cannot enter it
  chmod 777 "$nobody_dir"
  expect_exit 4 "--trader-port" -- "${as_user[@]}" $REXD --trader-port 124 --data "$nobody_dir"
  rm -rf "$nobody_dir"
else
  expect_exit 4 "--trader-port" -- $REXD --trader-port 124 --data "$work/nobody"
fi
echo "privileged port: ok"

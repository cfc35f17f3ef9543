#!/usr/bin/env bash
# What hostile or careless clients can make rexd hold, measured on real
# processes over loopback: pipelined large replies, expensive queries beside
# a victim, worst-case substring filters, clients that never finish a frame,
# subscribers that never read, running out of descriptors and connections;
# and how rexd is started: one per --data, on 127.0.0.1 unless told.
source "$(dirname "$0")/lib.sh"
REXD=${REXD:?set REXD to the rexd binary}
here=$(dirname "$0")
work=$(mktemp -d /tmp/rexd-limits-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# start_rexd NAME [flags...]: a fresh rexd on free ports; sets pid, tport, nport.
start_rexd() {
  local name=$1; shift
  tport=$((20000 + RANDOM % 20000)); nport=$((tport + 1))
  "${launch[@]}" $REXD --listen 127.0.0.1 --trader-port "$tport" --notify-port "$nport" \
    --data "$work/$name" --quiet "$@" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $tport), 1).close()" \
      2>/dev/null && return
    sleep 0.1
  done
  fail "rexd ($name) did not come up on $tport"
}
stop_rexd() { kill "$pid"; wait "$pid" || fail "rexd exited $? on SIGTERM"; }
raw() { python3 "$here/rex_raw.py" "$@" || fail "raw client: $*"; }
launch=()

start_rexd main
raw "$tport" amplification "$pid"
raw "$tport" fairness
raw "$nport" substring_publish
stop_rexd
echo "replies bounded, turns shared, substring filters linear: ok"

start_rexd timeouts --handshake-timeout 1 --frame-timeout 1
raw "$tport" slowloris
stop_rexd
echo "handshake and frame timeouts: ok"

start_rexd stalled --write-timeout 2 --max-output 128M
raw "$nport" stalled_subscribers "$pid"
stop_rexd
echo "stalled subscribers cut and freed: ok"

launch=(prlimit --nofile=64:64)
start_rexd emfile
raw "$tport" emfile "$pid"
stop_rexd
# Every connection is a descriptor: rexd raises its soft limit to the hard one.
launch=(prlimit --nofile=64:2048)
start_rexd raised
soft=$(awk '/Max open files/ {print $4}' "/proc/$pid/limits")
[[ $soft == 2048 ]] || fail "rexd kept a soft descriptor limit of $soft under a hard limit of 2048"
stop_rexd
launch=()
start_rexd maxconn --max-connections 20
raw "$tport" max_connections
stop_rexd
echo "out of descriptors and connections: refused with overloaded, no spinning: ok"

# One rexd per --data: the second exits 4 naming the directory and the holder.
start_rexd locked
expect_exit 4 "--data $work/locked is in use by another rexd \(pid $pid\)" -- \
  timeout 5 $REXD --listen 127.0.0.1 --trader-port 0 --notify-port 0 --data "$work/locked"
stop_rexd
echo "one rexd per --data: ok"

# Without --listen, rexd is reachable from this host only.
port=$((20000 + RANDOM % 20000))
$REXD --trader-port "$port" --notify-port $((port + 1)) --data "$work/default" --quiet &
pid=$!
pids+=("$pid")
sleep 0.5
hex=$(printf '%04X' "$port")
grep -qE "^ *[0-9]+: 0100007F:$hex 00000000:0000 0A" /proc/net/tcp ||
  fail "rexd does not listen on 127.0.0.1:$port alone: $(grep ":$hex " /proc/net/tcp)"
stop_rexd
expect_exit 0 "default.*127\.0\.0\.1|127\.0\.0\.1.*default|=127\.0\.0\.1" -- $REXD --help
expect_exit 0 "Notify" -- $REXD --help
expect_exit 0 "/var/lib/rexd" -- $REXD --help
echo "listens on 127.0.0.1 by default; --help shows defaults and both services: ok"

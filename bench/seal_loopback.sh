#!/usr/bin/env bash
# The cost of version 2 protection over loopback: one sender, one receiver,
# SIZE_MB of random data from and to /dev/shm (no disk), for each --encrypt
# mode, RUNS times. Prints transfer time, goodput and the CPU seconds
# (user + system, /usr/bin/time) each side spent per GiB.
#   usage: ARDUS=build/ardus bench/seal_loopback.sh [SIZE_MB] [RUNS] [RATE]
set -euo pipefail
ARDUS=${ARDUS:?set ARDUS to the ardus binary}
SIZE_MB=${1:-512}
RUNS=${2:-3}
RATE=${3:-auto}
work=$(mktemp -d /dev/shm/ardus-seal-XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c $((SIZE_MB << 20)) /dev/urandom > "$work/payload.bin"
port=47000
printf "%-11s %4s %8s %10s %14s %14s\n" mode run seconds Mbit/s "send CPU s/GiB" "recv CPU s/GiB"
for run in $(seq "$RUNS"); do
  for mode in none auth aes256-gcm; do
    rm -rf "$work/dst"; mkdir -p "$work/dst"
    port=$((port + 100))
    flags=(--group 239.255.77.35 --port $((port + 35)))
    rflags=(); [[ $mode == none ]] && rflags=(--accept-plaintext)
    /usr/bin/time -f "%U %S" -o "$work/recv.cpu" $ARDUS receive --dir "$work/dst" --interface lo \
      --once --timeout 60 --json "${rflags[@]}" "${flags[@]}" > "$work/recv.json" 2> "$work/recv.err" &
    sleep 0.3
    /usr/bin/time -f "%U %S" -o "$work/send.cpu" $ARDUS send --interface lo --receivers 1 \
      --rate "$RATE" --encrypt $mode --json "${flags[@]}" --data-group 239.255.77.17 \
      --data-port $((port + 17)) --feedback-port $((port + 34)) "$work/payload.bin" \
      > "$work/send.json" 2> "$work/send.err"
    wait
    cmp -s "$work/payload.bin" "$work/dst/payload.bin" || { echo "$mode: copy differs" >&2; exit 1; }
    python3 - "$work" "$mode" "$run" "$SIZE_MB" <<'PY'
import json, sys
work, mode, run, mb = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = json.load(open(f"{work}/send.json"))
cpu = lambda f: sum(float(x) for x in open(f"{work}/{f}").read().split()[-2:])
gib = mb / 1024
print(f"{mode:<11} {run:>4} {s['transfer_seconds']:8.2f} {s['goodput_bps'] / 1e6:10.0f} "
      f"{cpu('send.cpu') / gib:14.2f} {cpu('recv.cpu') / gib:14.2f}")
PY
  done
done

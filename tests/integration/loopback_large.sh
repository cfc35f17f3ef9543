#!/usr/bin/env bash
# A file larger than 4 GiB over loopback multicast to one receiver. The
# source is sparse (with random data past the 4 GiB mark, so offsets there
# matter); both sides must stream it: peak memory stays far below its size.
source "$(dirname "$0")/lib.sh"
work=$(mktemp -d /tmp/ardus-large-XXXXXX)
trap 'jobs -p | xargs -r kill 2>/dev/null || true; rm -rf "$work"' EXIT
base=43000
size=$(( (4 << 30) + (3 << 20) + 12345 ))
free_kb=$(df --output=avail -k /tmp | tail -1)
(( free_kb > 2 * size / 1024 + 1048576 )) || skip "needs $((2 * size >> 30)) GiB free in /tmp"

mkdir -p "$work/src" "$work/dst"
truncate -s $size "$work/src/huge.img"
head -c 1048576 /dev/urandom | dd of="$work/src/huge.img" bs=1M seek=4097 conv=notrunc status=none
head -c 4096 /dev/urandom | dd of="$work/src/huge.img" bs=4096 seek=$(( (size - 4096) / 4096 )) conv=notrunc status=none

/usr/bin/time -f "%M" -o "$work/recv.mem" $ARDUS receive --dir "$work/dst" --interface lo --once \
  --timeout 60 --json $(net_flags $base) > "$work/recv.json" 2> "$work/recv.err" &
sleep 0.3
set +e
/usr/bin/time -f "%M" -o "$work/send.mem" $ARDUS send --interface lo --receivers 1 --rate 4G \
  --json $(send_flags $base) "$work/src/huge.img" > "$work/send.json" 2> "$work/send.err"
code=$?
set -e
wait
[[ $code -eq 0 ]] || { cat "$work/send.json" "$work/send.err" "$work/recv.err" >&2; fail "sender exit $code"; }
[[ $(json_field "$work/recv.json" status) == ok ]] || fail "receiver: $(cat "$work/recv.json")"
[[ $(stat -c %s "$work/dst/huge.img") == "$size" ]] || fail "size differs"
# The receiver verified SHA-256 of all bytes; also compare the region past 4 GiB directly.
cmp <(dd if="$work/src/huge.img" bs=1M skip=4096 status=none) \
    <(dd if="$work/dst/huge.img" bs=1M skip=4096 status=none) || fail "bytes past 4 GiB differ"
send_mb=$(( $(cat "$work/send.mem") / 1024 )); recv_mb=$(( $(cat "$work/recv.mem") / 1024 ))
echo "sent $size bytes in $(json_field "$work/send.json" seconds) s; peak RSS sender ${send_mb} MiB, receiver ${recv_mb} MiB"
(( send_mb < 512 && recv_mb < 512 )) || fail "not streamed: peak memory ${send_mb}/${recv_mb} MiB"

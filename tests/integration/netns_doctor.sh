#!/usr/bin/env bash
# ardus doctor on the namespace testbed (bench/testbed.sh): a clean host
# passes the interface and route checks; an nft rule dropping UDP 1835 and a
# deleted 224.0.0.0/4 route are each reported with their fix; --probe
# between two hosts reports 0% loss both ways, and with multicast input
# dropped on one host the other names that host's receive side.
source "$(dirname "$0")/lib.sh"
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces"
for tool in ip nft ethtool python3; do command -v $tool >/dev/null || skip "needs $tool"; done
here=$(dirname "$0")
netns_testbed doctor 2 0 none

# status FILE CHECK: the status of the first finding named CHECK; with a
# third argument, the first whose detail contains it.
status() {
  python3 -c "
import json, sys
for f in json.load(open(sys.argv[1])):
    if f['check'] == sys.argv[2] and (len(sys.argv) < 4 or sys.argv[3] in f['detail']):
        print(f['status']); break
else:
    print('absent')" "$@"
}
doctor() { testbed_exec "$tag" r1 $ARDUS doctor --interface eth0 --json "$@"; }

# 1. A clean host: interface and route pass, no firewall rule in the way.
doctor > "$work/clean.json" || fail "clean host: doctor exit $? $(cat "$work/clean.json")"
for check in interface route firewall; do
  [[ $(status "$work/clean.json" $check) == ok ]] || fail "clean host: $check is not ok: $(cat "$work/clean.json")"
done
echo "clean host: interface, route and firewall ok"

# 2. A dropped port: reported as a failure naming the rule, exit 1.
testbed_exec "$tag" r1 nft add table inet doc
testbed_exec "$tag" r1 nft 'add chain inet doc input { type filter hook input priority 0; }'
testbed_exec "$tag" r1 nft add rule inet doc input udp dport 1835 drop
set +e
doctor > "$work/port.json"
rc=$?
set -e
((rc == 1)) || fail "dropped port: exit $rc, expected 1"
[[ $(status "$work/port.json" firewall "udp dport 1835") == fail ]] \
  || fail "dropped port not reported: $(cat "$work/port.json")"
grep -q 'nft delete rule inet doc input handle' "$work/port.json" || fail "no fix for the rule"
echo "dropped port: $(python3 -c "import json,sys; f=[f for f in json.load(open(sys.argv[1])) if f['check']=='firewall'][0]; print(f['detail'], '| fix:', f['fix'])" "$work/port.json")"
testbed_exec "$tag" r1 nft delete table inet doc

# 3. A missing multicast route (the testbed has no default route either).
testbed_exec "$tag" r1 ip route del 224.0.0.0/4 dev eth0
set +e
testbed_exec "$tag" r1 $ARDUS doctor --json > "$work/route.json"
rc=$?
set -e
((rc == 1)) || fail "missing route: exit $rc, expected 1"
[[ $(status "$work/route.json" route) == fail ]] || fail "missing route not reported: $(cat "$work/route.json")"
grep -q 'ip route add 224.0.0.0/4' "$work/route.json" || fail "no fix for the route"
echo "missing route: reported with its fix"
testbed_exec "$tag" r1 ip route add 224.0.0.0/4 dev eth0

# 4. --probe between r1 and r2: no loss either way.
probe() {
  for h in r1 r2; do
    testbed_exec "$tag" $h $ARDUS doctor --probe --probe-seconds 2 --interface eth0 --json \
      > "$work/$1-$h.json" 2> "$work/$1-$h.err" &
  done
  wait || true
}
probe clean
for h in r1 r2; do
  python3 - "$work/clean-$h.json" <<'PY' || fail "clean probe on $h: $(cat "$work/clean-$h.json" "$work/clean-$h.err")"
import json, re, sys
findings = json.load(open(sys.argv[1]))
peers = [f for f in findings if f['check'].startswith('probe ')]
assert len(peers) == 1, findings
detail = peers[0]['detail']
print(detail)
assert peers[0]['status'] == 'ok', detail
assert detail.count('(0% loss)') == 2, detail
PY
done

# 5. r2 drops multicast input: r2 hears nobody; r1 hears r2 and names r2's receive side.
testbed_exec "$tag" r2 nft add table inet doc
testbed_exec "$tag" r2 nft 'add chain inet doc input { type filter hook input priority 0; }'
testbed_exec "$tag" r2 nft add rule inet doc input ip daddr 224.0.0.0/4 drop
probe blocked
grep -q 'receiver side at 10.77.0.12' "$work/blocked-r1.json" \
  || fail "r1 does not name r2's receive side: $(cat "$work/blocked-r1.json")"
grep -q 'heard no peer' "$work/blocked-r2.json" \
  || fail "r2 should hear no peer: $(cat "$work/blocked-r2.json")"
echo "blocked input on r2: r1 says $(python3 -c "import json,sys; f=[f for f in json.load(open(sys.argv[1])) if f['check'].startswith('probe ')][0]; print(f['detail'], '| fix:', f['fix'])" "$work/blocked-r1.json")"
echo "PASS"

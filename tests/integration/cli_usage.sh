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
expect 2 "cannot stat" -- $ARDUS send --interface lo "$work/missing"
expect 4 "cannot open destination" -- $ARDUS receive --interface lo --dir "$work/missing" --once --timeout 1
expect 3 "no receiver joined" -- $ARDUS send --interface lo --wait 0.5 --port 44035 --feedback-port 44034 /etc/hostname
expect 3 "no session" -- $ARDUS receive --interface lo --dir "$work" --once --timeout 0.5 --port 44135
# A privileged port without the right to bind it: as root, drop to nobody to see it.
as_user=()
if [[ $(id -u) -eq 0 ]]; then as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
expect 4 "permission denied.*--feedback-port" -- "${as_user[@]}" $ARDUS send --interface lo --feedback-port 999 /etc/hostname
echo "cli: all usage errors reported with their exit codes"

# Shared helpers for the integration tests. Each test uses its own ports and
# groups (passed as PORT_BASE) so ctest may run them in parallel.
set -euo pipefail

ARDUS=${ARDUS:?set ARDUS to the ardus binary}
SKIP=77  # ctest SKIP_RETURN_CODE

fail() { echo "FAIL: $*" >&2; exit 1; }
# A test that cannot run here says why and exits 77, which ctest counts as
# skipped. In CI (CI=true, as .ci/run and fresh-machine set) it fails instead,
# naming the cause: CI runs as root on a brand-new machine, so a skip there is
# a missing dependency or a broken set-up, not a pass.
in_ci() { [[ ${CI:-} == true ]]; }
skip() {
  in_ci && fail "cannot run in CI: $*"
  echo "SKIP: $*"
  exit $SKIP
}
# skip_part REASON: the checks that follow cannot run here; the test goes on
# without them (CI: fails, as skip does).
skip_part() {
  in_ci && fail "cannot run in CI: $*"
  echo "SKIP part: $*"
}

# Network flags for this test: distinct groups and ports per PORT_BASE.
net_flags() {
  local base=$1
  echo "--group 239.255.$((base % 250)).35 --port $((base + 35))"
}
send_flags() {
  local base=$1
  echo "$(net_flags "$base") --data-group 239.255.$((base % 250)).17 --data-port $((base + 17)) --feedback-port $((base + 34))"
}

# json_field FILE KEY: a top-level scalar from a one-line JSON report.
json_field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# expect_exit CODE PATTERN -- command...: the command exits CODE and its
# output (stdout and stderr) matches the extended regex PATTERN.
expect_exit() {
  local want=$1 pattern=$2; shift 3
  set +e; out=$("$@" 2>&1); got=$?; set -e
  [[ $got -eq $want ]] || fail "'$*' exited $got, expected $want: $out"
  grep -qE -e "$pattern" <<<"$out" || fail "'$*' output lacks /$pattern/: $out"
}

# netns_testbed NAME RECEIVERS LOSS CAP: this test's own testbed
# (bench/testbed.sh: a sender and RECEIVERS hosts on a bridge). Sets $tag
# (the namespaces' prefix) and $work (a scratch directory); on exit the
# test's background jobs are killed and the namespaces and $work removed.
netns_testbed() {
  tag=ard${1:0:3}$$
  work=$(mktemp -d "/tmp/ardus-$1-XXXXXX")
  source "$(dirname "${BASH_SOURCE[0]}")/../../bench/testbed.sh"
  trap netns_cleanup EXIT
  testbed_up "$tag" "$2" "$3" "$4" || skip "cannot create network namespaces here"
}
netns_cleanup() {
  jobs -p | xargs -r kill 2>/dev/null || true
  testbed_down "$tag"
  rm -rf "$work"
}

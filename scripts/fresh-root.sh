#!/usr/bin/env bash
# fresh-root.sh [--keep] 'COMMAND'
#
# Runs COMMAND in a clean clone of this repository's committed HEAD inside a
# brand-new Debian 12 (bookworm) root, as on a freshly installed machine:
# nothing installed on this host by hand is there, so a dependency that the
# project's own scripts do not install fails here as it would for a new user.
# CI runs the README's test command this way (.ci/run).
#
# Needs root: it builds the root with mmdebstrap (installed with apt if
# missing; about 30 s the first time, then a pristine copy is kept in
# $ARDUS_FRESH_ROOT_CACHE, default /var/cache/ardus-fresh-root), and runs
# COMMAND chrooted in a private mount namespace with / bind-mounted onto
# itself (so that `ip netns exec` can remount it), proc, sys, dev, and tmpfs
# on /run and /tmp. The environment is CI=true: tests that cannot run fail
# instead of skipping.
#
# Exit status: COMMAND's (2 for bad usage, 1 if the root cannot be made).
set -euo pipefail
keep=0
if [[ ${1:-} == --keep ]]; then keep=1; shift; fi
if [[ $# -ne 1 ]]; then
  echo "usage: $0 [--keep] 'COMMAND'" >&2
  exit 2
fi
cmd=$1
[[ $(id -u) -eq 0 ]] || { echo "fresh-root: needs root (mmdebstrap, mount namespaces, chroot)" >&2; exit 2; }
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
cache=${ARDUS_FRESH_ROOT_CACHE:-/var/cache/ardus-fresh-root}

if [[ ! -d $cache/bookworm ]]; then
  if ! command -v mmdebstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  fi
  echo "fresh-root: building a minimal Debian 12 root in $cache (once)" >&2
  mkdir -p "$cache"
  rm -rf "$cache/bookworm.new"
  mmdebstrap --variant=minbase bookworm "$cache/bookworm.new" >/dev/null 2>&1 ||
    { echo "fresh-root: mmdebstrap failed" >&2; exit 1; }
  mv "$cache/bookworm.new" "$cache/bookworm"
fi

root=$(mktemp -d /var/tmp/ardus-fresh-root.XXXXXX)
cleanup() {
  if [[ $keep == 1 ]]; then
    echo "fresh-root: root kept at $root" >&2
  else
    rm -rf --one-file-system "$root"
  fi
}
trap cleanup EXIT
cp -a "$cache/bookworm/." "$root/"
name=$(basename "$repo")
git clone -q "$repo" "$root/root/$name"
echo "fresh-root: running '$cmd' in a new Debian 12 root on $(git -C "$repo" rev-parse --short HEAD)" >&2

start=$SECONDS
set +e
unshare --mount --propagation private bash -c '
  set -e
  root=$1 name=$2 cmd=$3
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/run"
  mkdir -p "$root/run/netns"
  mount -t tmpfs tmpfs "$root/tmp"
  cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
  exec chroot "$root" /usr/bin/env -i HOME=/root CI=true TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd /root/$name && $cmd"
' fresh-root "$root" "$name" "$cmd"
rc=$?
set -e
echo "fresh-root: '$cmd' exited $rc after $((SECONDS - start)) s" >&2
exit $rc

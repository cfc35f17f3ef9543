#!/usr/bin/env bash
# Installs every Debian package ardus needs to build, test, fuzz and benchmark.
# The README quick start, .ci/run and scripts/demo.sh all call this one script.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libisal-dev libssl-dev libxxhash-dev libcli11-dev libfmt-dev nlohmann-json3-dev
  libmsgpack-cxx-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  iproute2 nftables ethtool
  python3 time util-linux
  openssl python3-cryptography xxd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Recomputes the test vectors of docs/ardus-protocol.md ("Test vectors") with
# implementations other than ardus's own code: the `openssl` command (Ed25519,
# fingerprint, X25519, HKDF) and python3-cryptography (AES-256-GCM, GMAC), and
# compares them with the values tests/unit/seal_test.cc checks.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() {  # name expected actual
  if [[ "$2" != "$3" ]]; then echo "FAIL $1: expected $2, got $3"; fail=1; else echo "ok   $1"; fi
}
der_key() {  # curve-oid-hex seed-hex file
  printf '302e020100300506032b65%s04220420%s' "$1" "$2" | xxd -r -p > "$3.der"
  openssl pkey -inform DER -in "$3.der" -out "$3.pem"
}
seed0=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
der_key 70 $seed0 "$tmp/id"
printf ardus > "$tmp/msg"
check ed25519-public 03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8 \
  "$(openssl pkey -in "$tmp/id.pem" -pubout -outform DER | tail -c 32 | xxd -p -c 64)"
check fingerprint 56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c \
  "$(openssl pkey -in "$tmp/id.pem" -pubout -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)"
check ed25519-signature \
  928de441de3e309912c4e069c797a1a9e6f5ed87e4ba66a6019884e3129506de4faa700e5495de5533b329931923fdc0f5608ee73d8e7b6ad59d0ad88513ce02 \
  "$(openssl pkeyutl -sign -rawin -inkey "$tmp/id.pem" -in "$tmp/msg" | xxd -p -c 64)"
der_key 6e 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f "$tmp/a"
der_key 6e 404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f "$tmp/b"
openssl pkey -in "$tmp/b.pem" -pubout -out "$tmp/b.pub"
shared=$(openssl pkeyutl -derive -inkey "$tmp/a.pem" -peerkey "$tmp/b.pub" | xxd -p -c 64)
check x25519-shared 04c304fb1ca83cee75e206344231f33797e07d9929db670994b7c6fbeb1dc255 "$shared"
hex() { tr -d ':\n' | tr 'A-F' 'a-f'; }
prk=$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt mode:EXTRACT_ONLY -kdfopt "hexkey:$shared" \
  -kdfopt hexsalt:$(printf '0%.0s' {1..64}) HKDF | hex)
check hkdf-extract 6a90ea8299722a8e950b9f10160222d2a1fa665f7ae639727f9edb938db4cbcb "$prk"
info=$(python3 -c "l=b'ardus2 data key'; print((bytes([0,32,len(l)])+l+bytes([0])).hex())")
check expand-label-data-key b6cdc337a3037ca5e576177abe152ddcaa5bebe71de3ef6bc9e207a666d2fb6c \
  "$(openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt mode:EXPAND_ONLY -kdfopt "hexkey:$prk" \
     -kdfopt "hexinfo:$info" HKDF | hex)"
if python3 -c "import cryptography" 2>/dev/null; then
  gcm=$(python3 - <<'PY'
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key = bytes(range(0x60, 0x80)); nonce = bytearray(range(0xa0, 0xac)); pn = 1
for i in range(8): nonce[4 + i] ^= (pn >> (56 - 8 * i)) & 0xff
hdr = bytes.fromhex("ad0502035eed0001000000000000000000000001"); body = b"hello, ardus"
print((hdr + AESGCM(key).encrypt(bytes(nonce), body, hdr)).hex(),
      (hdr + body + AESGCM(key).encrypt(bytes(nonce), b"", hdr + body)).hex())
PY
)
  check aes256-gcm-seal ad0502035eed00010000000000000000000000019cb0f3d9f7827d93792d15662748690accede28bb759e0d94162b257 "${gcm% *}"
  check aes256-gcm-auth ad0502035eed000100000000000000000000000168656c6c6f2c2061726475734601f89a75d8e502a3137688c88564e0 "${gcm#* }"
else
  echo "seal_vectors: python3-cryptography missing (scripts/install-deps.sh installs it)"
  exit 77
fi
exit $fail

#!/usr/bin/env python3
"""Writes fuzz/corpus/fuzz_rex_handshake/: handshakes as a client sends them
(docs/rex-protocol.md, "Authentication"), valid and not, for the fixed key
(seed 00..1f) and nonce (80..9f) that fuzz_rex_handshake.cc uses. Needs
python3-cryptography. Run from the repository root."""
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HELLO, REQUEST, AUTH = 1, 2, 6
NONCE = bytes(range(0x80, 0xA0))
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
BINDING = b"\x5a" * 32


def frame(kind, method, rid, body=b""):
    return struct.pack(">IBBHI", 8 + len(body), kind, 0, method, rid) + body


def public(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def message(nonce, service, binding):
    s = service.encode()
    return b"rex-auth-v1\0" + nonce + bytes([len(s)]) + s + bytes([len(binding)]) + binding


def auth(key, signer=None, nonce=NONCE, service="trader", binding=b"", rid=1):
    sig = (signer or key).sign(message(nonce, service, binding))
    body = b"\x82\xa3key\xc4\x20" + public(key) + b"\xa9signature\xc4\x40" + sig
    return frame(AUTH, 0, rid, body)


HELLO_FRAME = frame(HELLO, 0, 0, b"\x81\xa7version\x01")
LIST = frame(REQUEST, 12, 7, b"\x80")
# The flag byte comes first (its high nibble: time per segment; "late" lets
# 500 ms pass per segment, so the AUTH comes after the 2 s timeout); each
# segment's first byte sets its length (1 + b % 61).
SEEDS = {
    "valid": (0, HELLO_FRAME + auth(KEY) + LIST),
    "valid_tls": (1, HELLO_FRAME + auth(KEY, binding=BINDING) + LIST),
    "no_binding_on_tls": (1, HELLO_FRAME + auth(KEY) + LIST),
    "anonymous": (2, HELLO_FRAME + LIST),
    "late": (0xA0, HELLO_FRAME + auth(KEY) + LIST),
    "unknown_key": (2, HELLO_FRAME + auth(OTHER) + LIST),
    "wrong_key": (0, HELLO_FRAME + auth(KEY, signer=OTHER) + LIST),
    "replayed": (0, HELLO_FRAME + auth(KEY, nonce=bytes(32)) + LIST),
    "other_service": (0, HELLO_FRAME + auth(KEY, service="notify") + LIST),
    "twice": (0, HELLO_FRAME + auth(KEY) + auth(KEY, rid=2) + LIST),
    "after_request": (0, HELLO_FRAME + LIST + auth(KEY)),
    "before_hello": (0, auth(KEY) + HELLO_FRAME),
    "empty_auth": (0, HELLO_FRAME + frame(AUTH, 0, 1, b"\x80")),
    "short_key": (0, HELLO_FRAME + frame(AUTH, 0, 1, b"\x82\xa3key\xc4\x01\x00\xa9signature\xc4\x00")),
}


def main():
    out = "fuzz/corpus/fuzz_rex_handshake"
    os.makedirs(out, exist_ok=True)
    for name, (flags, stream) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as fh:
            fh.write(bytes([flags]) + stream)


if __name__ == "__main__":
    main()

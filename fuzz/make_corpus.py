#!/usr/bin/env python3
"""Writes seed corpora from the specs, not from our codecs:
  - fuzz_packet: one datagram of every message type of docs/ardus-protocol.md
    (the JOIN, NAK and ADVERT of its worked examples among them); each must
    decode and re-encode to itself, which the target asserts;
  - fuzz_manifest: a few manifests, the worked example's `a.txt` among them;
  - fuzz_secure: record streams (kind u8, length u16, bytes; see
    fuzz/fuzz_secure.cc): version 2 envelopes with forged tags (kinds 0, 1)
    and version 1 bodies the harness seals (kinds 2, 3): DATA, POLL, ADVERT,
    END to the receiver, NAK, STATUS, DONE to the sender (receiver id 7).

fuzz_receiver's seeds come from fuzz/make_receiver_corpus.py; those of
fuzz_tcl and fuzz_rex_server are written by hand (constraint texts, REX
request streams).

Usage: python3 fuzz/make_corpus.py   (rewrites those corpus directories)
"""
import hashlib
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SESSION = 0x5EED0001


def header(kind):
    return struct.pack(">HBBI", 0xAD05, 1, kind, SESSION)


def ranges(entries):
    return struct.pack(">H", len(entries)) + b"".join(struct.pack(">IIH", *e) for e in entries)


def windows(entries):
    return struct.pack(">H", len(entries)) + b"".join(struct.pack(">IH", *e) for e in entries)


def packets():
    sha = hashlib.sha256(b"manifest").digest()
    yield "announce", header(1) + struct.pack(">IHHHHQ", 0xEFFF0B11, 1117, 1834, 1456, 200, 1000) \
        + sha + struct.pack(">QQHH", 5 << 30, 10**9, 1, 16)
    yield "join", header(2) + struct.pack(">IQ", 0xBEEF, 10**9)
    yield "data", header(3) + struct.pack(">IHH", 40, 7, 0x0909) + bytes(range(256)) * 5 + bytes(176)
    yield "data-window-symbol", header(3) + struct.pack(">IHH", 32, 256, 1) + bytes(64)
    yield "poll", header(4) + struct.pack(">IIIII", 9, 32, 48, 20000, 1000)
    yield "nak", header(5) + struct.pack(">II", 0xBEEF, 7) + ranges([(40, 3, 5)]) + windows([])
    yield "nak-whole-blocks", header(5) + struct.pack(">II", 0xBEEF, 8) \
        + ranges([(0, 16, 0xFFFF), (20, 1, 2)]) + windows([(16, 3)])
    yield "advert", header(6) + struct.pack(">I", 9) + ranges([(32, 16, 1)]) + windows([(32, 36)])
    yield "status", header(7) + struct.pack(">IQQI", 0xBEEF, 1 << 20, 800, 25000)
    reason = b"no space left on device"
    yield "done-failed", header(8) + struct.pack(">IBQQH", 0xBEEF, 1, 0, 12, len(reason)) + reason
    yield "done-ok", header(8) + struct.pack(">IBQQH", 0xBEEF, 0, 5, 1, 0)
    yield "done-ack", header(9) + struct.pack(">I", 0xBEEF)
    yield "end", header(10)


def entry(kind, mode, mtime_ns, size, digest, path):
    p = path.encode()
    return struct.pack(">BIqQ", kind, mode, mtime_ns, size) + digest + struct.pack(">H", len(p)) + p


def manifest(algorithm, entries):
    return struct.pack(">IBI", 0x41524D32, algorithm, len(entries)) + b"".join(entries)


def manifests():
    # The worked example: a.txt holding "hello", XXH3-128 (canonical form, then 16 zeros).
    xxh = bytes.fromhex("b5e9c1ad071b3e7fc779cfaa5e523818") + bytes(16)
    yield "hello", manifest(2, [entry(0, 0o644, 0, 5, xxh, "a.txt")])
    yield "tree-sha256", manifest(1, [
        entry(1, 0o755, 1_700_000_000_000_000_000, 0, bytes(32), "dir"),
        entry(1, 0o700, 0, 0, bytes(32), "dir/sub dir"),
        entry(0, 0o600, -1, 1 << 33, hashlib.sha256(b"x").digest(), "dir/sub dir/big.img"),
        entry(0, 0o644, 5, 0, hashlib.sha256(b"").digest(), "dir/empty"),
        entry(0, 0o644, 5, 3, hashlib.sha256(b"abc").digest(), "caf\u00e9/\u6587\u4ef6.txt"),
    ])
    yield "empty", manifest(2, [])


def write(target, items):
    out = os.path.join(HERE, "corpus", target)
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    for name, data in items:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


def record(kind, data):
    return struct.pack(">BH", kind, len(data)) + data


def sealed_header(kind, key_id, pn):
    return struct.pack(">HBBIIQ", 0xAD05, 2, kind, 1, key_id, pn)


def secure_streams():
    forged_data = sealed_header(3, 0, 5) + bytes(72 + 16)
    forged_nak = sealed_header(5, 7, 5) + struct.pack(">II", 7, 1) + ranges([(1, 2, 3)]) \
        + windows([]) + bytes(16)
    forged_join = sealed_header(2, 7, 9) + bytes(128) + struct.pack(">IQ", 7, 0) + bytes(16)
    v1_end = header(10)
    yield "forged", record(0, forged_data) + record(1, forged_nak) + record(1, forged_join) \
        + record(0, v1_end) + record(0, b"")
    data = struct.pack(">IHH", 1, 0, 1) + bytes(range(64))
    poll = struct.pack(">IIIII", 1, 0, 30, 2000, 1)
    advert = struct.pack(">I", 1) + ranges([(1, 4, 1)]) + windows([(0, 2)])
    nak = struct.pack(">II", 7, 1) + ranges([(1, 3, 2)]) + windows([])
    status = struct.pack(">IQQI", 7, 100, 10, 50000)
    done = struct.pack(">IBQQH", 7, 0, 5000, 90, 0)
    yield "sealed", record(2, b"\x03" + data) + record(2, b"\x04" + poll) \
        + record(2, b"\x06" + advert) + record(3, b"\x05" + nak) + record(3, b"\x07" + status) \
        + record(3, b"\x08" + done) + record(2, b"\x0a")
    yield "sealed-other-receiver", record(3, b"\x05" + struct.pack(">II", 8, 1) + ranges([(1, 1, 1)])
                                          + windows([]))


write("fuzz_packet", packets())
write("fuzz_secure", secure_streams())
write("fuzz_manifest", manifests())

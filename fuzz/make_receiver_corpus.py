#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_receiver (fuzz/corpus/fuzz_receiver/) and its
regression inputs (fuzz/regressions/fuzz_receiver/), in the harness's input
format: datagrams, each a big-endian u16 length then its bytes; length 0
advances time by a second. The datagrams follow docs/ardus-protocol.md and the
session fuzz/fuzz_receiver.cc sets up (64-byte symbols, 4 per block, windows
of 4 blocks): block 0 the manifest, blocks 1-20 file d/a (k 4, the last 3),
block 21 file b (k 2).

Usage: python3 fuzz/make_receiver_corpus.py (from anywhere)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SESSION = 1
ANNOUNCE, JOIN, DATA, POLL, NAK, ADVERT, STATUS, DONE, DONE_ACK, END = range(1, 11)
SYMBOL = 64
FILE_A = range(1, 21)
FILE_B = 21
BLOCKS = 22


def k(block):
    return 2 if block == FILE_B else 3 if block == 20 else 4


def dgram(kind, body=b""):
    return struct.pack(">HBBI", 0xAD05, 1, kind, SESSION) + body


def data(block, esi, seq=0, fill=0x5A):
    return dgram(DATA, struct.pack(">IHH", block, esi, seq & 0xFFFF) + bytes([fill]) * SYMBOL)


def poll(poll_id, first, end, backoff_us=0, group_size=1):
    return dgram(POLL, struct.pack(">IIIII", poll_id, first, end, backoff_us, group_size))


def advert(poll_id, ranges, windows=()):
    body = struct.pack(">IH", poll_id, len(ranges))
    body += b"".join(struct.pack(">IIH", *r) for r in ranges)
    body += struct.pack(">H", len(windows)) + b"".join(struct.pack(">IH", *w) for w in windows)
    return dgram(ADVERT, body)


def announce():
    """The session's ANNOUNCE again (the harness's manifest is 235 bytes; the
    digest only matters for the first ANNOUNCE, which the harness sends)."""
    return dgram(ANNOUNCE, struct.pack(">IHHHHQ32sQQHH", 0xEFFF0B11, 1, 1, SYMBOL, 4, 235,
                                       b"\0" * 32, 5100, 0, 1, 4))


def stream(datagrams):
    """None in `datagrams` advances time by a second."""
    return b"".join(struct.pack(">H", 0) if d is None else struct.pack(">H", len(d)) + d
                    for d in datagrams)


def blocks(which, skip=lambda block, esi: False):
    return [data(b, esi, seq=b * 8 + esi) for b in which for esi in range(k(b))
            if not skip(b, esi)]


CORPUS = {
    # File b whole: it is verified and published.
    "complete-file-b": blocks([FILE_B]),
    # Every block in order: the session succeeds and reports until DONE_ACK.
    "whole-session": blocks(list(FILE_A) + [FILE_B]) + [dgram(DONE_ACK, struct.pack(">I", 1))],
    # Losses, then parity for them, then a poll of everything.
    "loss-then-parity": blocks(range(1, 5), lambda b, esi: esi == b % 4)
    + [data(b, 4 + i) for b in range(1, 5) for i in range(2)] + [poll(1, 0, BLOCKS)],
    # One loss in each block of the window at 4, then window symbols for it.
    "window-symbols": blocks(range(4, 8), lambda b, esi: esi == 0)
    + [data(4, 256 + i, fill=i) for i in range(4)] + [poll(2, 4, 8)],
    # A poll with a backoff, an ADVERT planning parity and window symbols, time.
    "poll-advert-backoff": blocks(range(1, 9), lambda b, esi: esi == 1)
    + [poll(3, 1, 21, backoff_us=50_000, group_size=100),
       advert(3, [(1, 20, 2), (4, 1, 6)], [(4, 3), (8, 1)]), None],
    # A lost poll: the next one covers the range the first left.
    "lost-poll": blocks(range(1, 13), lambda b, esi: esi == 2)
    + [poll(4, 1, 5), poll(6, 9, 13), None],
    # END before completion: the receiver reports failure until DONE_ACK.
    "end-mid-transfer": blocks(range(1, 6)) + [dgram(END), None,
                                               dgram(DONE_ACK, struct.pack(">I", 1))],
    # Repeated ANNOUNCEs, then silence past every timer (the 30 s sender timeout).
    "silence": [announce(), None, announce()] + [None] * 32,
    # Duplicates and symbols for blocks and windows beyond the layout.
    "out-of-range": [data(0xFFFFFFFF, 0), data(22, 1), data(1, 255), data(1, 0xFFFF),
                     data(3, 256), data(1, 0), data(1, 0), poll(5, 30, 10), poll(6, 0, 0)],
}

# Issue 15, 2: a POLL for [0, 2^32-1), its NAK pending, then an ADVERT over that
# range: the receiver expanded it block by block into a map (std::bad_alloc).
REGRESSIONS = {
    "poll-advert-over-2pow32-blocks": [poll(9, 0, 0xFFFFFFFF, backoff_us=10_000_000),
                                       advert(9, [(0, 0xFFFFFFFE, 1)])],
}


def write(directory, inputs):
    os.makedirs(directory, exist_ok=True)
    for name, datagrams in inputs.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(stream(datagrams))


write(os.path.join(HERE, "corpus", "fuzz_receiver"), CORPUS)
write(os.path.join(HERE, "regressions", "fuzz_receiver"), REGRESSIONS)

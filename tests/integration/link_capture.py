#!/usr/bin/env python3
"""Captures every frame on an interface (AF_PACKET, python3 standard library)
until STOP_FILE exists, then reports how many UDP frames it saw and how many
of the probes (32-byte runs of FILE, one every 4 KiB) appear in any of them.

usage: link_capture.py IFACE FILE STOP_FILE REPORT_JSON
"""
import json
import os
import select
import socket
import sys

ETH_P_ALL = 0x0003


def main():
    iface, path, stop, report = sys.argv[1:5]
    data = open(path, "rb").read()
    probes = [data[off:off + 32] for off in range(0, len(data) - 32, 4096)]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    found = set()
    udp_frames = 0
    open(report + ".ready", "w").close()
    while True:
        ready, _, _ = select.select([sock], [], [], 0.05)
        if not ready:
            if os.path.exists(stop):
                break
            continue
        frame = sock.recv(65536)
        # Ethernet II, IPv4 (0x0800), UDP (protocol 17).
        if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
            continue
        udp_frames += 1
        for i, p in enumerate(probes):
            if i not in found and p in frame:
                found.add(i)
    json.dump({"udp_frames": udp_frames, "probes": len(probes), "found": len(found)},
              open(report, "w"))


if __name__ == "__main__":
    main()

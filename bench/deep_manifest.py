#!/usr/bin/env python3
"""The deep-path attack of hardening round 2, measured: a manifest of ENTRIES
empty files, each DEPTH components deep in one shared directory chain, sent
by tests/integration/hostile_peer.py's FakeSender to a real `ardus receive`.
Prints the receiver's CPU time and the wall time from JOIN to its report.

Usage: ARDUS=build/ardus bench/deep_manifest.py [ENTRIES [DEPTH]]
(defaults 4000 and 255; the attack used depth 2000, which receivers now
refuse at once: more than 255 components)."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import hostile_peer as hp  # noqa: E402

BASE = 45900


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 255
    chain = b"/".join([b"d"] * (depth - 1))
    files = [hp.file_entry(chain + b"/f%d" % i, b"") for i in range(entries)]
    objects = hp.objects_for(files, [b""] * entries)
    work = tempfile.mkdtemp(prefix="ardus-deep-")
    try:
        r = hp.Receiver(BASE, work)
        try:
            s = hp.FakeSender(BASE, hp.new_session())
            s.set_objects(objects)
            cpu0 = cpu_seconds(r.proc.pid)
            if not s.join(objects[0], 0):
                print("no JOIN", file=sys.stderr)
                return 1
            wall0 = time.monotonic()
            for b in range(len(s.blocks)):
                s.send_block(objects, b)
            # Poll (and answer NAKs) until the receiver reports, whether it
            # sends DONE or gives up silently.
            done = None
            while r.reports.empty() and time.monotonic() - wall0 < 900:
                done = done or s.finish(objects, timeout=1)
            wall = time.monotonic() - wall0
            cpu = cpu_seconds(r.proc.pid) - cpu0
            report = r.report(timeout=1)
            print(f"{entries} entries at depth {depth} (manifest {len(objects[0])} bytes): "
                  f"status {report['status']} {report.get('reason', '')!r}; receiver CPU "
                  f"{cpu:.2f} s, wall {wall:.2f} s; DONE {'seen' if done else 'not seen'}")
            s.close()
        finally:
            r.stop()
    finally:
        subprocess.run(["rm", "-rf", work], check=False)  # deeper than shutil recurses
    return 0


if __name__ == "__main__":
    sys.exit(main())

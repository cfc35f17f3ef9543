#!/usr/bin/env python3
"""A hostile ARDUS peer, written from docs/ardus-protocol.md alone (struct and
hashlib, none of our C++ codec), against a real `ardus receive` and, where it
fits, alongside a real `ardus send`, over loopback multicast on this test's own
groups and ports. It forges what a peer on the link could send and checks what
issue 15 requires:

  ranges      POLL [0, 2^32-1) then ADVERT over it: the receiver stays up (2)
  data-group  ANNOUNCE of a unicast data group: no JOIN; one it cannot join
              fails that session only, DONE says why, it keeps serving (4)
  end         END while receiving: DONE says the session failed (5); a forged
              END from another address is ignored; as root, an END spoofed
              from the real sender's address makes the real sender learn it
  modes       setuid/setgid/sticky stripped unless --keep-special-bits (3)
  sizes       10^15-byte entry and sizes whose sum wraps: refused with a
              reason, receiver RSS stays small (6)
  manifest    ANNOUNCE of a 256 MiB manifest, then silence: small RSS, given up
              in seconds, the next session served (8)
  paths       invalid UTF-8 and control characters refused, reports stay JSON (9)
  prefix      30 files sharing a 200-byte prefix, all incomplete at once: each
              published with its own bytes (1)
  done-text   a forged DONE whose reason is invalid UTF-8 and terminal escapes:
              the real sender's report escapes it and does not crash
  killed      a receiver killed with kill -9 mid-transfer: the next receiver on
              its directory removes the temporary files it left (7)
  collide     a path named twice, a file used as a directory, a path of 256
              components: refused before anything is written; a session that
              fails after creating directories removes them, and only them

Usage: ARDUS=path/to/ardus hostile_peer.py [SCENARIO...]. Exit 0: all passed;
1: a check failed (the reason is printed); 77: a prerequisite is missing.
   hostile_peer.py spoof-announce SOURCE DEVICE GROUP PORT (root): sends a
valid ANNOUNCE from a forged SOURCE address (tests/integration/netns_spoof.sh).
   hostile_peer.py spoof-done SOURCE DEVICE GROUP PORT SENDER_IP SENDER_PORT
(root): waits for a session's ANNOUNCE on GROUP:PORT, then sends its sender a
DONE from a forged SOURCE address.
   hostile_peer.py forge-v2 DEVICE GROUP PORT SENDER_IP VICTIM_IP STOP_FILE OUT_JSON
(root): an on-link third party against a version 2 (protected) session. It
waits for the session's signed ANNOUNCE, captures some of its sealed DATA,
then, until STOP_FILE exists, floods forged JOIN, NAK, STATUS and DONE at the
sender (spoofed from VICTIM_IP, a real receiver), and forged ANNOUNCE (a
tampered manifest digest), DATA, POLL, ADVERT and END at the groups (spoofed
from SENDER_IP), each as version 2 with made-up tags and as version 1
plaintext, plus replayed and bit-flipped copies of the captured DATA. It
writes how many of each it sent to OUT_JSON (tests/integration/netns_forge.sh)."""
import hashlib
import json
import os
import queue
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ARDUS = os.environ.get("ARDUS")
PORT_BASE = 45000  # this test's groups and ports (tests/integration/lib.sh scheme)
LO = "127.0.0.1"

# ---- the wire format, from docs/ardus-protocol.md --------------------------------

MAGIC, VERSION = 0xAD05, 1
ANNOUNCE, JOIN, DATA, POLL, NAK, ADVERT, STATUS, DONE, DONE_ACK, END = range(1, 11)
WHOLE_BLOCK = 0xFFFF
SHA256, XXH128 = 1, 2
FILE, DIRECTORY = 0, 1


def header(kind, session):
    return struct.pack(">HBBI", MAGIC, VERSION, kind, session)


def announce(session, data_group, data_port, feedback_port, symbol_size, block_symbols,
             manifest_size, manifest_sha, total_bytes, flags=0, window_blocks=16):
    return header(ANNOUNCE, session) + struct.pack(
        ">IHHHHQ32sQQHH", data_group, data_port, feedback_port, symbol_size, block_symbols,
        manifest_size, manifest_sha, total_bytes, time.monotonic_ns(), flags, window_blocks)


def data(session, block, esi, seq, symbol):
    return header(DATA, session) + struct.pack(">IHH", block, esi, seq & 0xFFFF) + symbol


def poll(session, poll_id, first, end, backoff_us=0, group_size=1):
    return header(POLL, session) + struct.pack(">IIIII", poll_id, first, end, backoff_us,
                                               group_size)


def ranges_and_windows(ranges, windows):
    out = struct.pack(">H", len(ranges))
    for first, count, deficit in ranges:
        out += struct.pack(">IIH", first, count, deficit)
    out += struct.pack(">H", len(windows))
    for first, symbols in windows:
        out += struct.pack(">IH", first, symbols)
    return out


def advert(session, poll_id, ranges, windows=()):
    return header(ADVERT, session) + struct.pack(">I", poll_id) + ranges_and_windows(
        ranges, windows)


def done(session, receiver_id, failed, reason):
    return header(DONE, session) + struct.pack(">IBQQH", receiver_id, 1 if failed else 0, 0, 0,
                                               len(reason)) + reason


def done_ack(session, receiver_id):
    return header(DONE_ACK, session) + struct.pack(">I", receiver_id)


def end(session):
    return header(END, session)


def parse(datagram):
    """(type, session, fields) of a receiver-to-sender datagram, or None."""
    if len(datagram) < 8:
        return None
    magic, version, kind, session = struct.unpack(">HBBI", datagram[:8])
    if magic != MAGIC or version != VERSION:
        return None
    body = datagram[8:]
    if kind == JOIN:
        rid, echo = struct.unpack(">IQ", body)
        return kind, session, {"receiver_id": rid}
    if kind == NAK:
        rid, poll_id, count = struct.unpack(">IIH", body[:10])
        ranges = [struct.unpack(">IIH", body[10 + 10 * i:20 + 10 * i]) for i in range(count)]
        return kind, session, {"receiver_id": rid, "poll_id": poll_id, "needs": ranges}
    if kind == STATUS:
        return kind, session, {"receiver_id": struct.unpack(">I", body[:4])[0]}
    if kind == DONE:
        rid, status, bytes_done, received, n = struct.unpack(">IBQQH", body[:23])
        return kind, session, {"receiver_id": rid, "failed": status == 1,
                               "reason": body[23:23 + n].decode("utf-8", "replace")}
    return kind, session, {}


def manifest(entries, digest=SHA256):
    """entries: (type, path bytes, mode, size, content digest bytes)."""
    out = struct.pack(">IBI", 0x41524D32, digest, len(entries))  # "ARM2"
    for kind, path, mode, size, file_digest in entries:
        out += struct.pack(">BIqQ32sH", kind, mode, 0, size, file_digest.ljust(32, b"\0"),
                           len(path)) + path
    return out


def layout(sizes, symbol_size, block_symbols):
    """Per global block: (object, offset, k), as the spec's Layout section says."""
    blocks = []
    for obj, n in enumerate(sizes):
        symbols = -(-n // symbol_size)
        count = -(-symbols // block_symbols)
        if count == 0:
            continue
        base, extra = divmod(symbols, count)
        first = 0
        for b in range(count):
            k = base + (1 if b < extra else 0)
            blocks.append((obj, first * symbol_size, k))
            first += k
    return blocks


# ---- a fake sender ----------------------------------------------------------------

def group(base, last):
    return f"239.255.{base % 250}.{last}"


def ip(text):
    return struct.unpack(">I", socket.inet_aton(text))[0]


class FakeSender:
    """Announces a session and sends objects (the manifest, then files) as a real
    sender would, from one socket on loopback. Repairs by resending a block's
    source symbols (the spec lets a sender wrap to source ESIs)."""

    def __init__(self, base, session, symbol_size=1456, block_symbols=200, window_blocks=16):
        self.control = (group(base, 35), base + 35)
        self.data_to = (group(base, 17), base + 17)
        self.session = session
        self.symbol_size, self.block_symbols = symbol_size, block_symbols
        self.window_blocks = window_blocks
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LO, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(LO))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
        self.seq = 0
        self.receiver = None  # (address, receiver id) once joined

    def close(self):
        self.sock.close()

    def send_control(self, datagram):
        self.sock.sendto(datagram, self.control)

    def send_data(self, datagram):
        self.sock.sendto(datagram, self.data_to)

    def recv(self, timeout):
        """The next receiver datagram within `timeout` s: (from, type, fields), or None."""
        ready, _, _ = select.select([self.sock], [], [], max(0, timeout))
        if not ready:
            return None
        datagram, src = self.sock.recvfrom(2048)
        parsed = parse(datagram)
        if parsed is None or parsed[1] != self.session:
            return None
        return src, parsed[0], parsed[2]

    def wait_for(self, kinds, timeout, resend=None, every=0.05):
        """Waits for a datagram of one of `kinds`, resending `resend` every `every` s."""
        deadline, next_send = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            if resend and time.monotonic() >= next_send:
                resend()
                next_send = time.monotonic() + every
            got = self.recv(min(every, deadline - time.monotonic()))
            if got and got[1] in kinds:
                return got
        return None

    def announce_bytes(self, manifest_bytes, total_bytes, data_group=None, data_port=None,
                       manifest_size=None, sha=None):
        return announce(self.session, ip(data_group or self.data_to[0]),
                        data_port or self.data_to[1], self.port, self.symbol_size,
                        self.block_symbols,
                        len(manifest_bytes) if manifest_size is None else manifest_size,
                        sha or hashlib.sha256(manifest_bytes).digest(), total_bytes,
                        window_blocks=self.window_blocks)

    def join(self, manifest_bytes, total_bytes, timeout=5, **kw):
        """Announces until a receiver joins; returns its JOIN or None."""
        datagram = self.announce_bytes(manifest_bytes, total_bytes, **kw)
        got = self.wait_for({JOIN}, timeout, lambda: self.send_control(datagram))
        if got:
            self.receiver = (got[0], got[2]["receiver_id"])
        return got

    def symbols(self, objects, block):
        obj, offset, k = self.blocks[block]
        content = objects[obj]
        for esi in range(k):
            at = offset + esi * self.symbol_size
            yield esi, content[at:at + self.symbol_size].ljust(self.symbol_size, b"\0")

    def send_block(self, objects, block, skip=()):
        for esi, symbol in self.symbols(objects, block):
            if esi in skip:
                continue
            self.send_data(data(self.session, block, esi, self.seq, symbol))
            self.seq += 1
            if self.seq % 64 == 0:
                time.sleep(0.0005)  # gentle: loopback drops what overflows a socket buffer

    def set_objects(self, objects):
        self.blocks = layout([len(o) for o in objects], self.symbol_size, self.block_symbols)

    def finish(self, objects, timeout=10):
        """Polls and repairs until the receiver's DONE; acknowledges it; sends END.
        Returns the DONE's fields, or None."""
        deadline, poll_id = time.monotonic() + timeout, 100
        while time.monotonic() < deadline:
            poll_id += 1
            self.send_data(poll(self.session, poll_id, 0, len(self.blocks), 1000, 1))
            got = self.wait_for({NAK, DONE}, 0.2)
            if not got:
                continue
            if got[1] == DONE:
                self.sock.sendto(done_ack(self.session, got[2]["receiver_id"]), got[0])
                for _ in range(3):
                    self.send_control(end(self.session))
                return got[2]
            for first, count, _ in got[2]["needs"]:
                for b in range(first, min(first + count, len(self.blocks))):
                    self.send_block(objects, b)
        return None

    def transfer(self, objects, entries_total):
        """A whole session with no tricks; returns the receiver's DONE fields."""
        self.set_objects(objects)
        if not self.join(objects[0], entries_total):
            return None
        for b in range(len(self.blocks)):
            self.send_block(objects, b)
        return self.finish(objects)


# ---- receivers under test -----------------------------------------------------------

class Receiver:
    """A serving `ardus receive --json`; its JSON report lines are collected."""

    def __init__(self, base, directory, extra=(), user=None):
        self.dir = directory
        # This peer speaks version 1 (plaintext), which receivers take only
        # when told to; security_cli.sh and secure_sim_test cover version 2.
        cmd = [ARDUS, "receive", "--interface", "lo", "--dir", directory, "--json",
               "--accept-plaintext", "--group", group(base, 35), "--port", str(base + 35), *extra]
        if user:
            cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reports = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True).start()
        time.sleep(0.3)

    def _read(self, stream, reports):
        for line in stream:
            if reports:
                self.reports.put(line)
            else:
                self.stderr.append(line.decode("utf-8", "replace"))

    def report(self, timeout=10):
        """The next session report, parsed; fails the test if it is not JSON."""
        try:
            line = self.reports.get(timeout=timeout)
        except queue.Empty:
            fail(f"no session report within {timeout} s; receiver stderr: {''.join(self.stderr)}")
        try:
            return json.loads(line)
        except ValueError:
            fail(f"receiver report is not JSON: {line!r}")

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self, field="VmRSS"):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return -1

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Failure(Exception):
    pass


def fail(why):
    raise Failure(why)


def check(condition, why):
    if not condition:
        fail(why)


def file_entry(path, content, mode=0o644):
    return (FILE, path, mode, len(content), hashlib.sha256(content).digest())


def objects_for(entries, contents):
    """Object 0, the manifest, then entry i's content as object i + 1 (b"" for a
    directory). With fewer contents than entries, only the manifest is sent."""
    return [manifest(entries)] + list(contents)


def expect_alive(r, what):
    check(r.alive(), f"receiver exited ({r.proc.returncode}) after {what}: {''.join(r.stderr)}")


# ---- scenarios ----------------------------------------------------------------------

session_counter = [0x5EED0000]


def new_session():
    session_counter[0] += 1
    return session_counter[0]


def scenario_ranges(r, work):
    content = os.urandom(3_000_000)
    entries = [file_entry(b"ranges.bin", content)]
    objects = objects_for(entries, [content])
    s = FakeSender(PORT_BASE, new_session())
    s.set_objects(objects)
    check(s.join(objects[0], len(content)), "no JOIN for a valid ANNOUNCE")
    s.send_block(objects, 0)  # the manifest
    # The NAK waits out a 300 ms backoff, so the ADVERT (on the other socket)
    # surely arrives while it is pending.
    s.send_data(poll(s.session, 7, 0, 0xFFFFFFFF, backoff_us=300_000))
    time.sleep(0.05)
    s.send_control(advert(s.session, 7, [(0, 0xFFFFFFFE, 1)], [(0xFFFFFFF0, 5)]))
    got = s.wait_for({NAK}, 3)
    expect_alive(r, "a POLL and an ADVERT over 2^32 blocks")
    check(got, "no NAK after a POLL and an ADVERT over [0, 2^32-1) (the receiver is stuck)")
    blocks = len(s.blocks)
    for first, count, _ in got[2]["needs"]:
        check(first + count <= blocks, f"NAK names blocks beyond the layout: {got[2]['needs']}")
    expect_alive(r, "a POLL and an ADVERT over 2^32 blocks")
    for b in range(1, blocks):
        s.send_block(objects, b)
    d = s.finish(objects)
    check(d and not d["failed"], f"session after the forged ranges did not succeed: {d}")
    rep = r.report()
    check(rep["status"] == "ok", f"receiver report: {rep}")
    with open(os.path.join(r.dir, "ranges.bin"), "rb") as f:
        check(f.read() == content, "ranges.bin differs")
    print(f"ok ranges: POLL [0, 2^32-1) + ADVERT: NAK {got[2]['needs']} within {blocks} blocks;"
          f" receiver up, session verified; RSS {r.rss_kib() // 1024} MiB")
    s.close()


def scenario_data_group(r, work, nobody):
    content = b"data group test\n"
    entries = [file_entry(b"group.txt", content)]
    objects = objects_for(entries, [content])
    s = FakeSender(PORT_BASE, new_session())
    got = s.join(objects[0], len(content), timeout=1, data_group="10.0.0.1")
    check(got is None, "a receiver JOINed an ANNOUNCE whose data group is not multicast")
    expect_alive(r, "an ANNOUNCE of a unicast data group")
    s.close()
    print("ok data-group: unicast data group: no JOIN, receiver up")

    # A data port the receiver may not bind (it runs unprivileged): that session
    # fails, DONE says why, and the receiver serves the next session.
    nobody_dir = tempfile.mkdtemp(dir=work)
    os.chmod(nobody_dir, 0o777)
    rn = Receiver(PORT_BASE + 100, nobody_dir, user=nobody)
    try:
        s = FakeSender(PORT_BASE + 100, new_session())
        s.set_objects(objects)
        got = s.join(objects[0], len(content), data_port=999)
        check(got, "no JOIN from the unprivileged receiver")
        d = s.wait_for({DONE}, 3)
        check(d and d[2]["failed"], f"no failed DONE when the data group cannot be joined: {d}")
        s.sock.sendto(done_ack(s.session, d[2]["receiver_id"]), d[0])
        rep = rn.report()
        check(rep["status"] == "failed", f"receiver report: {rep}")
        expect_alive(rn, "a session whose data group it cannot join")
        s.close()
        s = FakeSender(PORT_BASE + 100, new_session())
        d2 = s.transfer(objects, len(content))
        check(d2 and not d2["failed"], f"the next session was not served: {d2}")
        check(rn.report()["status"] == "ok", "next session's report not ok")
        print(f"ok data-group: unjoinable data port: DONE failed ({d[2]['reason']!r}); "
              "receiver served the next session")
        s.close()
    finally:
        rn.stop()


def scenario_end(r, work):
    content = os.urandom(2_000_000)
    entries = [file_entry(b"ended.bin", content)]
    objects = objects_for(entries, [content])
    s = FakeSender(PORT_BASE, new_session())
    s.set_objects(objects)
    check(s.join(objects[0], len(content)), "no JOIN")
    s.send_block(objects, 0)
    s.send_block(objects, 1)
    # An END from anyone but the announcing sender is not its END.
    stranger = FakeSender(PORT_BASE, s.session)
    stranger.send_control(end(s.session))
    stranger.close()
    got = s.wait_for({DONE}, 0.5)
    check(got is None, f"an END from another address ended the session: {got}")
    s.send_control(end(s.session))
    got = s.wait_for({DONE}, 3)
    check(got and got[2]["failed"] and "ended by sender" in got[2]["reason"],
          f"END before completion: no failed DONE with the reason: {got}")
    s.sock.sendto(done_ack(s.session, got[2]["receiver_id"]), got[0])
    rep = r.report()
    check(rep["status"] == "failed", f"receiver report: {rep}")
    check(not os.path.exists(os.path.join(r.dir, "ended.bin")), "an ended session published")
    print(f"ok end: another address's END ignored; the sender's END answered by DONE "
          f"failed ({got[2]['reason']!r})")
    s.close()


def spoof_udp(src, dst, payload, device="lo"):
    """Sends a UDP datagram from a forged source address (root: a raw socket)."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    udp = struct.pack(">HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    iph = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 1, 17, 0,
                      socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    raw.sendto(iph + udp, (dst[0], 0))
    raw.close()


def listen_control(base):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((group(base, 35), base + 35))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(group(base, 35)) + socket.inet_aton(LO))
    return sock


def real_sender(base, paths, extra=()):
    cmd = [ARDUS, "send", "--interface", "lo", "--json", "--group", group(base, 35), "--port",
           str(base + 35), "--data-group", group(base, 17), "--data-port", str(base + 17),
           "--feedback-port", str(base + 34), "--encrypt", "none", *extra, *paths]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def sniff_session(sock, timeout=5):
    sock.settimeout(timeout)
    while True:
        datagram, _ = sock.recvfrom(2048)
        if len(datagram) >= 8 and datagram[3] == ANNOUNCE:
            return struct.unpack(">I", datagram[4:8])[0]


def scenario_spoofed_end(work):
    base = PORT_BASE + 200
    src = os.path.join(work, "spoof-src.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(8 << 20))
    rdir = tempfile.mkdtemp(dir=work)
    r = Receiver(base, rdir)
    control = listen_control(base)
    try:
        sender = real_sender(base, [src], ["--receivers", "1", "--rate", "20M"])
        session = sniff_session(control)
        time.sleep(0.5)  # joined, transferring
        started = time.monotonic()
        spoof_udp((LO, base + 34), (group(base, 35), base + 35), end(session))
        out, err = sender.communicate(timeout=30)
        took = time.monotonic() - started
        rep = json.loads(out)
        reasons = [x["reason"] for x in rep["receivers"]]
        check(sender.returncode == 1, f"sender exit {sender.returncode}: {err.decode()}")
        check(any("ended by sender" in x for x in reasons),
              f"the sender did not learn why the receiver failed: {rep['receivers']}")
        check(took < 10, f"the sender waited {took:.1f} s for a receiver its END had failed")
        print(f"ok end (spoofed from the sender's address): the real sender learned "
              f"{reasons} within {took:.2f} s")
    finally:
        control.close()
        r.stop()


def scenario_modes(r, work):
    content = b"#!/bin/sh\necho hi\n"
    entries = [(DIRECTORY, b"modes", 0o1777, 0, b""),
               file_entry(b"modes/suid", content, 0o6755)]
    objects = objects_for(entries, [b"", content])
    s = FakeSender(PORT_BASE, new_session())
    d = s.transfer(objects, len(content))
    check(d and not d["failed"], f"modes session failed: {d}")
    r.report()
    got = oct(os.stat(os.path.join(r.dir, "modes/suid")).st_mode & 0o7777)
    got_dir = oct(os.stat(os.path.join(r.dir, "modes")).st_mode & 0o7777)
    check(got == "0o755" and got_dir == "0o777",
          f"special bits not stripped: file {got}, directory {got_dir}")
    s.close()
    keep_dir = tempfile.mkdtemp(dir=work)
    rk = Receiver(PORT_BASE + 300, keep_dir, ["--keep-special-bits"])
    try:
        s = FakeSender(PORT_BASE + 300, new_session())
        d = s.transfer(objects, len(content))
        check(d and not d["failed"], f"modes session (kept) failed: {d}")
        rk.report()
        kept = oct(os.stat(os.path.join(keep_dir, "modes/suid")).st_mode & 0o7777)
        check(kept == "0o6755", f"--keep-special-bits did not keep them: {kept}")
        s.close()
    finally:
        rk.stop()
    print(f"ok modes: 06755 published as {got}, 01777 as {got_dir}; with "
          f"--keep-special-bits {kept}")


def refused(r, entries, want):
    objects = objects_for(entries, [])
    s = FakeSender(PORT_BASE, new_session())
    s.set_objects(objects)
    check(s.join(objects[0], 0), "no JOIN")
    s.send_block(objects, 0)
    got = s.wait_for({DONE}, 3)
    check(got and got[2]["failed"] and want in got[2]["reason"],
          f"expected a failed DONE with {want!r}: {got}")
    s.sock.sendto(done_ack(s.session, got[2]["receiver_id"]), got[0])
    rep = r.report()
    check(rep["status"] == "failed" and want in rep["reason"], f"receiver report: {rep}")
    s.close()
    return got[2]["reason"]


def scenario_sizes(r, work):
    before = r.rss_kib()
    huge = refused(r, [(FILE, b"huge", 0o644, 10**15, b"\1" * 32)], "session too large")
    wrap = refused(r, [(FILE, b"a", 0o644, 1 << 63, b"\1" * 32),
                       (FILE, b"b", 0o644, (1 << 63) + 5, b"\1" * 32)], "session too large")
    disk = refused(r, [(FILE, b"ten-tb", 0o644, 10**13, b"\1" * 32)], "bytes free")
    hwm = r.rss_kib("VmHWM")
    check(hwm < 64 * 1024, f"receiver peak RSS {hwm // 1024} MiB after huge sizes")
    expect_alive(r, "huge sizes")
    print(f"ok sizes: 10^15 bytes -> {huge!r}; 2^63 + 2^63+5 -> {wrap!r}; 10^13 -> {disk!r}; "
          f"receiver RSS "
          f"{before // 1024} -> {r.rss_kib() // 1024} MiB (peak {hwm // 1024} MiB)")


def scenario_manifest(r, work):
    s = FakeSender(PORT_BASE, new_session())
    before = r.rss_kib()
    started = time.monotonic()
    check(s.join(b"", 1 << 30, manifest_size=256 << 20, sha=b"\0" * 32), "no JOIN")
    time.sleep(0.5)
    during = r.rss_kib()
    rep = r.report(timeout=10)
    took = time.monotonic() - started
    check(rep["status"] == "failed" and "silent" in rep["reason"], f"receiver report: {rep}")
    check(during - before < 32 * 1024,
          f"an announced 256 MiB manifest cost {(during - before) // 1024} MiB")
    check(took < 6, f"a silent sender held the receiver {took:.1f} s")
    s.close()
    content = b"after the silence\n"
    entries = [file_entry(b"after.txt", content)]
    s = FakeSender(PORT_BASE, new_session())
    d = s.transfer(objects_for(entries, [content]), len(content))
    check(d and not d["failed"], f"next session not served: {d}")
    check(r.report()["status"] == "ok", "next session failed")
    s.close()
    print(f"ok manifest: ANNOUNCE of 256 MiB then silence: RSS {before // 1024} -> "
          f"{during // 1024} MiB, given up after {took:.2f} s, next session served")


def scenario_paths(r, work):
    for path, why in [(b"bad\xffname", "not UTF-8"), (b"over\xc0\xaflong", "not UTF-8"),
                      (b"sur\xed\xa0\x80", "not UTF-8"), (b"new\nline", "control character"),
                      (b"esc\x1b[2Jclear", "control character"),
                      (b"c1\xc2\x9bcsi", "control character"), (b".ardus-0000abcd.lock", "reserved")]:
        reason = refused(r, [file_entry(path, b"x")], why)
        check(all(c >= " " for c in reason), f"reason carries control characters: {reason!r}")
    expect_alive(r, "hostile paths")
    print("ok paths: ill-formed UTF-8, C0/C1 controls and reserved names refused; "
          f"reports stay JSON (last: {reason!r})")


def scenario_collide(r, work):
    d = lambda path: (DIRECTORY, path, 0o755, 0, b"")
    collisions = [([file_entry(b"twice", b"1"), file_entry(b"twice", b"2")], "'twice' is named twice"),
                  ([d(b"both"), file_entry(b"both", b"x")], "'both' is named twice"),
                  ([file_entry(b"f/g", b"y"), file_entry(b"f-", b"-"), file_entry(b"f", b"x")],
                   "'f' is a file, but 'f/g' goes through it"),
                  ([file_entry(b"/".join([b"d"] * 256), b"x")], "more than 255 components")]
    for entries, why in collisions:
        before = sorted(os.listdir(r.dir))
        refused(r, [d(b"made-first/sub")] + entries, why)
        check(sorted(os.listdir(r.dir)) == before,
              f"a refused manifest wrote {set(os.listdir(r.dir)) - set(before)}")
    # Begin fails at a symlink after creating made/deep/er: those go, what
    # was there stays.
    outside = os.path.join(work, "collide-outside")
    os.mkdir(outside)
    os.mkdir(os.path.join(r.dir, "kept"))
    os.symlink(outside, os.path.join(r.dir, "zlink"))
    try:
        before = sorted(os.listdir(r.dir))
        refused(r, [d(b"made/deep/er"), d(b"kept/new"), file_entry(b"zlink/evil", b"x")], "symlink")
        check(sorted(os.listdir(r.dir)) == before and not os.listdir(os.path.join(r.dir, "kept")),
              f"a failed session left {sorted(os.listdir(r.dir))} (had {before}), "
              f"kept/: {os.listdir(os.path.join(r.dir, 'kept'))}")
        check(not os.listdir(outside), "wrote through the symlink")
    finally:
        os.unlink(os.path.join(r.dir, "zlink"))
        os.rmdir(os.path.join(r.dir, "kept"))
    expect_alive(r, "colliding paths")
    print("ok collide: duplicates, a file as a directory and 256 components refused, nothing "
          "written; a session failing in Begin removed the directories it made")


def scenario_prefix(r, work):
    prefix = b"p" * 200
    contents = [os.urandom(5000 + 97 * i) for i in range(30)]
    entries = [file_entry(prefix + str(i).encode(), c) for i, c in enumerate(contents)]
    objects = objects_for(entries, contents)
    s = FakeSender(PORT_BASE, new_session(), symbol_size=256, block_symbols=4)
    s.set_objects(objects)
    check(s.join(objects[0], sum(map(len, contents))), "no JOIN")
    last = {}
    for b, (obj, _, k) in enumerate(s.blocks):
        last[obj] = b
    held = {b for obj, b in last.items() if obj > 0}  # each file's last block: one symbol lost
    for b in range(len(s.blocks)):
        s.send_block(objects, b, skip={0} if b in held else ())
    d = s.finish(objects)
    check(d and not d["failed"], f"prefix session failed: {d}")
    check(r.report()["status"] == "ok", "prefix session report not ok")
    for i, c in enumerate(contents):
        with open(os.path.join(r.dir, (prefix + str(i).encode()).decode()), "rb") as f:
            check(f.read() == c, f"file {i} of 30 sharing a 200-byte prefix has other bytes")
    leftovers = [n for n in os.listdir(r.dir) if n.startswith(".ardus-")]
    check(not leftovers, f"left behind: {leftovers}")
    s.close()
    print("ok prefix: 30 files sharing a 200-byte prefix, all open at once, each verified")


def scenario_done_text(work):
    base = PORT_BASE + 400
    src = os.path.join(work, "done-src.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(4 << 20))
    rdir = tempfile.mkdtemp(dir=work)
    r = Receiver(base, rdir)
    control = listen_control(base)
    try:
        sender = real_sender(base, [src], ["--receivers", "2", "--rate", "50M"])
        session = sniff_session(control)
        forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        forger.sendto(done(session, 0xF0F0F0F0, True, b"\xff\x1b[2J\x1b]0;owned\x07 forged"),
                      (LO, base + 34))
        forger.close()
        out, err = sender.communicate(timeout=30)
        check(sender.returncode == 1, f"sender exit {sender.returncode}: {err.decode()[-500:]}")
        rep = json.loads(out)
        forged = [x for x in rep["receivers"] if x["id"] == "f0f0f0f0"]
        check(forged and "\\xFF\\x1B" in forged[0]["reason"], f"reason not escaped: {forged}")
        check(any(x["status"] == "ok" for x in rep["receivers"]), "the real receiver failed")
        print(f"ok done-text: forged DONE reason shown as {forged[0]['reason']!r}")
    finally:
        control.close()
        r.stop()


def scenario_killed(work):
    base = PORT_BASE + 500
    rdir = tempfile.mkdtemp(dir=work)
    content = os.urandom(4 << 20)  # 15 blocks: each written as it completes
    entries = [file_entry(b"big.bin", content)]
    objects = objects_for(entries, [content])
    r = Receiver(base, rdir)
    s = FakeSender(base, new_session())
    s.set_objects(objects)
    check(s.join(objects[0], len(content)), "no JOIN")
    for b in range(len(s.blocks) - 1):
        s.send_block(objects, b)
    def ours():  # temporaries and journals: hidden names with "ardus-"
        return sorted(n for n in os.listdir(rdir) if n.startswith(".") and "ardus-" in n)

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any(n.endswith(".part") for n in ours()):
        time.sleep(0.05)
    left = ours()
    check(any(n.endswith(".part") for n in left), f"no temporary file mid-transfer: {left}")
    r.proc.kill()
    r.proc.wait()
    s.close()
    check(ours() == left, "files changed after kill -9")
    nxt = Receiver(base, rdir)
    try:
        check(not ours(), f"the next receiver left the dead one's files: {ours()}")
        s = FakeSender(base, new_session())
        small = b"after the crash\n"
        d = s.transfer(objects_for([file_entry(b"after.txt", small)], [small]), len(small))
        check(d and not d["failed"], f"the next receiver did not serve: {d}")
        s.close()
    finally:
        nxt.stop()
    print(f"ok killed: kill -9 left {left}; the next receiver removed them and served")


def main():
    if not ARDUS:
        print("set ARDUS to the ardus binary", file=sys.stderr)
        return 2
    wanted = set(sys.argv[1:])
    work = tempfile.mkdtemp(prefix="ardus-hostile-")
    os.chmod(work, 0o755)
    root = os.geteuid() == 0
    nobody = 65534 if root else None
    r = None
    try:
        rdir = tempfile.mkdtemp(dir=work)
        r = Receiver(PORT_BASE, rdir)
        expect_alive(r, "start")
        plain = [("prefix", scenario_prefix), ("ranges", scenario_ranges),
                 ("end", scenario_end), ("modes", scenario_modes), ("sizes", scenario_sizes),
                 ("manifest", scenario_manifest), ("paths", scenario_paths),
                 ("collide", scenario_collide)]
        for name, run in plain:
            if not wanted or name in wanted:
                run(r, work)
        if not wanted or "data-group" in wanted:
            scenario_data_group(r, work, nobody)
        if not wanted or "done-text" in wanted:
            scenario_done_text(work)
        if not wanted or "killed" in wanted:
            scenario_killed(work)
        if not wanted or "spoofed-end" in wanted:
            if root:
                scenario_spoofed_end(work)
            elif os.environ.get("CI") == "true":
                raise Failure("CI must run as root: a spoofed END needs a raw socket")
            else:
                print("SKIP part: a spoofed END needs root for a raw socket")
        expect_alive(r, "every scenario")
        code = r.stop()
        check(code == 0, f"the serving receiver exited {code} on SIGTERM (expected 0)")
        print("hostile peer: receivers stayed up and served; every forged input handled")
        return 0
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        if r:
            print("receiver stderr:", "".join(r.stderr)[-2000:], file=sys.stderr)
        return 1
    finally:
        if r:
            r.stop()
        shutil.rmtree(work, ignore_errors=True)


def spoof_announce(source, device, control_group, control_port):
    m = manifest([file_entry(b"spoofed.txt", b"spoofed\n")])
    payload = announce(0x5B00F001, ip("239.255.11.17"), 1117, 1834, 1456, 200, len(m),
                       hashlib.sha256(m).digest(), 8)
    for _ in range(3):
        spoof_udp((source, 1834), (control_group, int(control_port)), payload, device)
        time.sleep(0.05)
    return 0


def spoof_done(source, device, control_group, control_port, sender_ip, sender_port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((control_group, int(control_port)))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(control_group) + socket.inet_aton("0.0.0.0"))
    session = sniff_session(sock, timeout=10)
    for _ in range(3):
        spoof_udp((source, 1834), (sender_ip, int(sender_port)),
                  done(session, 0x5B00F002, True, b"forged from an unreachable address"), device)
        time.sleep(0.05)
    return 0


# ---- version 2, from docs/ardus-protocol.md "Version 2: protected sessions" --------

V2_HEADER, TAG = 20, 16
KEYINFO = 11


def header_v2(kind, session, key_id, packet_number):
    return struct.pack(">HBBIIQ", MAGIC, 2, kind, session, key_id, packet_number)


def parse_v2(datagram):
    """(type, session, key_id, packet_number) of a version 2 datagram, or None."""
    if len(datagram) < V2_HEADER:
        return None
    magic, version, kind, session, key_id, pn = struct.unpack(">HBBIIQ", datagram[:V2_HEADER])
    if magic != MAGIC or version != 2:
        return None
    return kind, session, key_id, pn


class RawSender:
    """UDP datagrams from any source address on DEVICE (one raw socket)."""

    def __init__(self, device):
        self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.raw.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())

    def send(self, src, dst, payload):
        udp = struct.pack(">HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
        iph = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 1, 17, 0,
                          socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
        try:
            self.raw.sendto(iph + udp, (dst[0], 0))
        except OSError:  # a full queue drops it, as a switch would
            pass


def joined_socket(group_ip, port, device_ip="0.0.0.0"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((group_ip, port))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                    socket.inet_aton(group_ip) + socket.inet_aton(device_ip))
    return sock


def wait_announce_v2(sock, timeout):
    """The first version 2 ANNOUNCE: (datagram, session, data group, data port, feedback port)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            datagram, _ = sock.recvfrom(2048)
        except socket.timeout:
            break
        h = parse_v2(datagram)
        if h and h[0] == ANNOUNCE:
            data_group, data_port, feedback_port = struct.unpack(
                ">IHH", datagram[V2_HEADER:V2_HEADER + 8])
            return datagram, h[1], socket.inet_ntoa(struct.pack(">I", data_group)), data_port, \
                feedback_port
    raise Failure("no version 2 ANNOUNCE seen")


def capture_data(sock, session, want, timeout):
    """Up to `want` sealed DATA datagrams of `session`, as sent."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            datagram, _ = sock.recvfrom(2048)
        except socket.timeout:
            break
        h = parse_v2(datagram)
        if h and h[0] == DATA and h[1] == session:
            got.append(datagram)
    return got


def flipped(datagram, offset):
    b = bytearray(datagram)
    b[offset] ^= 0x01
    return bytes(b)


def forge_v2(device, control_group, control_port, sender_ip, victim_ip, stop_file, out_json):
    control_port = int(control_port)
    rng = __import__("random").Random(0x17)
    junk = rng.randbytes
    control = joined_socket(control_group, control_port)
    announce_dgram, session, data_group, data_port, feedback_port = wait_announce_v2(control, 20)
    data_sock = joined_socket(data_group, data_port)
    captured = capture_data(data_sock, session, 64, 5)
    check(captured, "captured no sealed DATA to replay")
    raw = RawSender(device)
    to_sender = lambda p: raw.send((victim_ip, 1834), (sender_ip, feedback_port), p)
    to_control = lambda p: raw.send((sender_ip, feedback_port), (control_group, control_port), p)
    to_data = lambda p: raw.send((sender_ip, feedback_port), (data_group, data_port), p)
    sent = {}

    def count(name, n=1):
        sent[name] = sent.get(name, 0) + n

    # The manifest digest is at body offset 20 (after group, ports, symbol
    # size, block symbols and manifest size): a tampered manifest.
    tampered_announce = flipped(announce_dgram, V2_HEADER + 20)
    pn = 1 << 40  # far ahead of the real packet numbers, where a window would move
    while not os.path.exists(stop_file):
        for _ in range(50):
            pn += 1
            rid = rng.randrange(1, 1 << 32)
            # Feedback, version 2: credentials and bodies made up; key ids
            # guessed, including small ones a real receiver may hold.
            to_sender(header_v2(JOIN, session, rid, 1) + junk(32 + 32 + 64) +
                      junk(12) + junk(TAG))
            count("join_v2")
            for kind, body in ((NAK, struct.pack(">IIH", rid, 1, 1) + struct.pack(">IIH", 0, 1 << 20, 0)),
                               (STATUS, struct.pack(">I", rid) + junk(24)),
                               (DONE, struct.pack(">IBQQH", rid, 1, 0, 0, 6) + b"forged")):
                key = rng.choice((rid, rng.randrange(1, 16)))
                to_sender(header_v2(kind, session, key, pn) + body + junk(TAG))
                count({NAK: "nak_v2", STATUS: "status_v2", DONE: "done_v2"}[kind])
            # Feedback, version 1 plaintext of the same session.
            to_sender(header(JOIN, session) + struct.pack(">IQ", rid, 0))
            to_sender(header(NAK, session) + struct.pack(">IIH", rid, 1, 1) +
                      struct.pack(">IIH", 0, 0xFFFFFFFF, 0xFFFF))
            to_sender(header(DONE, session) + struct.pack(">IBQQH", rid, 0, 0, 0, 0))
            count("feedback_v1", 3)
            # Group traffic, version 2 with made-up tags, "from" the sender.
            to_control(tampered_announce)
            count("announce_tampered")
            to_control(header_v2(END, session, 0, pn) + junk(TAG))
            to_control(header_v2(POLL, session, 0, pn + 1) + junk(20) + junk(TAG))
            to_control(header_v2(ADVERT, session, 0, pn + 2) + junk(12) + junk(TAG))
            count("end_poll_advert_v2", 3)
            to_data(header_v2(DATA, session, 0, pn + 3) + junk(8 + 1400) + junk(TAG))
            count("data_v2")
            # Genuine sealed DATA, replayed as it was and with one bit flipped.
            real = captured[rng.randrange(len(captured))]
            to_data(real)
            count("data_replayed")
            to_data(flipped(real, V2_HEADER + 4 + rng.randrange(len(real) - V2_HEADER - 4)))
            count("data_flipped")
            # Version 1 plaintext group traffic.
            to_control(end(session))
            to_control(poll(session, 1, 0, 0xFFFFFFFF))
            to_data(data(session, 1, 0, 0, junk(64)))
            count("group_v1", 3)
        time.sleep(0.01)
    with open(out_json, "w") as f:
        json.dump({"session": f"{session:08x}", "captured": len(captured), "sent": sent}, f)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["spoof-announce"]:
        sys.exit(spoof_announce(*sys.argv[2:6]))
    if sys.argv[1:2] == ["spoof-done"]:
        sys.exit(spoof_done(*sys.argv[2:8]))
    if sys.argv[1:2] == ["forge-v2"]:
        try:
            sys.exit(forge_v2(*sys.argv[2:9]))
        except Failure as e:
            print(f"FAIL: {e}", file=sys.stderr)
            sys.exit(1)
    sys.exit(main())

"""Raw REX frames for the integration tests: what a hostile or broken client
can send. Usage: rex_raw.py PORT CASE; exits 0 when rexd behaved as
docs/rex-protocol.md says, else prints why and exits 1."""
import socket
import struct
import sys

HELLO, REQUEST, REPLY, ERROR, PUSH = 1, 2, 3, 4, 5
QUERY, LIST_TYPES = 30, 12


def frame(kind, method, rid, body=b""):
    return struct.pack(">IBBHI", 8 + len(body), kind, 0, method, rid) + body


def mp_str(s):
    b = s.encode()
    if len(b) < 32:
        return bytes([0xA0 | len(b)]) + b
    return b"\xdb" + struct.pack(">I", len(b)) + b


def mp(v):
    """MessagePack for the few types the tests send."""
    if isinstance(v, bool):
        return b"\xc3" if v else b"\xc2"
    if isinstance(v, int):
        return b"\xcf" + struct.pack(">Q", v) if v >= 0 else b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        return mp_str(v)
    if isinstance(v, bytes):
        return b"\xc6" + struct.pack(">I", len(v)) + v
    if isinstance(v, dict):
        return mp_map(v)
    raise TypeError(v)


def mp_map(d):
    out = b"\xde" + struct.pack(">H", len(d))
    for k, v in d.items():
        out += mp_str(k) + mp(v)
    return out


def read_frame(sock):
    head = b""
    while len(head) < 12:
        chunk = sock.recv(12 - len(head))
        if not chunk:
            return None
        head += chunk
    length, kind, _, method, rid = struct.unpack(">IBBHI", head)
    body = b""
    while len(body) < length - 8:
        chunk = sock.recv(length - 8 - len(body))
        if not chunk:
            return None
        body += chunk
    return kind, method, rid, body


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def hello(s):
    s.sendall(frame(HELLO, 0, 0, mp_map({"version": 1})))
    f = read_frame(s)
    assert f and f[0] == HELLO, f


def closed(s):
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


def error_name(body):
    # The ERROR body is {code, name, message}; find the name string by key.
    i = body.find(b"name")
    n = body[i + 4] & 0x1F
    return body[i + 5:i + 5 + n].decode()


def case_split(port):
    """Every frame sent one byte at a time still works."""
    s = connect(port)
    data = frame(HELLO, 0, 0, mp_map({"version": 1})) + frame(REQUEST, LIST_TYPES, 9, b"\x80")
    for b in data:
        s.sendall(bytes([b]))
    assert read_frame(s)[0] == HELLO
    f = read_frame(s)
    assert f[0] == REPLY and f[2] == 9, f


def case_oversized(port):
    s = connect(port)
    hello(s)
    s.sendall(struct.pack(">IBBHI", 64 << 20, REQUEST, 0, QUERY, 1))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "frame_too_large", f
    assert closed(s)


def case_bad_kind(port):
    s = connect(port)
    hello(s)
    s.sendall(frame(77, 0, 1))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "bad_frame", f
    assert closed(s)


def case_no_hello(port):
    s = connect(port)
    s.sendall(frame(REQUEST, LIST_TYPES, 1, b"\x80"))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "handshake_required", f
    assert closed(s)


def case_bad_body(port):
    """A malformed body is refused, and the connection stays usable."""
    s = connect(port)
    hello(s)
    s.sendall(frame(REQUEST, QUERY, 1, b"\xc1\xff"))
    f = read_frame(s)
    assert f[0] == ERROR and f[2] == 1 and error_name(f[3]) == "bad_request", f
    s.sendall(frame(REQUEST, 999, 2, b"\x80"))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "unknown_method", f
    s.sendall(frame(REQUEST, LIST_TYPES, 3, b"\x80"))
    f = read_frame(s)
    assert f[0] == REPLY and f[2] == 3, f


def case_hostile_query(port):
    s = connect(port)
    hello(s)
    for i, constraint in enumerate(["(" * 5000 + "ppm > 1" + ")" * 5000,
                                    "ppm" + " + ppm" * 3000 + " > 1",
                                    "x" * 9000]):
        s.sendall(frame(REQUEST, QUERY, i, mp_map({"type": "printer", "constraint": constraint})))
        f = read_frame(s)
        assert f[0] == ERROR and error_name(f[3]) == "limit_exceeded", (constraint[:20], f)


PUBLISH, SUBSCRIBE = 110, 120


def publish_many(port, channel, count, body_bytes=0, start=0):
    """Pipelines `count` publishes of events with field n = start.. and waits
    for every acknowledgement."""
    s = connect(port)
    hello(s)
    body = b"x" * body_bytes
    window = 64
    sent = acked = 0
    while acked < count:
        while sent < count and sent - acked < window:
            s.sendall(frame(REQUEST, PUBLISH, sent + 1, mp_map({
                "channel": channel, "domain": "test", "type": "t%d" % ((start + sent) % 2),
                "name": "e", "fields": {"n": start + sent}, "body": body})))
            sent += 1
        f = read_frame(s)
        assert f and f[0] == REPLY, f
        acked += 1


def case_slow_consumer(port):
    """A subscriber that grants credit but never reads: rexd must cut it off
    or drop for it, not grow. Prints rexd's peak RSS growth to check."""
    slow = connect(port)
    hello(slow)
    slow.sendall(frame(REQUEST, SUBSCRIBE, 1, mp_map({
        "channel": "flood", "filter": "", "credit": 100000, "max_queue": 1000})))
    publish_many(port, "flood", 20000, body_bytes=16384)  # 320 MiB of bodies


def case_bad_publish(port):
    s = connect(port)
    hello(s)
    s.sendall(frame(REQUEST, PUBLISH, 1, mp_map({"channel": "../x", "domain": "d"})))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "bad_request", f
    s.sendall(frame(REQUEST, PUBLISH, 2, mp_map({"channel": "ok", "fields": {"n": "x" * 10},
                                                 "body": b"y" * ((1 << 20) + 1)})))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "limit_exceeded", f
    s.sendall(frame(REQUEST, SUBSCRIBE, 3, mp_map({"channel": "ok", "filter": "$.a == $.b"})))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "illegal_constraint", f
    s.sendall(frame(REQUEST, PUBLISH, 4, b"\x81\xa1"))  # truncated map
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "bad_request", f


def mp_array(items):
    return b"\xdd" + struct.pack(">I", len(items)) + b"".join(items)


def case_batch(port):
    """publish_batch: all events or none."""
    s = connect(port)
    hello(s)
    s.sendall(frame(REQUEST, 100, 1, mp_map({"channel": "batch", "persistent": True})))
    assert read_frame(s)[0] == REPLY
    good = [mp_map({"domain": "d", "type": "t", "name": "e", "fields": {"n": i}}) for i in range(3)]
    req = b"\xde" + struct.pack(">H", 2) + mp_str("channel") + mp_str("batch") + mp_str("events")
    s.sendall(frame(REQUEST, 111, 2, req + mp_array(good)))
    f = read_frame(s)
    assert f[0] == REPLY and b"first_seq" in f[3], f
    bad = good + [mp_map({"domain": "d", "priority": 99999})]
    s.sendall(frame(REQUEST, 111, 3, req + mp_array(bad)))
    f = read_frame(s)
    assert f[0] == ERROR and error_name(f[3]) == "bad_request", f
    s.sendall(frame(REQUEST, 101, 4, mp_map({"channel": "batch"})))
    f = read_frame(s)
    assert f[0] == REPLY and b"next_seq\xcf" + struct.pack(">Q", 4) in f[3] or \
        b"next_seq\x04" in f[3], f  # 3 events published, none of the bad batch


if __name__ == "__main__":
    if sys.argv[2] == "publish":
        publish_many(int(sys.argv[1]), sys.argv[3], int(sys.argv[4]),
                     start=int(sys.argv[5]) if len(sys.argv) > 5 else 0)
        sys.exit(0)
    port, case = int(sys.argv[1]), sys.argv[2]
    try:
        globals()["case_" + case](port)
    except Exception as e:  # noqa: BLE001 - report any failure as the test's
        print(f"{case}: {e!r}")
        sys.exit(1)

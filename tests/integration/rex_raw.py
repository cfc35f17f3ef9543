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
    return b"\xda" + struct.pack(">H", len(b)) + b


def mp_map(d):
    out = bytes([0x80 | len(d)])
    for k, v in d.items():
        out += mp_str(k)
        out += mp_str(v) if isinstance(v, str) else bytes([v])  # small ints only
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


if __name__ == "__main__":
    port, case = int(sys.argv[1]), sys.argv[2]
    try:
        globals()["case_" + case](port)
    except Exception as e:  # noqa: BLE001 - report any failure as the test's
        print(f"{case}: {e!r}")
        sys.exit(1)

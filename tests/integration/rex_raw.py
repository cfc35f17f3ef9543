"""Raw REX frames for the integration tests: what a hostile or broken client
can send. Usage: rex_raw.py [TLS OPTIONS] PORT CASE [REXD_PID]; exits 0 when
rexd behaved as docs/rex-protocol.md says, else prints why and exits 1. Cases
that measure rexd (memory, CPU) take its pid and print what they measured.
The auth_* cases take key files (from `rex keygen`) and other words as
arguments and speak the authentication exchange (python3-cryptography signs).

TLS OPTIONS (or the environment variables in brackets) make every case
connect with TLS 1.3: --tls-ca FILE [REX_RAW_TLS_CA] verifies the server
against that CA and the name --tls-name (default 127.0.0.1); --tls-pin HEX
[REX_RAW_TLS_PIN] accepts the server whose public key (SubjectPublicKeyInfo)
has that SHA-256, as rexd prints and rex --tls-pin takes; --tls-cert FILE
--tls-key FILE present a client certificate (mutual TLS). Python's ssl has no
RFC 9266 exporter, so its AUTH over TLS cannot bind the session: rexd
refuses it (tests do AUTH over TLS with the rex CLI)."""
import hashlib
import os
import resource
import socket
import ssl
import struct
import sys
import time

HELLO, REQUEST, REPLY, ERROR, PUSH, AUTH = 1, 2, 3, 4, 5, 6
QUERY, LIST_TYPES = 30, 12
AUTH_LABEL = b"rex-auth-v1\0"


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


TLS = {"ca": os.environ.get("REX_RAW_TLS_CA", ""), "pin": os.environ.get("REX_RAW_TLS_PIN", ""),
       "name": "127.0.0.1", "cert": "", "key": ""}


def der_item(data, at):
    """(tag, start of contents, end) of the DER item at `at`."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[at:at + n], "big")
        at += n
    return tag, at, at + length


def spki_sha256(cert_der):
    """SHA-256 of a certificate's SubjectPublicKeyInfo: the pin."""
    _, tbs, _ = der_item(cert_der, 0)  # Certificate
    _, at, _ = der_item(cert_der, tbs)  # tbsCertificate
    if cert_der[at] == 0xA0:  # [0] version
        at = der_item(cert_der, at)[2]
    for _ in range(5):  # serial, signature, issuer, validity, subject
        at = der_item(cert_der, at)[2]
    _, _, end = der_item(cert_der, at)
    return hashlib.sha256(cert_der[at:end]).hexdigest()


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if TLS["ca"]:
        ctx.load_verify_locations(TLS["ca"])
    else:  # pin only: the pin, checked after the handshake, authenticates the server
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if TLS["cert"]:
        ctx.load_cert_chain(TLS["cert"], TLS["key"])
    return ctx


def wrap_tls(raw):
    s = tls_context().wrap_socket(raw, server_hostname=TLS["name"])
    if TLS["pin"]:
        seen = spki_sha256(s.getpeercert(binary_form=True))
        if seen != TLS["pin"].replace(":", "").lower():
            s.close()
            raise ssl.SSLError(f"the server's key SHA-256 is {seen}, not the pinned {TLS['pin']}")
    return s


def connect(port, tls=None):
    """A connection to rexd; TLS when options say so (tls=False forces plaintext)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls is None:
        tls = bool(TLS["ca"] or TLS["pin"])
    return wrap_tls(s) if tls else s


def hello(s):
    s.sendall(frame(HELLO, 0, 0, mp_map({"version": 1})))
    f = read_frame(s)
    assert f and f[0] == HELLO, f


def hello_nonce(s):
    """HELLO, then the 32-byte nonce of the server's HELLO reply."""
    s.sendall(frame(HELLO, 0, 0, mp_map({"version": 1})))
    f = read_frame(s)
    assert f and f[0] == HELLO, f
    i = f[3].find(mp_str("nonce"))
    assert i >= 0, ("no nonce in the HELLO reply", f[3])
    i += len(mp_str("nonce"))
    assert f[3][i:i + 2] == b"\xc4\x20", f[3][i:i + 2]
    return f[3][i + 2:i + 34]


def load_key(path):
    from cryptography.hazmat.primitives import serialization
    with open(path, "rb") as fh:
        return serialization.load_pem_private_key(fh.read(), password=None)


def raw_public(key):
    from cryptography.hazmat.primitives import serialization
    return key.public_key().public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)


def auth_message(nonce, service, binding=b""):
    """docs/rex-protocol.md, "Authentication": what the client signs."""
    svc = service.encode()
    return AUTH_LABEL + nonce + bytes([len(svc)]) + svc + bytes([len(binding)]) + binding


def auth_frame(public, signature, rid=0):
    return frame(AUTH, 0, rid, mp_map({"key": public, "signature": signature}))


def authenticate(s, keyfile, service="trader"):
    """HELLO and AUTH; returns the identity name rexd answered with."""
    key = load_key(keyfile)
    nonce = hello_nonce(s)
    s.sendall(auth_frame(raw_public(key), key.sign(auth_message(nonce, service)), 3))
    f = read_frame(s)
    assert f and f[0] == AUTH and f[2] == 3, f
    i = f[3].find(mp_str("identity")) + len(mp_str("identity"))
    n = f[3][i] & 0x1F
    return f[3][i + 1:i + 1 + n].decode()


def expect_refused(s, name, text):
    """rexd answers ERROR `name` whose message holds `text`, and closes."""
    f = read_frame(s)
    assert f and f[0] == ERROR and error_name(f[3]) == name, f
    assert text.encode() in f[3], (text, f[3])
    assert closed(s)


def query_outcome(s, rid, type_name):
    """REPLY, or the error name, of a query for `type_name`."""
    s.sendall(frame(REQUEST, QUERY, rid, mp_map({"type": type_name})))
    f = read_frame(s)
    assert f, "rexd closed the connection"
    return "REPLY" if f[0] == REPLY else error_name(f[3])


def case_auth_ok(port, keyfile, want):
    """A listed key is the identity the auth file names, and is served."""
    s = connect(port)
    got = authenticate(s, keyfile)
    assert got == want, (got, want)
    assert call(s, LIST_TYPES, 1, b"\x80") is not None


def case_auth_unknown(port, keyfile):
    s = connect(port)
    key = load_key(keyfile)
    nonce = hello_nonce(s)
    s.sendall(auth_frame(raw_public(key), key.sign(auth_message(nonce, "trader"))))
    expect_refused(s, "unauthenticated", "is not in the auth file")


def case_auth_bad_signature(port, keyfile):
    """A listed key with a signature that is not its: one bit flipped."""
    s = connect(port)
    key = load_key(keyfile)
    sig = bytearray(key.sign(auth_message(hello_nonce(s), "trader")))
    sig[10] ^= 0x01
    s.sendall(auth_frame(raw_public(key), bytes(sig)))
    expect_refused(s, "unauthenticated", "does not verify")


def case_auth_wrong_key(port, keyfile, other):
    """A listed public key with a signature made by another private key."""
    s = connect(port)
    nonce = hello_nonce(s)
    s.sendall(auth_frame(raw_public(load_key(keyfile)),
                         load_key(other).sign(auth_message(nonce, "trader"))))
    expect_refused(s, "unauthenticated", "does not verify")


def case_auth_replay(port, keyfile):
    """A proof recorded on one connection, presented on another, is refused;
    the same proof is good on its own connection."""
    key = load_key(keyfile)
    first, second = connect(port), connect(port)
    proof = auth_frame(raw_public(key), key.sign(auth_message(hello_nonce(first), "trader")))
    hello_nonce(second)
    second.sendall(proof)
    expect_refused(second, "unauthenticated", "does not verify")
    first.sendall(proof)
    f = read_frame(first)
    assert f and f[0] == AUTH, f


def case_auth_other_service(port, keyfile):
    """A proof made for Notify does not open the Trader."""
    s = connect(port)
    key = load_key(keyfile)
    s.sendall(auth_frame(raw_public(key), key.sign(auth_message(hello_nonce(s), "notify"))))
    expect_refused(s, "unauthenticated", "does not verify")


def case_auth_twice(port, keyfile):
    s = connect(port)
    authenticate(s, keyfile)
    key = load_key(keyfile)
    s.sendall(auth_frame(raw_public(key), b"\0" * 64))
    expect_refused(s, "unauthenticated", "already sent")


def case_auth_after_request(port, keyfile):
    s = connect(port)
    key = load_key(keyfile)
    nonce = hello_nonce(s)
    call(s, LIST_TYPES, 1, b"\x80")
    s.sendall(auth_frame(raw_public(key), key.sign(auth_message(nonce, "trader"))))
    expect_refused(s, "unauthenticated", "before the first REQUEST")


def case_auth_doc_example(port, doc):
    """The worked example of docs/rex-protocol.md, "Authentication",
    recomputed here by python3-cryptography, not by rexd's code."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    msg = auth_message(bytes(range(0x80, 0xA0)), "trader")
    text = open(doc).read()

    def rows(b):
        return "\n".join("    " + " ".join(f"{x:02x}" for x in b[i:i + 16])
                         for i in range(0, len(b), 16))
    sig = key.sign(msg)
    # The frame as rexd's writer encodes it: binaries as bin 8 (c4).
    auth_bytes = frame(AUTH, 0, 0, b"\x82\xa3key\xc4\x20" + raw_public(key) +
                       b"\xa9signature\xc4\x40" + sig)
    for name, b in (("public key", raw_public(key)), ("message", msg), ("signature", sig),
                    ("AUTH frame", auth_bytes)):
        assert "\n" + rows(b) + "\n" in text, (name, rows(b))


def case_auth_query(port, keyfile, type_name):
    """Prints the outcome of a query (REPLY or the error name) as `keyfile`,
    or anonymously when keyfile is '-'."""
    s = connect(port)
    if keyfile == "-":
        hello(s)
    else:
        authenticate(s, keyfile)
    print(query_outcome(s, 1, type_name))


def case_auth_reload(port, keyfile, type_name, pid, auth_file, new_file):
    """An open, authenticated connection across a SIGHUP that removes its
    key: prints the outcome of a query before and after."""
    import os
    import shutil
    import signal
    s = connect(port)
    print("identity", authenticate(s, keyfile))
    print("before", query_outcome(s, 1, type_name))
    shutil.copyfile(new_file, auth_file)
    os.kill(int(pid), signal.SIGHUP)
    time.sleep(1.0)
    print("after", query_outcome(s, 2, type_name))


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
    # An ext-type value (here fixext 1) anywhere in a body: bad_request, and
    # the connection stays open (docs/rex-protocol.md, "Bodies").
    s.sendall(frame(REQUEST, QUERY, 4, b"\x81" + mp_str("type") + b"\xd4\x01\x00"))
    f = read_frame(s)
    assert f[0] == ERROR and f[2] == 4 and error_name(f[3]) == "bad_request", f
    assert b"not valid MessagePack" in f[3], f
    s.sendall(frame(REQUEST, LIST_TYPES, 5, b"\x80"))
    assert read_frame(s)[0] == REPLY


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


def case_durable_twice(port):
    """A durable name attached to one connection is refused on another with
    bad_request, which stays open; once the first leaves, the name is free."""
    sub = mp_map({"channel": "jobs", "durable": "twice", "credit": 0})
    first = connect(port)
    hello(first)
    call(first, SUBSCRIBE, 1, sub)
    second = connect(port)
    hello(second)
    second.sendall(frame(REQUEST, SUBSCRIBE, 2, sub))
    f = read_frame(second)
    assert f[0] == ERROR and error_name(f[3]) == "bad_request" and b"attached" in f[3], f
    first.close()
    time.sleep(0.3)
    call(second, SUBSCRIBE, 3, sub)


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


def mp_array_of(items):
    return b"\xdd" + struct.pack(">I", len(items)) + b"".join(items)


def status_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def reply_uint(body, key):
    """An unsigned integer value from a reply map (positive fixint or uint64)."""
    i = body.index(mp_str(key)) + len(mp_str(key))
    return struct.unpack(">Q", body[i + 1:i + 9])[0] if body[i] == 0xcf else body[i]


def call(s, method, rid, body):
    s.sendall(frame(REQUEST, method, rid, body))
    f = read_frame(s)
    assert f and f[0] == REPLY, (method, f and f[0], f and f[3][:200])
    return f[3]


def add_type(s, name, props):
    defs = [mp_map({"name": p, "type": t, "mandatory": False, "readonly": False})
            for p, t in props]
    body = b"\x83" + mp_str("name") + mp_str(name) + mp_str("supers") + mp_array_of([]) + \
        mp_str("properties") + mp_array_of(defs)
    call(s, 10, 1, body)


def expect_closed_after(s, code, seconds):
    """rexd sends ERROR `code` and closes within `seconds`."""
    s.settimeout(seconds)
    f = read_frame(s)
    assert f and f[0] == ERROR and error_name(f[3]) == code, f
    assert closed(s)


def case_amplification(port, pid):
    """Pipelined `describe` requests for a 1 MB offer, never read: rexd serves
    them only while its output for the client has room, so 27 KB of requests
    do not become 1 GB of replies."""
    s = connect(port)
    hello(s)
    add_type(s, "big", [(f"p{i}", "string") for i in range(16)])
    offer = reply_uint(call(s, 20, 2, mp_map({"type": "big", "props": {
        f"p{i}": "v" * 60000 for i in range(16)}})), "id")
    before = status_kib(pid, "VmRSS")
    s.sendall(frame(REQUEST, 23, 3, mp_map({"id": offer})) * 1000)
    time.sleep(2)
    growth = (status_kib(pid, "VmHWM") - before) // 1024
    print(f"amplification: 1000 pipelined describes of a 960 KB offer, unread: rexd peak RSS "
          f"+{growth} MiB")
    assert growth < 150, f"rexd grew by {growth} MiB"
    s.settimeout(30)
    for _ in range(20):  # served in order, all of them
        f = read_frame(s)
        assert f[0] == REPLY and f[2] == 3 and len(f[3]) > 900000, f[:3]
    s.close()


def case_fairness(port):
    """One client pipelines expensive queries; another's request is answered
    within a turn or two, not after all of them."""
    s = connect(port)
    hello(s)
    add_type(s, "heavy", [("ppm", "int")])
    window, sent, acked, total = 256, 0, 0, 25000
    while acked < total:
        while sent < total and sent - acked < window:
            s.sendall(frame(REQUEST, 20, sent + 1, mp_map({"type": "heavy", "props": {"ppm": sent}})))
            sent += 1
        assert read_frame(s)[0] == REPLY
        acked += 1
    # 2,000 instructions per offer: each query spends its whole step budget.
    costly = "ppm" + " + ppm" * 999 + " > 1"
    q = frame(REQUEST, QUERY, 1, mp_map({"type": "heavy", "constraint": costly, "page_size": 1}))
    t0 = time.time()
    s.sendall(q)
    read_frame(s)
    one = time.time() - t0
    victim = connect(port)
    hello(victim)
    victim.settimeout(120)
    s.sendall(q * 20)
    time.sleep(0.1)
    t0 = time.time()
    victim.sendall(frame(REQUEST, LIST_TYPES, 2, b"\x80"))
    f = read_frame(victim)
    waited = time.time() - t0
    print(f"fairness: one expensive query takes {one:.2f} s; with 20 pipelined by another client "
          f"a list_types waited {waited:.2f} s")
    assert f[0] == REPLY and waited < max(2.0, 3 * one), f"the victim waited {waited:.1f} s"
    s.close()


def case_substring_publish(port):
    """1,000 subscriptions whose `~` filters are a naive search's worst case:
    one 64 KB publish is acknowledged in well under a second."""
    subs = connect(port)
    hello(subs)
    subs.settimeout(60)
    needle = "a" * 7000 + "b"
    subs.sendall(b"".join(frame(REQUEST, SUBSCRIBE, i + 1, mp_map({
        "channel": "substr", "filter": f"'{needle}{i}' ~ $.s", "credit": 0}))
        for i in range(1000)))
    for _ in range(1000):
        assert read_frame(subs)[0] == REPLY
    p = connect(port)
    hello(p)
    p.settimeout(60)
    t0 = time.time()
    call(p, PUBLISH, 1, mp_map({"channel": "substr", "domain": "d", "type": "t", "name": "e",
                                "fields": {"s": "a" * 64000}}))
    took = time.time() - t0
    print(f"substring filters: a 64 KB publish to 1,000 worst-case '~' filters took {took:.3f} s")
    assert took < 1.0, f"the publish took {took:.1f} s"


def case_slowloris(port):
    """Run against a rexd with --handshake-timeout 1 --frame-timeout 1: 500
    silent clients and 500 that send a frame one byte at a time (fewer if
    the descriptor limit is low) are closed with timed_out, while another
    client is served throughout."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    each = max(10, min(500, (hard - 100) // 2))
    silent = [connect(port) for _ in range(each)]
    slow = []
    for _ in range(each):
        c = connect(port)
        hello(c)
        slow.append(c)
    victim = connect(port)
    hello(victim)
    partial = frame(REQUEST, LIST_TYPES, 1, b"\x80")
    t0 = time.time()
    for i in range(8):  # a byte every 0.4 s never completes the 13-byte frame in time
        for c in slow:
            try:
                c.send(partial[i:i + 1])
            except OSError:
                pass
        victim.sendall(frame(REQUEST, LIST_TYPES, 100 + i, b"\x80"))
        f = read_frame(victim)
        assert f and f[0] == REPLY, f
        time.sleep(0.4)
    for c in silent + slow:
        expect_closed_after(c, "timed_out", 5)
    print(f"slowloris: {2 * each} stalled clients closed with timed_out within "
          f"{time.time() - t0:.1f} s; the victim was served every 0.4 s")


def case_stalled_subscribers(port, pid):
    """Run against a rexd with --write-timeout 2 --max-output 128M: 40
    subscribers that never read are cut and their memory goes at once. What
    each can still read is what the kernel had taken: frames (the overloaded
    error last, if it fitted; the last frame cut short if rexd gave up
    writing it), then the end of the stream."""
    before = status_kib(pid, "VmRSS")
    subs = []
    for _ in range(40):
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.connect(("127.0.0.1", port))
        if TLS["ca"] or TLS["pin"]:
            c = wrap_tls(c)
        hello(c)
        c.sendall(frame(REQUEST, SUBSCRIBE, 1, mp_map({"channel": "stall", "credit": 100000,
                                                       "max_queue": 100000})))
        subs.append(c)
    time.sleep(0.3)
    publish_many(port, "stall", 1300, body_bytes=16384)  # 21 MB for each subscriber
    peak = (status_kib(pid, "VmHWM") - before) // 1024
    time.sleep(3)  # past the write timeout
    left = (status_kib(pid, "VmRSS") - before) // 1024
    print(f"stalled subscribers: 40 x 21 MB of pushes left unread: rexd peak RSS +{peak} MiB, "
          f"+{left} MiB after the write timeout")
    assert peak < 300, f"rexd grew by {peak} MiB"
    assert left < 60, f"rexd still holds {left} MiB"
    for c in subs:
        c.settimeout(10)
        data = b""
        while True:
            try:
                chunk = c.recv(1 << 20)
            except (ssl.SSLError, ConnectionResetError):
                break  # TLS: the stream was cut inside a record
            if not chunk:
                break
            data += chunk
        pos, kinds = 0, []
        while pos + 12 <= len(data):
            length = struct.unpack(">I", data[pos:pos + 4])[0]
            assert data[pos + 4] in (PUSH, ERROR, REPLY), f"not a frame at {pos}"
            kinds.append(data[pos + 4])
            if data[pos + 4] == ERROR and pos + 4 + length <= len(data):
                assert error_name(data[pos + 12:pos + 4 + length]) == "overloaded"
            pos += 4 + length
        assert ERROR not in kinds[:-1], "frames after the error"
        assert len(data) < 8 << 20, f"{len(data)} bytes were still sent to a stalled subscriber"


def case_emfile(port, pid):
    """Run against a rexd allowed 64 descriptors: 100 clients exhaust them;
    rexd does not spin, refuses the excess with overloaded, and serves again
    once clients leave."""
    held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(100)]
    time.sleep(0.5)
    c0, t0 = cpu_seconds(pid), time.time()
    time.sleep(3)
    cpu = 100 * (cpu_seconds(pid) - c0) / (time.time() - t0)
    print(f"out of descriptors: rexd used {cpu:.0f}% CPU over 3 s with 100 clients connected")
    assert cpu < 20, f"rexd spins at {cpu:.0f}% CPU"
    extra = connect(port)
    extra.sendall(frame(HELLO, 0, 0, mp_map({"version": 1})))
    f = read_frame(extra)
    assert f and f[0] == ERROR and error_name(f[3]) == "overloaded", f
    for c in held:
        c.close()
    time.sleep(0.5)
    again = connect(port)
    hello(again)


def case_max_connections(port):
    """Run against a rexd with --max-connections 20."""
    held = []
    for _ in range(20):
        c = connect(port)
        hello(c)
        held.append(c)
    extra = connect(port)
    f = read_frame(extra)
    assert f and f[0] == ERROR and error_name(f[3]) == "overloaded" and \
        b"--max-connections" in f[3], f
    held.pop().close()
    time.sleep(0.3)
    hello(connect(port))


def case_tls_hello(port):
    """HELLO and a request over TLS (run with --tls-ca or --tls-pin)."""
    s = connect(port)
    assert isinstance(s, ssl.SSLSocket) and s.version() == "TLSv1.3", s
    hello(s)
    s.sendall(frame(REQUEST, LIST_TYPES, 7, mp_map({})))
    f = read_frame(s)
    assert f and f[2] == 7 and f[0] in (REPLY, ERROR), f  # notify has no LIST_TYPES: an ERROR
    s.close()


def case_plaintext_refused(port):
    """A plaintext HELLO on a TLS port: a plaintext ERROR naming the TLS flags, then close."""
    s = connect(port, tls=False)
    s.sendall(frame(HELLO, 0, 0, mp_map({"version": 1})))
    f = read_frame(s)
    assert f and f[0] == ERROR and error_name(f[3]) == "handshake_required", f
    assert b"needs TLS" in f[3] and b"--tls-ca" in f[3] and b"--tls-pin" in f[3], f
    assert closed(s), "still open after the refusal"


def case_tls_refused(port):
    """TLS to this port must fail (plaintext port, wrong name, expired, bad pin...):
    prints the ssl error for the caller to check."""
    try:
        s = connect(port, tls=True)
        hello(s)
    except (ssl.SSLError, ConnectionError, AssertionError) as e:
        print(f"refused: {e}")
        return
    raise AssertionError("TLS connection succeeded")


def parse_tls_options(argv):
    flags = {"--tls-ca": "ca", "--tls-pin": "pin", "--tls-name": "name", "--tls-cert": "cert",
             "--tls-key": "key"}
    while argv and argv[0] in flags:
        TLS[flags[argv[0]]] = argv[1]
        argv = argv[2:]
    return argv


if __name__ == "__main__":
    sys.argv[1:] = parse_tls_options(sys.argv[1:])
    if sys.argv[2] == "publish":
        publish_many(int(sys.argv[1]), sys.argv[3], int(sys.argv[4]),
                     start=int(sys.argv[5]) if len(sys.argv) > 5 else 0)
        sys.exit(0)
    port, case = int(sys.argv[1]), sys.argv[2]
    args = sys.argv[3:] if case.startswith("auth_") else [int(a) for a in sys.argv[3:]]
    try:
        globals()["case_" + case](port, *args)
    except Exception as e:  # noqa: BLE001 - report any failure as the test's
        print(f"{case}: {e!r}")
        sys.exit(1)

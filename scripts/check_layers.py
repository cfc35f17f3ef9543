#!/usr/bin/env python3
"""Fails when a source file includes what its layer may not see.

Each layer owns folders (or single files) under src/ and names the layers it
may include. A layer may also list its public headers; its other headers are
private to it. Core layers (sans-IO) may not include socket, file, thread,
clock-reading or database headers. The build runs this on every change (see
cmake/layers.cmake); run it by hand as `scripts/check_layers.py src`.
"""
import pathlib
import re
import sys

# rex_tls holds no socket or clock, but TLS draws OpenSSL's own randomness
# (handshake secrets, certificate serials), so it is not a sans-IO core.
CORE = ["common", "seal", "ardus_core", "rex_wire", "tcl", "trader_core", "notify_core", "rex_services",
        "rex_auth"]
REX_ENGINES = ["common", "rex_wire", "tcl", "trader_core", "notify_core"]

# layer: (owned paths, layers it may include, public headers or None for all)
LAYERS = {
    "common": (["common"], [], None),
    "seal": (["seal"], ["common"], None),
    "ardus_core": (["ardus"], ["common", "seal"], None),
    "rex_wire": (["rex"], ["common"], None),
    "tcl": (["tcl"], ["common", "rex_wire"],
            ["value.h", "name.h", "value_codec.h", "ast.h", "program.h", "checker.h", "parser.h",
             "lexer.h"]),
    "trader_core": (["trader"], ["common", "rex_wire", "tcl"], None),
    "notify_core": (["notify"], ["common", "rex_wire", "tcl"], None),
    "rex_services": (["services"], REX_ENGINES + ["rex_auth"], None),
    # TLS over memory BIOs (no sockets; the caller passes the time) and the
    # permission model with its auth-file parser: building blocks the client
    # and rexd will use (issue 18).
    "rex_tls": (["tls"], ["common"], ["tls_session.h"]),
    "rex_auth": (["auth"], ["common", "tcl"], None),
    "ardus_io": (["io/fs_store", "io/fs_source", "io/udp", "io/driver"],
                 ["common", "seal", "ardus_core", "key_files"], None),
    # Identity key files and system randomness: shared by ardus and rex
    # (`rex keygen`, --identity) without dragging ARDUS's engines into rex.
    "key_files": (["io/key_file", "io/system_random"], ["common", "seal"], None),
    # The client signs the AUTH exchange with a seal::Identity.
    "rex_client": (["io/rex_client", "io/rex_connect"], ["common", "rex_wire", "rex_tls", "seal", "key_files"], None),
    # rexd's event loop runs any set of services through services/service.h:
    # it may not see an engine or its wire (the rest of rexd_server may).
    # It verifies AUTH signatures (seal) and maps keys to identities (rex_auth).
    "rexd_loop": (["rexd/server", "rexd/clock"],
                  ["common", "rex_wire", "rex_services", "rex_tls", "rex_auth", "seal"], None),
    "rexd_server": (["rexd"], REX_ENGINES + ["rex_services", "rexd_loop", "rex_tls", "rex_auth"], None),
    "ardus_program": (["programs/ardus"], ["seal", "ardus_core", "ardus_io", "key_files"] +
                      REX_ENGINES + ["rex_client", "rex_tls"], None),
    "rex_program": (["programs/rex"], REX_ENGINES + ["rex_client", "rex_tls", "seal", "key_files"],
                    None),
    "rexd_program": (["programs/rexd"],
                     REX_ENGINES + ["rex_services", "rexd_server", "rexd_loop", "rex_tls", "rex_auth"],
                     None),
}

# What a sans-IO core must never reach for: sockets, files, threads, clocks
# that read the wall, randomness from the environment, databases.
IO_HEADERS = re.compile(
    r"^(sys/socket\.h|sys/epoll\.h|sys/stat\.h|netinet/.*|arpa/inet\.h|net/if\.h|ifaddrs\.h|"
    r"unistd\.h|fcntl\.h|dirent\.h|fstream|thread|mutex|condition_variable|future|"
    r"sqlite3\.h|ctime|time\.h|signal\.h|csignal)$")

# Seeded generators are fine; these read the machine's clock or entropy.
IO_CALLS = re.compile(r"std::random_device|_clock::now\(|\bgettimeofday\(|\bclock_gettime\(|"
                      r"\bRAND_(?:priv_)?bytes\(|\bgetrandom\(")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def layer_of(relative):
    """The layer owning a path under src/ (longest owned prefix), or None."""
    best, best_len = None, -1
    stem = relative.rsplit(".", 1)[0]
    for name, (owned, _, _) in LAYERS.items():
        for path in owned:
            if (stem == path or relative.startswith(path + "/")) and len(path) > best_len:
                best, best_len = name, len(path)
    return best


def check(src):
    problems = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc"):
            continue
        relative = path.relative_to(src).as_posix()
        layer = layer_of(relative)
        if layer is None:
            problems.append(f"{relative}: belongs to no layer; add its folder to scripts/check_layers.py")
            continue
        _, allowed, _ = LAYERS[layer]
        text = path.read_text(errors="replace")
        if layer in CORE:
            for call in sorted(set(IO_CALLS.findall(text))):
                problems.append(f"{relative}: sans-IO layer {layer} calls {call}")
        for kind, target in INCLUDE.findall(text):
            if kind == "<":
                if layer in CORE and IO_HEADERS.match(target):
                    problems.append(f"{relative}: sans-IO layer {layer} includes <{target}>")
                continue
            other = layer_of(target)
            if other is None:
                problems.append(f"{relative}: includes \"{target}\", which belongs to no layer")
            elif other != layer and other not in allowed:
                problems.append(f"{relative}: layer {layer} may not include \"{target}\" ({other})")
            elif other != layer and LAYERS[other][2] is not None and \
                    target.rsplit("/", 1)[-1] not in LAYERS[other][2]:
                problems.append(f"{relative}: \"{target}\" is private to {other}")
    return problems


def main():
    if len(sys.argv) != 2:
        print("usage: check_layers.py SRC_DIR", file=sys.stderr)
        return 2
    problems = check(pathlib.Path(sys.argv[1]))
    for p in problems:
        print(f"layer violation: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

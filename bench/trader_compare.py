#!/usr/bin/env python3
"""Trader benchmark: rexd against etcd on this machine, in the same run.

Figures (issue 4):
  * durable exports per second: 16 concurrent clients, each waiting for every
    acknowledgement (rexd acknowledges after its SQLite commit; etcd after its
    raft log fsync), 3 rounds each, alternating, median reported;
  * query latency over 100,000 offers with a selective constraint and a
    preference, measured at the client (round trip on loopback).

Writes the table between <!-- trader-compare:begin/end --> in
docs/benchmarks.md and the raw JSON lines to bench/results-DATE-trader.log.
Needs: build/ (scripts/build.sh), and etcd, Go and Debian's etcd client
library, which this script installs with apt if missing.

With --tls: query latency only, over the same 100,000 offers, first through
a plaintext rexd, then through a rexd with TLS 1.3 on the same data (the
client verifies its certificate against a CA made here), into
<!-- trader-tls:begin/end --> and bench/results-DATE-trader-tls.log.

With --tls-exports: the durable-export figure over TLS with identities
(issue 18): rexd with --tls-cert and --auth, every rex_bench client proving
an Ed25519 key that may export (BENCH_IDENTITY), against etcd serving its
clients over TLS, into <!-- trader-tls-exports:begin/end -->.
"""
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
CLIENTS, SECONDS, ROUNDS, OFFERS, QUERIES = 16, 10, 3, 100_000, 3000
REX_PORT, ETCD_PORT = 21124, 23790


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def ensure_tools():
    need = [p for p, probe in [("etcd-server", "etcd"), ("golang-go", "go")] if not shutil.which(probe)]
    if not os.path.isdir("/usr/share/gocode/src/go.etcd.io/etcd/clientv3"):
        need.append("golang-etcd-server-dev")
    if need:
        print("installing", *need, file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *need], check=True,
                       stdout=subprocess.DEVNULL)
    out = os.path.join(BUILD, "etcd_load")
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off", GOFLAGS="",
               GOCACHE=os.path.join(BUILD, "gocache"))
    subprocess.run(["go", "build", "-o", out, "."], check=True, env=env,
                   cwd=os.path.join(ROOT, "bench", "etcd_load"))
    return out


def wait_port(port):
    import socket
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


class Server:
    def __init__(self, argv, port):
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)


def rexd(data, *flags):
    return Server([os.path.join(BUILD, "rexd"), "--listen", "127.0.0.1", "--trader-port",
                   str(REX_PORT), "--notify-port", str(REX_PORT + 1), "--data", data, "--quiet",
                   *flags], REX_PORT)


QUERIES_OF = [
    ("equality + max", "serial == %d", "max ppm"),
    ("range + substring + max", "serial >= %d and serial < %e and 'cam' ~ location", "max ppm"),
    ("1% selective, 1,000 matches ordered", "ppm == 42", "min serial"),
]


def etcd(data, cert=None, key=None):
    scheme = "https" if cert else "http"
    url = f"{scheme}://127.0.0.1:{ETCD_PORT}"
    tls = ["--cert-file", cert, "--key-file", key] if cert else []
    return Server(["etcd", "--data-dir", data, "--listen-client-urls", url, "--advertise-client-urls",
                   url, "--listen-peer-urls", f"http://127.0.0.1:{ETCD_PORT + 1}", *tls], ETCD_PORT)


def run_json(argv, log, env=None):
    line = sh(*argv, env=env).strip().splitlines()[-1]
    log.write(" ".join(argv[1:3]) + " " + line + "\n")
    return json.loads(line)


def main():
    etcd_load = ensure_tools()
    bench = os.path.join(BUILD, "bench", "rex_bench")
    addr = f"127.0.0.1:{REX_PORT}"
    scratch = tempfile.mkdtemp(prefix="trader-bench-", dir="/var/tmp")  # same disk for both
    day = datetime.date.today().isoformat()
    log_path = os.path.join(ROOT, "bench", f"results-{day}-trader.log")
    results = {"rexd": [], "etcd": []}
    with open(log_path, "w") as log:
        for r in range(ROUNDS):
            for name in ("rexd", "etcd"):
                data = os.path.join(scratch, f"{name}-{r}")
                os.makedirs(data)
                if name == "rexd":
                    s = rexd(data)
                    res = run_json([bench, "exports", addr, str(CLIENTS), str(SECONDS)], log)
                else:
                    s = etcd(data)
                    res = run_json([etcd_load, "-endpoint", f"127.0.0.1:{ETCD_PORT}", "-clients",
                                    str(CLIENTS), "-seconds", str(SECONDS)], log)
                s.stop()
                results[name].append(res)
        data = os.path.join(scratch, "query")
        os.makedirs(data)
        s = rexd(data)
        run_json([bench, "load", addr, str(OFFERS)], log)
        queries = QUERIES_OF
        qres = [(label, c, p, run_json([bench, "query", addr, str(QUERIES), c, p], log))
                for label, c, p in queries]
        s.stop()
    shutil.rmtree(scratch)

    def med(name, key):
        return statistics.median(x[key] for x in results[name])

    rex_rate, etcd_rate = med("rexd", "per_second"), med("etcd", "per_second")
    lines = [
        f"Run {day} by `python3 bench/trader_compare.py` (raw lines: "
        f"`bench/results-{day}-trader.log`). 2 cores, loopback, data on the same disk.\n",
        f"| durable exports, {CLIENTS} clients, each waits for its ack | per second "
        f"(median of {ROUNDS} x {SECONDS} s) | p50 ms | p99 ms |",
        "|---|---|---|---|",
        f"| rexd (SQLite WAL, synchronous=FULL, group commit) | {rex_rate:,.0f} | "
        f"{med('rexd', 'p50_ms'):.2f} | {med('rexd', 'p99_ms'):.2f} |",
        f"| etcd {sh('etcd', '--version').split()[2]} (1 member, put with lease, gRPC) | "
        f"{etcd_rate:,.0f} | {med('etcd', 'p50_ms'):.2f} | {med('etcd', 'p99_ms'):.2f} |",
        f"| ratio rexd / etcd | {rex_rate / etcd_rate:.2f}x | | |",
        "",
        f"| query over {OFFERS:,} offers ({QUERIES} queries, client round trip) | constraint | "
        "preference | p50 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for label, c, p, res in qres:
        lines.append(f"| {label} | `{c}` | `{p}` | {res['p50_ms']:.3f} | {res['p99_ms']:.3f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from compare import write_section
    write_section(os.path.join(ROOT, "docs", "benchmarks.md"), "trader-compare", table)


def tls_setup(prefix, *targets):
    """Builds TARGETS and makes a scratch directory holding a CA and a server
    certificate for 127.0.0.1: (scratch, ca, cert, key)."""
    subprocess.run(["cmake", "--build", BUILD, "--target", *targets], check=True,
                   stdout=subprocess.DEVNULL)
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    from notify_compare import make_certs
    scratch = tempfile.mkdtemp(prefix=prefix, dir="/var/tmp")
    return (scratch, *make_certs(scratch))


def tls_main():
    from compare import write_section
    scratch, ca, cert, key = tls_setup("trader-tls-bench-", "rex_bench", "rexd")
    bench = os.path.join(BUILD, "bench", "rex_bench")
    addr = f"127.0.0.1:{REX_PORT}"
    data = os.path.join(scratch, "data")
    os.makedirs(data)
    day = datetime.date.today().isoformat()
    log_path = os.path.join(ROOT, "bench", f"results-{day}-trader-tls.log")
    res = {}
    with open(log_path, "w") as log:
        s = rexd(data)
        run_json([bench, "load", addr, str(OFFERS)], log)
        for round_ in range(ROUNDS):
            for tls in (False, True):
                if round_ or tls:
                    s = rexd(data, *(["--tls-cert", cert, "--tls-key", key] if tls else []))
                env = dict(os.environ, BENCH_TLS_CA=ca) if tls else None
                for label, c, p in QUERIES_OF:
                    r = run_json([bench, "query", addr, str(QUERIES), c, p], log, env=env)
                    res.setdefault((label, tls), []).append(r)
                s.stop()
    shutil.rmtree(scratch)

    def med(label, tls, key):
        return statistics.median(r[key] for r in res[(label, tls)])

    lines = [
        f"Run {day} by `python3 bench/trader_compare.py --tls` (raw lines: "
        f"`bench/results-{day}-trader-tls.log`). 2 cores, loopback, {OFFERS:,} offers, "
        f"{QUERIES} sequential queries per round, median of {ROUNDS} rounds of each percentile; "
        f"plaintext and TLS 1.3 rounds alternate on the same data.\n",
        "| query | constraint | preference | TLS p50 ms | TLS p99 ms | plaintext p50 ms | "
        "plaintext p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, c, p in QUERIES_OF:
        lines.append(f"| {label} | `{c}` | `{p}` | {med(label, True, 'p50_ms'):.3f} | "
                     f"{med(label, True, 'p99_ms'):.3f} | {med(label, False, 'p50_ms'):.3f} | "
                     f"{med(label, False, 'p99_ms'):.3f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    write_section(os.path.join(ROOT, "docs", "benchmarks.md"), "trader-tls", table)


def tls_exports_main():
    """Durable exports over TLS with identities: rexd with --tls-cert and
    --auth, every client proving an Ed25519 key, against etcd with TLS."""
    etcd_load = ensure_tools()
    from compare import write_section
    scratch, ca, cert, key = tls_setup("trader-tls-exports-", "rex_bench", "rexd", "rex")
    bench = os.path.join(BUILD, "bench", "rex_bench")
    addr = f"127.0.0.1:{REX_PORT}"
    identity = os.path.join(scratch, "provider")
    fpr = sh(os.path.join(BUILD, "rex"), "keygen", identity).split()[0]
    auth = os.path.join(scratch, "auth")
    with open(auth, "w") as f:
        f.write(f"identity provider\n  key {fpr}\n  allow trader.add_type bench_*\n"
                "  allow trader.export bench_*\n")
    env = dict(os.environ, BENCH_TLS_CA=ca, BENCH_IDENTITY=identity)
    day = datetime.date.today().isoformat()
    log_path = os.path.join(ROOT, "bench", f"results-{day}-trader-tls-exports.log")
    results = {"rexd": [], "etcd": []}
    with open(log_path, "w") as log:
        for r in range(ROUNDS):
            for name in ("rexd", "etcd"):
                data = os.path.join(scratch, f"{name}-{r}")
                os.makedirs(data)
                if name == "rexd":
                    s = rexd(data, "--tls-cert", cert, "--tls-key", key, "--auth", auth)
                    res = run_json([bench, "exports", addr, str(CLIENTS), str(SECONDS)], log,
                                   env=env)
                else:
                    s = etcd(data, cert, key)
                    res = run_json([etcd_load, "-endpoint", f"127.0.0.1:{ETCD_PORT}", "-clients",
                                    str(CLIENTS), "-seconds", str(SECONDS), "-cacert", ca], log)
                s.stop()
                results[name].append(res)
    shutil.rmtree(scratch)

    def med(name, key):
        return statistics.median(x[key] for x in results[name])

    rex_rate, etcd_rate = med("rexd", "per_second"), med("etcd", "per_second")
    lines = [
        f"Run {day} by `python3 bench/trader_compare.py --tls-exports` (raw lines: "
        f"`bench/results-{day}-trader-tls-exports.log`). 2 cores, loopback, data on the same "
        "disk; TLS 1.3 on both.\n",
        f"| durable exports over TLS, {CLIENTS} clients, each waits for its ack | per second "
        f"(median of {ROUNDS} x {SECONDS} s) | p50 ms | p99 ms |",
        "|---|---|---|---|",
        f"| rexd, `--tls-cert` and `--auth`, each client an Ed25519 identity with "
        f"trader.export | {rex_rate:,.0f} | {med('rexd', 'p50_ms'):.2f} | "
        f"{med('rexd', 'p99_ms'):.2f} |",
        f"| etcd {sh('etcd', '--version').split()[2]} with `--cert-file` (put with lease, gRPC "
        f"over TLS) | {etcd_rate:,.0f} | {med('etcd', 'p50_ms'):.2f} | {med('etcd', 'p99_ms'):.2f} |",
        f"| ratio rexd / etcd | {rex_rate / etcd_rate:.2f}x | | |",
    ]
    table = "\n".join(lines) + "\n"
    print(table)
    write_section(os.path.join(ROOT, "docs", "benchmarks.md"), "trader-tls-exports", table)


if __name__ == "__main__":
    if sys.argv[1:] == ["--tls"]:
        tls_main()
    elif sys.argv[1:] == ["--tls-exports"]:
        tls_exports_main()
    else:
        main()

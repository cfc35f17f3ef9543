#!/usr/bin/env python3
"""Notify benchmark: rexd against nats-server and mosquitto, same machine,
same run (issue 5).

  * fan-out throughput: 1 publisher, 128-byte messages, 1 / 5 / 50
    subscribers, about 1,000,000 deliveries per case; median of 3 rounds.
    Best-effort everywhere: rexd best-effort channel, NATS core, MQTT QoS 0;
  * latency at equal load: every system paced to 20,000 deliveries/s;
    publish-to-receive p50/p99 (the send time travels in the payload),
    median of 5 rounds;
  * durable publishing: rexd persistent channel, each batch acknowledged
    after its SQLite commit; beside it JetStream with a file-backed stream.

Writes the table between <!-- notify-compare:begin/end --> in
docs/benchmarks.md and the raw JSON lines to bench/results-DATE-notify.log.
Installs nats-server, mosquitto and their client libraries if missing.

With --tls: the fan-out throughput only, rexd and nats-server each with and
without TLS 1.3 in the same run (certificates from a CA made here with the
openssl command; both clients verify it), into <!-- notify-tls:begin/end -->
and bench/results-DATE-notify-tls.log.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trader_compare import ROOT, BUILD, wait_port  # noqa: E402
from compare import write_section  # noqa: E402

REX_PORT, NATS_PORT, MQTT_PORT, JETSTREAM_PORT = 21216, 24222, 24883, 24223
ROUNDS, DELIVERIES, PACED_DELIVERIES_PER_S, PACED_SECONDS = 3, 1_000_000, 20_000, 3
# A p99 over 3 s at 20,000/s rests on 600 samples and moves by milliseconds
# with the scheduler on a 2-core machine: more rounds for latency.
LATENCY_ROUNDS = 5
SUBS = (1, 5, 50)
# --tls compares four servers on a shared 2-core machine: more rounds.
TLS_ROUNDS = 5
SYSTEMS = {"rex": REX_PORT, "nats": NATS_PORT, "mosquitto": MQTT_PORT}


def ensure_tools():
    need = [p for p, probe in [("nats-server", "nats-server"), ("mosquitto", "mosquitto")]
            if not shutil.which(probe) and not os.path.exists(f"/usr/sbin/{probe}")]
    need += [p for p, h in [("libnats-dev", "/usr/include/nats/nats.h"),
                            ("libmosquitto-dev", "/usr/include/mosquitto.h")] if not os.path.exists(h)]
    if need:
        print("installing", *need, file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *need], check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "-S", ROOT, "-B", BUILD], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", BUILD, "--target", "notify_bench", "rexd"], check=True,
                   stdout=subprocess.DEVNULL)


def start(argv, port):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def bench(log, system, subs, messages, rate, port=None, tls_ca=None):
    if port is None:
        port = JETSTREAM_PORT if system == "nats-jetstream" else SYSTEMS.get(system, REX_PORT)
    argv = [os.path.join(BUILD, "bench", "notify_bench"), system, f"127.0.0.1:{port}",
            str(subs), str(messages), str(rate)]
    env = dict(os.environ, BENCH_TLS_CA=tls_ca) if tls_ca else None
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300,
                         env=env).stdout
    line = out.strip().splitlines()[-1]
    log.write(f"rate={rate} tls={bool(tls_ca)} {line}\n")
    log.flush()
    return json.loads(line)


def main():
    ensure_tools()
    data = tempfile.mkdtemp(prefix="notify-bench-", dir="/var/tmp")
    servers = [
        start([os.path.join(BUILD, "rexd"), "--listen", "127.0.0.1", "--trader-port", "0",
               "--notify-port", str(REX_PORT), "--data", data, "--quiet"], REX_PORT),
        start(["nats-server", "-a", "127.0.0.1", "-p", str(NATS_PORT)], NATS_PORT),
        start(["mosquitto", "-p", str(MQTT_PORT)], MQTT_PORT),
        # JetStream only for the durable figure, so that core NATS runs as shipped.
        start(["nats-server", "-a", "127.0.0.1", "-p", str(JETSTREAM_PORT), "-js", "-sd",
               os.path.join(data, "jetstream")], JETSTREAM_PORT),
    ]
    nats_version = subprocess.run(["nats-server", "--version"], capture_output=True,
                                  text=True).stdout.split()[-1]
    day = datetime.date.today().isoformat()
    log_path = os.path.join(ROOT, "bench", f"results-{day}-notify.log")
    thr, lat = {}, {}
    try:
        with open(log_path, "w") as log:
            for subs in SUBS:
                messages = max(DELIVERIES // subs, 20_000)
                for _ in range(ROUNDS):
                    for system in SYSTEMS:
                        r = bench(log, system, subs, messages, 0)
                        thr.setdefault((system, subs), []).append(r)
                rate = PACED_DELIVERIES_PER_S / subs
                for _ in range(LATENCY_ROUNDS):
                    for system in SYSTEMS:
                        r = bench(log, system, subs, int(rate * PACED_SECONDS), rate)
                        lat.setdefault((system, subs), []).append(r)
            durable, jetstream = [], []
            for _ in range(ROUNDS):
                durable.append(bench(log, "rex-durable", 0, 1_000_000, 0))
                jetstream.append(bench(log, "nats-jetstream", 0, 1_000_000, 0))
    finally:
        for s in servers:
            s.send_signal(signal.SIGTERM)
            s.wait(timeout=20)
        shutil.rmtree(data)

    def med(system, subs, key):
        return statistics.median(r[key] for r in thr[(system, subs)])

    lines = [
        f"Run {day} by `python3 bench/notify_compare.py` (raw lines: "
        f"`bench/results-{day}-notify.log`). 2 cores, loopback, 128-byte messages, "
        f"nats-server {nats_version}, mosquitto 2.0.11; clients: `build/bench/notify_bench`.\n",
        "| subscribers | rexd deliveries/s | nats-server | mosquitto | rexd / nats | rexd / mosquitto "
        "| delivered (rexd, nats, mosquitto; of each round's total) |",
        "|---|---|---|---|---|---|---|",
    ]
    for subs in SUBS:
        r, n, m = (med(s, subs, "per_second") for s in SYSTEMS)
        want = max(DELIVERIES // subs, 20_000) * subs
        got = ", ".join(f"{min(x['delivered'] for x in thr[(s, subs)]) / want:.0%}" for s in SYSTEMS)
        lines.append(f"| {subs} | {r:,.0f} | {n:,.0f} | {m:,.0f} | {r / n:.2f}x | {r / m:.1f}x | "
                     f"{got} |")
    lines += ["", f"Latency, publish to receive, every system paced to "
              f"{PACED_DELIVERIES_PER_S:,} deliveries/s for {PACED_SECONDS} s by a publisher "
              f"spinning on the clock; median of {LATENCY_ROUNDS} rounds of each percentile, "
              f"and the spread of p99 over the rounds (NATS publisher with SendAsap, so that "
              f"its client's flusher does not add delay):", "",
              "| subscribers | rexd p50 / p99 µs | nats-server p50 / p99 µs | "
              "mosquitto p50 / p99 µs | p99 spread rexd; nats |", "|---|---|---|---|---|"]
    for subs in SUBS:
        def pct(s, key):
            return statistics.median(r[key] for r in lat[(s, subs)])

        def spread(s):
            p99 = [r["p99_us"] for r in lat[(s, subs)]]
            return f"{min(p99):.0f}-{max(p99):.0f}"
        cells = " | ".join(f"{pct(s, 'p50_us'):.0f} / {pct(s, 'p99_us'):.0f}" for s in SYSTEMS)
        lines.append(f"| {subs} | {cells} | {spread('rex')}; {spread('nats')} |")
    d = statistics.median(x["per_second"] for x in durable)
    j = statistics.median(x["per_second"] for x in jetstream)
    lines += ["", "Durable publishing, 1,000,000 events of 128 bytes, 2,048 awaiting acknowledgement, "
              f"median of {ROUNDS} rounds:", "",
              "| system | acknowledged events/s | acknowledged when |", "|---|---|---|",
              f"| rexd, persistent channel (batches of 64, 32 in flight) | {d:,.0f} | "
              "after the SQLite commit (WAL, synchronous=FULL: fsync'd) |",
              f"| nats-server JetStream, file stream (async publish) | {j:,.0f} | "
              "after the write to the stream's file (no fsync per message) |"]
    table = "\n".join(lines) + "\n"
    print(table)
    write_section(os.path.join(ROOT, "docs", "benchmarks.md"), "notify-compare", table)


def make_certs(where):
    """A CA and a server certificate for 127.0.0.1 it signed: (ca, cert, key)."""
    ca, ca_key = os.path.join(where, "ca.pem"), os.path.join(where, "ca.key")
    cert, key, csr = (os.path.join(where, n) for n in ("server.pem", "server.key", "server.csr"))
    ext = os.path.join(where, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    quiet = dict(check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "req", "-x509", *ec, "-subj", "/CN=bench CA", "-keyout", ca_key,
                    "-out", ca, "-days", "2"], **quiet)
    subprocess.run(["openssl", "req", *ec, "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr],
                   **quiet)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                    "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert], **quiet)
    return ca, cert, key


def tls_main():
    ensure_tools()
    data = tempfile.mkdtemp(prefix="notify-tls-bench-", dir="/var/tmp")
    ca, cert, key = make_certs(data)
    rexd = os.path.join(BUILD, "rexd")
    ports = {"rex": REX_PORT, "rex-tls": REX_PORT + 10, "nats": NATS_PORT,
             "nats-tls": NATS_PORT + 10}
    servers = [
        start([rexd, "--listen", "127.0.0.1", "--trader-port", "0", "--notify-port",
               str(ports["rex"]), "--data", os.path.join(data, "plain"), "--quiet"], ports["rex"]),
        start([rexd, "--listen", "127.0.0.1", "--trader-port", "0", "--notify-port",
               str(ports["rex-tls"]), "--data", os.path.join(data, "tls"), "--quiet",
               "--tls-cert", cert, "--tls-key", key], ports["rex-tls"]),
        start(["nats-server", "-a", "127.0.0.1", "-p", str(ports["nats"])], ports["nats"]),
        start(["nats-server", "-a", "127.0.0.1", "-p", str(ports["nats-tls"]), "--tls",
               "--tlscert", cert, "--tlskey", key], ports["nats-tls"]),
    ]
    nats_version = subprocess.run(["nats-server", "--version"], capture_output=True,
                                  text=True).stdout.split()[-1]
    day = datetime.date.today().isoformat()
    log_path = os.path.join(ROOT, "bench", f"results-{day}-notify-tls.log")
    thr = {}
    try:
        with open(log_path, "w") as log:
            for subs in SUBS:
                messages = max(DELIVERIES // subs, 20_000)
                for _ in range(TLS_ROUNDS):
                    for case, port in ports.items():
                        system = case.split("-")[0]
                        r = bench(log, system, subs, messages, 0, port=port,
                                  tls_ca=ca if case.endswith("tls") else None)
                        thr.setdefault((case, subs), []).append(r)
    finally:
        for s in servers:
            s.send_signal(signal.SIGTERM)
            s.wait(timeout=20)
        shutil.rmtree(data)

    def med(case, subs):
        return statistics.median(r["per_second"] for r in thr[(case, subs)])

    lines = [
        f"Run {day} by `python3 bench/notify_compare.py --tls` (raw lines: "
        f"`bench/results-{day}-notify-tls.log`). 2 cores, loopback, 128-byte messages, "
        f"deliveries/s, median of {TLS_ROUNDS} rounds (the four cases alternate); nats-server {nats_version} with `--tls` "
        f"(its nats.c client on OpenSSL 3), rexd with `--tls-cert` (TLS 1.3), both clients "
        f"verifying a P-256 certificate against its CA.\n",
        "| subscribers | rexd TLS | nats-server TLS | rexd / nats, TLS | rexd plaintext | "
        "nats plaintext | rexd rate lost to TLS | nats rate lost to TLS | delivered (rexd TLS, nats TLS) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for subs in SUBS:
        rt, nt, rp, np_ = (med(c, subs) for c in ("rex-tls", "nats-tls", "rex", "nats"))
        want = max(DELIVERIES // subs, 20_000) * subs
        got = ", ".join(f"{min(x['delivered'] for x in thr[(c, subs)]) / want:.0%}"
                        for c in ("rex-tls", "nats-tls"))
        lines.append(f"| {subs} | {rt:,.0f} | {nt:,.0f} | {rt / nt:.2f}x | {rp:,.0f} | "
                     f"{np_:,.0f} | {1 - rt / rp:.0%} | {1 - nt / np_:.0%} | {got} |")
    table = "\n".join(lines) + "\n"
    print(table)
    write_section(os.path.join(ROOT, "docs", "benchmarks.md"), "notify-tls", table)


if __name__ == "__main__":
    if sys.argv[1:] == ["--tls"]:
        tls_main()
    else:
        main()

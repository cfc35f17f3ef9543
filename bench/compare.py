#!/usr/bin/env python3
"""Side-by-side benchmark of ardus, UFTP and udpcast on a namespace testbed.

Builds a sender and N receivers on a bridge (bench/testbed.sh), with
independent per-receiver loss (nftables) and an optional tbf cap on the
sender's link, then runs every tool on the same generated file with the same
settings, alternating the tools' order run by run. For each run it records
wall time, the sender link's TX bytes over the payload (wire ratio), how many
receivers hold a byte-identical copy, and CPU seconds of the sender and of
all receivers (from /usr/bin/time). Medians go into a Markdown table.

Tools: ardus in its three protection modes (`ardus` = --encrypt aes256-gcm,
the default; `ardus-auth`; `ardus-none`, version 1 plaintext), UFTP without
(`uftp`, -Y none) and with encryption (`uftp-enc`: AES-256-GCM, SHA-256, ECDH
key exchange with ECDSA keys on both sides), and udpcast. uftp and udpcast are
installed with apt-get when missing.

Needs root. Example (the full matrix of issue 3):
    sudo python3 bench/compare.py --runs 3 --out docs/benchmarks.md
Issue 17's two cases, encrypted against plaintext:
    sudo python3 bench/compare.py --runs 3 --receivers 8 --loss 5 --uncapped 4 \\
        --tools ardus,ardus-auth,ardus-none,uftp,uftp-enc --out docs/benchmarks.md \\
        --section secure-compare
"""

import argparse
import json
import re
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTBED = os.path.join(HERE, "testbed.sh")
TOOLS = ("ardus", "ardus-auth", "ardus-none", "uftp", "uftp-enc", "udpcast")
# ardus's --encrypt mode per tool name.
ARDUS_MODES = {"ardus": "aes256-gcm", "ardus-auth": "auth", "ardus-none": "none"}
# UFTP's encrypted setting: AES-256-GCM, SHA-256 key derivation, ECDH with
# ECDSA signatures; each side makes a fresh P-256 key per run (-K), as ardus
# makes a fresh identity key when given no --key.
UFTP_ENCRYPTED = ["-Y", "aes256-gcm", "-h", "sha256", "-e", "ecdh_ecdsa", "-K", "prime256v1"]


def ensure_tools(tools):
    """Installs the anchors' Debian packages the chosen tools need."""
    need = sorted({pkg for tool, pkg, probe in [("uftp", "uftp", "uftp"), ("uftp-enc", "uftp", "uftp"),
                                                ("udpcast", "udpcast", "udp-sender")]
                   if tool in tools and not shutil.which(probe)})
    if need:
        print("installing", *need, file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *need], check=True,
                       stdout=subprocess.DEVNULL)


def sh(script, check=True):
    """Runs bash with the testbed functions loaded."""
    return subprocess.run(["bash", "-c", f"source {shlex.quote(TESTBED)}; {script}"],
                          check=check, capture_output=True, text=True)


@dataclass
class Case:
    receivers: int
    loss: int          # percent, per receiver
    cap: str           # tc rate or "none"
    rate_mbps: int     # the tools' sending rate; 0 = as fast as possible

    @property
    def name(self):
        cap = "uncapped" if self.cap == "none" else f"cap {self.cap}"
        return f"N={self.receivers}, loss {self.loss}%, {cap}"


@dataclass
class Run:
    tool: str
    wall: float
    wire_ratio: float
    verified: int
    sender_cpu: float
    receiver_cpu: float
    ok: bool
    note: str = ""


@dataclass
class Row:
    case: Case
    runs: dict = field(default_factory=lambda: {t: [] for t in TOOLS})


def timed(cmd, out):
    """Wraps cmd so GNU time writes 'wall user sys' to `out`."""
    return ["/usr/bin/time", "-f", "%e %U %S", "-o", out] + cmd


def read_time(path):
    with open(path) as f:
        last = f.read().strip().splitlines()[-1].split()
    return float(last[0]), float(last[1]) + float(last[2])


class Bench:
    def __init__(self, args):
        self.args = args
        self.ardus = os.path.abspath(args.ardus)
        self.work = tempfile.mkdtemp(prefix="ardus-bench-")
        self.payload = os.path.join(self.work, "payload.bin")
        with open(self.payload, "wb") as f:
            f.write(os.urandom(args.size_mb << 20))
        self.size = args.size_mb << 20
        self.tag = f"bn{os.getpid()}"
        self.reports = []  # ardus --json reports, in run order (adaptive runs)

    def receiver_cmd(self, tool, i, dest):
        if tool in ARDUS_MODES:
            plain = ["--accept-plaintext"] if tool == "ardus-none" else []
            return [self.ardus, "receive", "--interface", "eth0", "--dir", dest, "--once",
                    "--timeout", "120", "--no-progress"] + plain
        if tool in ("uftp", "uftp-enc"):
            key = ["-K", "ec:prime256v1"] if tool == "uftp-enc" else []
            return ["uftpd", "-d", "-q", "-I", "eth0", "-D", dest, "-U", f"{i:08x}",
                    "-B", "104857600", "-x", "0"] + key
        return ["udp-receiver", "--file", os.path.join(dest, "payload.bin"), "--interface", "eth0",
                "--mcast-rdv-address", "239.255.77.1", "--nokbd"]

    def sender_cmd(self, tool, case):
        n, rate = case.receivers, case.rate_mbps
        if tool in ARDUS_MODES:
            rate_flag = ["--json"] if rate < 0 else ["--rate", f"{rate}M" if rate else "400G"]
            return [self.ardus, "send", "--interface", "eth0", "--receivers", str(n),
                    "--wait", "30", "--no-progress", "--encrypt", ARDUS_MODES[tool]] + rate_flag + [
                        self.payload]
        if tool in ("uftp", "uftp-enc"):
            clients = ",".join(f"0x{i:08x}" for i in range(1, n + 1))
            crypto = UFTP_ENCRYPTED if tool == "uftp-enc" else ["-Y", "none"]
            return ["uftp"] + crypto + ["-I", "eth0", "-H", clients, "-x", "0",
                    "-B", "104857600", "-R", str(rate * 1000) if rate else "-1", self.payload]
        cmd = ["udp-sender", "--file", self.payload, "--interface", "eth0",
               "--min-receivers", str(n), "--mcast-rdv-address", "239.255.77.1", "--nokbd"]
        if rate:
            cmd += ["--max-bitrate", f"{rate}m"]
        return cmd

    def run_once(self, tool, case):
        n = case.receivers
        dests, procs = [], []
        for i in range(1, n + 1):
            dest = os.path.join(self.work, f"{tool}-r{i}")
            subprocess.run(["rm", "-rf", dest])
            os.makedirs(dest)
            dests.append(dest)
            log = open(os.path.join(self.work, f"{tool}-r{i}.log"), "w")
            cmd = ["ip", "netns", "exec", f"{self.tag}-r{i}"] + timed(
                self.receiver_cmd(tool, i, dest), os.path.join(self.work, f"r{i}.time"))
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        time.sleep(0.7)
        tx0 = int(sh(f"testbed_tx_bytes {self.tag}").stdout)
        slog = open(os.path.join(self.work, f"{tool}-sender.log"), "w")
        start = time.monotonic()
        sender = subprocess.Popen(
            ["ip", "netns", "exec", f"{self.tag}-s"] +
            timed(self.sender_cmd(tool, case), os.path.join(self.work, "s.time")),
            stdout=slog, stderr=subprocess.STDOUT)
        try:
            sender.wait(timeout=self.args.timeout)
            note = "" if sender.returncode == 0 else f"sender exit {sender.returncode}"
        except subprocess.TimeoutExpired:  # a hung tool is a failed run, not a crash
            subprocess.run(["pkill", "-KILL", "-P", str(sender.pid)])
            sender.wait()
            note = f"timed out after {self.args.timeout}s"
        wall = time.monotonic() - start
        tx1 = int(sh(f"testbed_tx_bytes {self.tag}").stdout)
        if tool in ARDUS_MODES and case.rate_mbps < 0:
            slog.flush()
            try:
                lines = open(slog.name).read().splitlines()
                self.reports.append(json.loads(next(l for l in lines if l.startswith("{"))))
            except (StopIteration, ValueError):
                self.reports.append({})
        receiver_cpu = 0.0
        for p in procs:
            if tool.startswith("uftp"):  # uftpd serves forever: stop it (not GNU time) once the sender is done
                time.sleep(0.2)
                subprocess.run(["pkill", "-TERM", "-P", str(p.pid)])
            try:
                p.wait(timeout=5 if note else 30)
            except subprocess.TimeoutExpired:
                subprocess.run(["pkill", "-KILL", "-P", str(p.pid)])
                p.wait()
        for i in range(1, n + 1):
            try:
                receiver_cpu += read_time(os.path.join(self.work, f"r{i}.time"))[1]
            except (OSError, IndexError, ValueError):
                pass
        verified = 0
        for dest in dests:
            got = os.path.join(dest, "payload.bin")
            if os.path.exists(got) and subprocess.run(["cmp", "-s", self.payload, got]).returncode == 0:
                verified += 1
        # Deleted now, their dirty pages are dropped; kept, the kernel would
        # write them back during some later tool's run.
        subprocess.run(["rm", "-rf"] + dests)
        try:
            _, sender_cpu = read_time(os.path.join(self.work, "s.time"))
        except (OSError, IndexError, ValueError):
            sender_cpu = float("nan")
        return Run(tool, wall, (tx1 - tx0) / self.size, verified, sender_cpu, receiver_cpu,
                   verified == n and sender.returncode == 0, note)

    def keep_logs(self, tool, case, run):
        if self.args.logs:
            dst = os.path.join(self.args.logs, f"{case.receivers}-{case.loss}-{tool}-{time.time():.0f}")
            subprocess.run(["mkdir", "-p", dst])
            subprocess.run(f"cp {self.work}/{tool}-*.log {dst}/", shell=True)

    def run_case(self, case, tools=TOOLS):
        row = Row(case)
        sh(f"testbed_down {self.tag}", check=False)
        up = sh(f"testbed_up {self.tag} {case.receivers} {case.loss} {case.cap}", check=False)
        if up.returncode != 0:
            sys.exit(f"cannot build the testbed (root needed): {up.stderr}")
        try:
            for r in range(self.args.runs):
                chosen = [t for t in TOOLS if t in self.args.tools and t in tools]
                k = r % len(chosen)
                for tool in chosen[k:] + chosen[:k]:  # alternate who goes first
                    run = self.run_once(tool, case)
                    self.keep_logs(tool, case, run)
                    row.runs[tool].append(run)
                    print(f"{case.name:32} {tool:8} {run.wall:7.2f}s wire {run.wire_ratio:.3f} "
                          f"verified {run.verified}/{case.receivers} cpu s {run.sender_cpu:.2f} "
                          f"r {run.receiver_cpu:.2f} {run.note}", flush=True)
        finally:
            sh(f"testbed_down {self.tag}", check=False)
        return row


def median(runs, attr):
    return statistics.median(getattr(r, attr) for r in runs) if runs else float("nan")


def render(rows, args, command):
    gib = (args.size_mb << 20) / (1 << 30)
    title = ("Multicast transfer: ardus vs UFTP vs udpcast" if args.section == "multicast-compare"
             else "Protected transfer: ardus's three modes vs UFTP with and without encryption")
    lines = [
        f"## {title}",
        "",
        f"Produced by `{command}` on {platform.node()} ({os.cpu_count()} cores, "
        f"{platform.platform()}), {time.strftime('%Y-%m-%d')}.",
        f"Testbed: `bench/testbed.sh`, one sender and N receivers in network namespaces on a "
        f"bridge, with GRO on every host link as on a NIC; each receiver loses the stated share "
        f"of the UDP frames sent to it at random (nftables on its switch port); "
        f"the sender's link is capped with tc tbf where stated. File: {args.size_mb} MiB of "
        f"random bytes. Medians of {args.runs} runs per tool, tools alternated. Wire = bytes on "
        f"the sender's link / payload. CPU = user+sys seconds per GiB delivered to each "
        f"receiver (receivers summed, divided by N).",
        "",
        "Settings: ardus `--rate R --encrypt MODE` (`ardus` is the default aes256-gcm, "
        "`ardus-auth` auth, `ardus-none` none with `--accept-plaintext` at the receivers); "
        "uftp `-Y none -R R -H <ids> -B 100M` (closed group); uftp-enc the same with `"
        + " ".join(UFTP_ENCRYPTED) + "` and uftpd `-K ec:prime256v1`; "
        "udpcast `--max-bitrate R --mcast-rdv-address` on both sides. Uncapped: ardus "
        "`--rate 400G`, uftp `-R -1`, no udpcast bitrate. \"vs UFTP\" compares protected "
        "ardus modes with uftp-enc where it ran, everything else with uftp -Y none.",
        "",
        "| case | tool | wall s | wire | verified | sender CPU s | receiver CPU s/GiB | vs UFTP time | vs UFTP wire |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        for tool in TOOLS:
            runs = row.runs.get(tool)
            if not runs:
                continue
            base = row.runs.get("uftp")
            if tool in ("ardus", "ardus-auth") and row.runs.get("uftp-enc"):
                base = row.runs["uftp-enc"]
            # Time counts every run (a hang is its full timeout); wire and CPU only
            # runs that finished, since a killed run's counters are partial.
            done = [r for r in runs if not r.note.startswith("timed out")]
            wall = median(runs, "wall")
            wire = median(done, "wire_ratio")
            rcpu = median(done, "receiver_cpu") / row.case.receivers / gib
            ok = sum(r.verified for r in runs)
            hung = sum(1 for r in runs if r.note.startswith("timed out"))
            total = row.case.receivers * len(runs)
            vs_t = f"{wall / median(base, 'wall'):.2f}x" if base else "-"
            vs_w = f"{wire / median(base, 'wire_ratio'):.2f}x" if base and done else "-"
            verified = f"{ok}/{total}" + (f" ({hung} hung)" if hung else "")
            lines.append(f"| {row.case.name} | {tool} | {wall:.2f} | {wire:.3f} | {verified} | "
                         f"{median(done, 'sender_cpu'):.2f} | {rcpu:.2f} | {vs_t} | {vs_w} |")
    lines += ["", "A hung run (the sender still running after the timeout) is killed and counted "
              "with its full wall time and the receivers it had verified; wire and CPU are medians "
              "of the runs that finished (nan: none did)."]
    lines += security_ratios(rows, gib)
    return "\n".join(lines) + "\n"


def per_gib(runs, attr, receivers, gib):
    done = [r for r in runs if not r.note.startswith("timed out")]
    return median(done, attr) / (receivers if attr == "receiver_cpu" else 1) / gib


def security_ratios(rows, gib):
    """Issue 17's targets, from the medians of the same run."""
    out = []
    for row in rows:
        r, n = row.runs, row.case.receivers
        if not (r.get("ardus") and r.get("ardus-none")):
            continue
        if not out:
            out = ["", "Protection (issue 17), from the medians above: encrypted ardus against "
                   "plaintext ardus and against uftp-enc. CPU per GiB of payload: the sender's "
                   "CPU s / GiB sent, the receivers' summed CPU s / N / GiB.", "",
                   "| case | ratio | figure | target | met |", "|---|---|---|---|---|"]
        name = row.case.name

        def add(what, value, target, ok, detail):
            out.append(f"| {name} | {what} | {value:.2f}x ({detail}) | {target} | "
                       f"{'yes' if ok else 'no'} |")
        for side in ("sender_cpu", "receiver_cpu"):
            enc, plain = per_gib(r["ardus"], side, n, gib), per_gib(r["ardus-none"], side, n, gib)
            label = "sender" if side == "sender_cpu" else "receivers'"
            add(f"{label} CPU s/GiB, aes256-gcm / none", enc / plain, "<= 1.15x", enc / plain <= 1.15,
                f"{enc:.2f} vs {plain:.2f}")
            if r.get("ardus-auth"):
                auth = per_gib(r["ardus-auth"], side, n, gib)
                out.append(f"| {name} | {label} CPU s/GiB, auth / none | {auth / plain:.2f}x "
                           f"({auth:.2f} vs {plain:.2f}) | - | - |")
        if r.get("uftp-enc"):
            wall, uwall = median(r["ardus"], "wall"), median(r["uftp-enc"], "wall")
            if row.case.cap == "none":
                add("throughput, ardus aes256-gcm / uftp-enc", uwall / wall, ">= 2x",
                    uwall / wall >= 2, f"{wall:.2f} s vs {uwall:.2f} s")
            else:
                add("wall time, ardus aes256-gcm / uftp-enc", wall / uwall, "<= 0.5x",
                    wall / uwall <= 0.5, f"{wall:.2f} s vs {uwall:.2f} s")
            enc = per_gib(r["ardus"], "receiver_cpu", n, gib)
            uenc = per_gib(r["uftp-enc"], "receiver_cpu", n, gib)
            add("receivers' CPU s/GiB, ardus aes256-gcm / uftpd encrypted", enc / uenc, "<= 0.5x",
                enc / uenc <= 0.5, f"{enc:.2f} vs {uenc:.2f}")
    return out


def run_adaptive(bench, args):
    """ardus with no --rate (adaptive) behind a tbf cap: goodput against the cap."""
    cap_mbps = int(args.adaptive_cap.rstrip("mbit"))
    case = Case(4, 0, args.adaptive_cap, -1)
    row = bench.run_case(case, tools=("ardus",))
    runs = row.runs["ardus"]
    size_bits = (args.size_mb << 20) * 8
    lines = ["## Rate adaptation", "",
             f"`ardus send` with no `--rate` (adaptive), 4 receivers, no added loss, the sender's "
             f"link capped by tc tbf at {cap_mbps} Mbit/s (burst 256 kB, 50 ms queue), "
             f"{args.size_mb} MiB, {args.runs} runs. Goodput = payload bits / wall time of the "
             f"sender process (start-up, hashing and joining included).", "",
             "| run | wall s | goodput Mbit/s | share of cap | session s | session goodput share "
             "| wire | rate cuts | verified |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, (r, report) in enumerate(zip(runs, bench.reports), 1):
        goodput = size_bits / r.wall / 1e6
        session = report.get("seconds", float("nan"))
        lines.append(f"| {i} | {r.wall:.2f} | {goodput:.1f} | {goodput / cap_mbps:.1%} | "
                     f"{session:.2f} | {size_bits / session / 1e6 / cap_mbps:.1%} | "
                     f"{r.wire_ratio:.3f} | {report.get('rate_decreases', '?')} | {r.verified}/4 |")
    med = statistics.median(size_bits / r.wall / 1e6 for r in runs)
    lines += ["", f"Median goodput {med:.1f} Mbit/s = {med / cap_mbps:.1%} of the cap over the "
              f"whole process (issue 3 asks for at least 85%). Session = the sender's own "
              f"transfer time (`seconds` in its JSON: from the start of the announce to the "
              f"last DONE, without the initial scan and hash of the file)."]
    return "\n".join(lines) + "\n"


def write_section(path, marker, text):
    """Replaces the section between marker comments in `path`, keeping the rest."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    block = f"{begin}\n{text}{end}\n"
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    with open(path, "w") as f:
        f.write(new)


LOG_LINE = re.compile(
    r"^N=(\d+), loss (\d+)%, (cap (\S+)|uncapped)\s+([\w-]+)\s+([\d.]+)s wire ([\d.]+) verified (\d+)/\d+ "
    r"cpu s ([\d.na]+) r ([\d.na]+) ?(.*)$")


def rows_from_log(path):
    """Rebuilds the results from the per-run lines a previous run printed."""
    rows = {}
    for line in open(path):
        m = LOG_LINE.match(line.rstrip("\n"))
        if not m:
            continue
        n, loss, cap = int(m[1]), int(m[2]), m[4] or "none"
        case = Case(n, loss, cap, 0)
        row = rows.setdefault(case.name, Row(case))
        note = m[11].strip()
        row.runs[m[5]].append(Run(m[5], float(m[6]), float(m[7]), int(m[8]), float(m[9]),
                                  float(m[10]), not note and int(m[8]) == n, note))
    return list(rows.values())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--size-mb", type=int, default=256)
    p.add_argument("--receivers", default="1,4,8")
    p.add_argument("--loss", default="0,1,5")
    p.add_argument("--cap", default="1gbit", help="tbf rate on the sender link")
    p.add_argument("--rate", type=int, default=950, help="tools' rate, Mbit/s, under the cap")
    p.add_argument("--uncapped", default="4", help="receiver counts for the uncapped 0%% runs")
    p.add_argument("--tools", default="ardus,uftp,udpcast", help="any of " + ",".join(TOOLS))
    p.add_argument("--ardus", default=os.path.join(ROOT, "build", "ardus"), help="ardus binary")
    p.add_argument("--timeout", type=int, default=120, help="seconds before a run counts as hung")
    p.add_argument("--out", help="Markdown file to write the table into")
    p.add_argument("--section", default="multicast-compare",
                   help="marker of the section --out replaces (issue 17's runs: secure-compare)")
    p.add_argument("--logs", help="keep every run's tool logs under this directory")
    p.add_argument("--from-log", help="render the table from a log this script printed, "
                   "without running anything")
    p.add_argument("--adaptive-cap", help="only measure ardus's adaptive rate behind this tbf "
                   "cap (e.g. 200mbit) and write that table")
    args = p.parse_args()
    args.tools = args.tools.split(",")
    if unknown := set(args.tools) - set(TOOLS):
        sys.exit(f"unknown tools: {', '.join(sorted(unknown))} (known: {', '.join(TOOLS)})")
    if args.from_log:
        first = open(args.from_log).readline()
        measured = first.split(":", 1)[1].strip() if first.startswith("# command:") else "?"
        command = (f"{measured}` (its per-run log: `{args.from_log}`, rendered by "
                   f"`python3 bench/compare.py --from-log {args.from_log}")
        table = render(rows_from_log(args.from_log), args, command)
        print(table)
        if args.out:
            write_section(args.out, args.section, table)
        return
    if os.geteuid() != 0:
        sys.exit("bench/compare.py needs root to build network namespaces")
    cases = [Case(n, loss, args.cap, args.rate)
             for n in map(int, args.receivers.split(","))
             for loss in map(int, args.loss.split(","))]
    cases += [Case(int(n), 0, "none", 0) for n in args.uncapped.split(",") if n]
    ensure_tools(args.tools)
    bench = Bench(args)
    command = "sudo python3 bench/compare.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    print(f"# command: {command}", flush=True)
    if args.adaptive_cap:
        table = run_adaptive(bench, args) + f"\nProduced by `{command}`.\n"
        marker = "adaptive-rate"
    else:
        rows = [bench.run_case(c) for c in cases]
        table = render(rows, args, command)
        marker = args.section
    print(table)
    if args.out:
        write_section(args.out, marker, table)
    subprocess.run(["rm", "-rf", bench.work])


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Wire ratio that each repair code would reach with perfect feedback.

A Monte Carlo model, not a transfer: every receiver loses each symbol with
probability p, independently, and the sender always knows exactly what each
receiver still needs. It answers one question for issue 3: which wire ratios
are out of reach for a given code however good the feedback is.

  rs K        Reed-Solomon blocks of K source symbols (ardus today, K = 200).
              A block is sent until its worst receiver has K symbols.
  window W    one code over W consecutive blocks (a large-window random
              linear code, RFC 8681 style): sent until the worst receiver
              has W*K symbols of the window.
  hybrid W    RS parity per block up to the deficit that all but a share of
              the receivers reach, then window symbols for what each
              receiver still lacks. "window-solved" is how many lost symbols
              per 1000 a receiver recovers through the window code, where
              each costs W*K symbol multiply-adds instead of K.

Wire counts Ethernet+IP+UDP+ardus headers as the testbed's link counters do.

  python3 bench/repair_model.py [--out docs/benchmarks.md]
"""
import argparse
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import write_section  # noqa: E402

FRAME = (1456 + 16 + 28 + 14) / 1456  # DATA datagram on the wire per symbol byte
K = 200


def failures_before(successes, p, rng):
    """Symbols lost before `successes` arrive (negative binomial), by geometric gaps."""
    if p <= 0 or successes == 0:
        return 0
    log_p = math.log(p)
    return sum(int(math.log(1.0 - rng.random()) / log_p) for _ in range(successes))


def losses_among(n, p, rng):
    """Binomial(n, p) by geometric skipping."""
    if p <= 0:
        return 0
    log_q = math.log(1.0 - p)
    lost, i = 0, int(math.log(1.0 - rng.random()) / log_q)
    while i < n:
        lost += 1
        i += 1 + int(math.log(1.0 - rng.random()) / log_q)
    return lost


def rs(n, p, k, windows, w, rng):
    sent = 0
    for _ in range(windows * w):
        sent += k + max(failures_before(k, p, rng) for _ in range(n))
    return sent / (windows * w * k), 0.0


def window(n, p, k, windows, w, rng):
    sent = 0
    for _ in range(windows):
        sent += w * k + max(failures_before(w * k, p, rng) for _ in range(n))
    return sent / (windows * w * k), p * 1000


def hybrid(n, p, k, windows, w, rng, share=0.4):
    """Per-block parity to the deficit exceeded by at most share*N receivers."""
    exceed = max(1, math.ceil(share * n)) if n > 1 else 0
    sent, solved = 0, 0.0
    for _ in range(windows):
        residual = [0] * n
        for _ in range(w):
            deficit = [losses_among(k, p, rng) for _ in range(n)]
            level = sorted(deficit, reverse=True)[exceed] if exceed < n else 0
            sent += k + level
            for r in range(n):
                got = level - losses_among(level, p, rng)
                residual[r] += max(0, deficit[r] - got)
        sent += max(need + failures_before(need, p, rng) for need in residual)
        solved += sum(residual) / n
    return sent / (windows * w * k), solved / (windows * w * k) * 1000


CASES = [  # (label, receivers, loss, blocks simulated per code)
    ("testbed N=8, 5%", 8, 0.05, 400),
    ("testbed N=4, 5%", 4, 0.05, 400),
    ("testbed N=8, 1%", 8, 0.01, 400),
    ("sim N=10, 1%", 10, 0.01, 400),
    ("sim N=100, 1%", 100, 0.01, 100),
    ("sim N=1000, 1%", 1000, 0.01, 40),
]
CODES = [("RS K=200", rs, 200, 1), ("RS K=224", rs, 224, 1),
         ("window 10x200", window, K, 10), ("hybrid 10x200", hybrid, K, 10),
         ("window 20x200", window, K, 20), ("hybrid 20x200", hybrid, K, 20)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the table into this markdown file")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args()
    header = "| case | target wire | " + " | ".join(c[0] for c in CODES) + " |"
    lines = [header, "|---|---|" + "---|" * len(CODES)]
    for label, n, p, blocks in CASES:
        target = "1.120" if label.startswith("testbed N=8, 5%") else (
            f"{1.05 / (1 - p):.3f}" if label.startswith("sim") else "-")
        cells = []
        for name, fn, k, w in CODES:
            rng = random.Random(args.seed)
            ratio, solved = fn(n, p, k, max(1, blocks // w), w, rng)
            cell = f"{FRAME * ratio:.4f}"
            if fn is hybrid:
                cell += f" ({solved:.1f})"
            cells.append(cell)
        lines.append(f"| {label} | {target} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    text = "\n".join([
        "## Repair codes under perfect feedback (model)",
        "",
        f"Produced by `python3 bench/repair_model.py --out docs/benchmarks.md` (seed {args.seed}). "
        "A Monte Carlo model, not a transfer: independent loss, and a sender that knows exactly "
        "what every receiver lacks, so these are floors that no feedback scheme can beat with "
        "the same code. Wire ratio with Ethernet+IP+UDP+ardus headers. Hybrid: RS parity per "
        "block up to the deficit that all but 40% of the receivers reach, then window symbols; "
        "in brackets, lost symbols per 1000 that a receiver solves through the window code "
        "(each costing the window's size in multiply-adds instead of one block's).",
        "", *lines, ""]) + "\n"
    if args.out:
        write_section(args.out, "repair-model", text)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The layer check can fail: on a tree with one violation of each kind it must
name each and exit 1, and on the same tree without them exit 0."""
import pathlib
import subprocess
import sys
import tempfile

CHECKER = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "check_layers.py"


def run(src):
    p = subprocess.run([sys.executable, str(CHECKER), str(src)], capture_output=True, text=True)
    return p.returncode, p.stderr


def write(src, files):
    for name, text in files.items():
        path = src / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def main():
    clean = {
        "common/status.h": "#include <string>\n",
        "ardus/layout.cc": '#include "common/status.h"\n#include <random>\n',
        "io/udp.cc": '#include "ardus/layout.h"\n#include <sys/socket.h>\n',
        "tcl/value.h": '#include "rex/body.h"\n',
        "notify/filter.cc": '#include "tcl/value.h"\n',
        "rexd/server.cc": '#include "services/service.h"\n',
        "seal/identity.cc": '#include "common/status.h"\n',
        "io/system_random.cc": '#include "seal/random.h"\n',
    }
    bad = {
        "ardus/receiver.cc": '#include "io/udp.h"\n',              # engine includes I/O
        "ardus/sender.cc": "#include <sys/socket.h>\n",            # sans-IO opens sockets
        "trader/trader.cc": "auto t = std::chrono::steady_clock::now();\n",  # reads a clock
        "notify/broker.cc": '#include "trader/trader_wire.h"\n',    # a sibling engine
        "notify/event.h": '#include "tcl/evaluator.h"\n',           # a private header
        "stray/thing.cc": "",                                     # no layer
        "rexd/server.h": '#include "notify/notify_wire.h"\n',      # the loop sees a service's wire
        "seal/random.cc": "RAND_bytes(out, 32);\n",                # crypto draws entropy itself
        "seal/types.h": '#include "ardus/wire.h"\n',               # crypto reaches up
    }
    with tempfile.TemporaryDirectory() as d:
        src = pathlib.Path(d)
        write(src, clean)
        code, err = run(src)
        if code != 0:
            print(f"FAIL: the clean tree was refused:\n{err}")
            return 1
        write(src, bad)
        code, err = run(src)
        expected = ["ardus/receiver.cc: layer ardus_core may not include \"io/udp.h\"",
                    "ardus/sender.cc: sans-IO layer ardus_core includes <sys/socket.h>",
                    "trader/trader.cc: sans-IO layer trader_core calls _clock::now(",
                    "notify/broker.cc: layer notify_core may not include \"trader/trader_wire.h\"",
                    "notify/event.h: \"tcl/evaluator.h\" is private to tcl",
                    "stray/thing.cc: belongs to no layer",
                    "rexd/server.h: layer rexd_loop may not include \"notify/notify_wire.h\"",
                    "seal/random.cc: sans-IO layer seal calls RAND_bytes(",
                    "seal/types.h: layer seal may not include \"ardus/wire.h\" (ardus_core)"]
        missing = [e for e in expected if e not in err]
        if code != 1 or missing:
            print(f"FAIL: exit {code}; not reported: {missing}\n{err}")
            return 1
    print("layer check: clean tree accepted, every kind of violation named")
    return 0


if __name__ == "__main__":
    sys.exit(main())

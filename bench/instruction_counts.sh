#!/usr/bin/env bash
# Instruction counts (callgrind Ir) of the same workloads on one build:
#   engines: engine_trace --scenario all
#   rexd:    rexd serving rex_bench load 2000, then 200 queries, then fanout 4 subs x 2000 events
#   client:  the rex_bench load 2000 client itself
# usage: bench/instruction_counts.sh BUILD_DIR PORT_BASE [CLIENT_BUILD_DIR: whose rex_bench drives rexd]
set -euo pipefail
B=$1; P=$2; C=${3:-$1}
out=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file=$out/engine.cg $B/bench/engine_trace --scenario all >$out/engine.txt 2>$out/engine.err
echo "engine_trace digests:"; cat $out/engine.txt
echo "engines Ir: $(grep -m1 'summary:' $out/engine.cg | awk '{print $2}')"
data=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file=$out/rexd.cg $B/rexd --quiet --data $data --trader-port $P --notify-port $((P+1)) 2>$out/rexd.err &
pid=$!
for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$P) 2>/dev/null && break; sleep 0.2; done
valgrind --tool=callgrind --callgrind-out-file=$out/client.cg $C/bench/rex_bench load 127.0.0.1:$P 2000 >$out/client.txt 2>$out/client.err; cat $out/client.txt
$C/bench/rex_bench query 127.0.0.1:$P 200 "serial == %d" "max ppm" >/dev/null
$C/bench/rex_bench fanout 127.0.0.1:$((P+1)) 4 2000 "\$type_name == 'tick'" >/dev/null || echo "fanout failed"
kill -TERM $pid; wait $pid || true
echo "rexd Ir: $(grep -m1 'summary:' $out/rexd.cg | awk '{print $2}')"
echo "client (load 2000) Ir: $(grep -m1 'summary:' $out/client.cg | awk '{print $2}')"
cat $out/rexd.err | tail -5; rm -rf $data

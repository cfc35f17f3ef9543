#!/usr/bin/env bash
# rexd with TLS on both ports, end to end with the rex CLI and the Python
# client: round trips verified by a CA and by a pin; a plaintext client on a
# TLS port and a TLS client on a plaintext port, a wrong name, an expired
# certificate, mutual TLS, an unfinished handshake; bad TLS flags refused at
# start; the self-signed first run and its printed pin; TLS with --auth:
# identities by key and by client certificate, forbidden and ownership. Certificates are made
# here with the openssl command (openssl ca sets exact validity dates, which
# openssl 3.0's req/x509 cannot).
source "$(dirname "$0")/lib.sh"
REXD=${REXD:?set REXD to the rexd binary}
REX=${REX:?set REX to the rex binary}
command -v openssl >/dev/null || skip "no openssl command (scripts/install-deps.sh installs it)"
here=$(dirname "$0")
work=$(mktemp -d /tmp/rexd-tls-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
unset REX_TLS_CA REX_TLS_PIN REX_TRADER REX_NOTIFY

# --- certificates: a CA and leaves it signs -----------------------------------
pki=$work/pki
mkdir -p "$pki/ca"
: >"$pki/ca/index.txt"
echo 01 >"$pki/ca/serial"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=rexd test CA" \
  -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 30 2>/dev/null
# leaf NAME SAN NOT_BEFORE NOT_AFTER (YYYYMMDDHHMMSSZ)
leaf() {
  cat >"$pki/$1.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $pki/ca/index.txt
serial = $pki/ca/serial
new_certs_dir = $pki/ca
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
[ext]
subjectAltName = $2
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth, clientAuth
EOF
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null
  openssl ca -batch -config "$pki/$1.cnf" -cert "$pki/ca.pem" -keyfile "$pki/ca.key" \
    -in "$pki/$1.csr" -out "$pki/$1.pem" -startdate "$3" -enddate "$4" -extensions ext -notext \
    >/dev/null 2>&1 || fail "openssl ca could not make $1"
  chmod 600 "$pki/$1.key"
}
ago=$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)
later=$(date -u -d '+30 days' +%Y%m%d%H%M%SZ)
leaf server "DNS:localhost,IP:127.0.0.1" "$ago" "$later"
leaf elsewhere "DNS:elsewhere.example" "$ago" "$later"
leaf stale "DNS:localhost,IP:127.0.0.1" 20200101000000Z 20200102000000Z
leaf client "DNS:scanner.example" "$ago" "$later"
# Valid for a few seconds: rexd accepts it at start, a client sees it expired.
leaf brief "DNS:localhost,IP:127.0.0.1" "$ago" "$(date -u -d '+4 sec' +%Y%m%d%H%M%SZ)"
brief_made=$(date +%s)

# start_rexd NAME [flags...]: a fresh rexd on free ports, its stderr in
# $work/NAME.err; sets pid, tport, nport, log.
start_rexd() {
  local name=$1; shift
  tport=$((20000 + RANDOM % 20000)); nport=$((tport + 1)); log=$work/$name.err
  $REXD --listen 127.0.0.1 --trader-port "$tport" --notify-port "$nport" \
    --data "$work/$name" --quiet "$@" 2>"$log" &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $tport), 1).close()" \
      2>/dev/null && return
    kill -0 "$pid" 2>/dev/null || fail "rexd ($name) exited: $(cat "$log")"
    sleep 0.1
  done
  fail "rexd ($name) did not come up on $tport"
}
stop_rexd() { kill "$pid"; wait "$pid" || fail "rexd exited $? on SIGTERM"; }
raw() { python3 "$here/rex_raw.py" "$@" || fail "raw client: $*"; }
logged() { # PATTERN: rexd's log has a line matching it (it may take a moment)
  for _ in $(seq 20); do grep -qE -e "$1" "$log" && return; sleep 0.1; done
  fail "rexd's log lacks /$1/: $(cat "$log")"
}
pin_of() { sed -n 's/^rexd: TLS pin (rex --tls-pin, SHA-256 of the public key): //p' "$1"; }

# --- bad TLS flags are refused at start, naming the flag ----------------------
s=$pki/server
expect_exit 2 "--tls-cert needs --tls-key" -- $REXD --data "$work/x" --tls-cert "$s.pem"
expect_exit 2 "--tls-key needs --tls-cert" -- $REXD --data "$work/x" --tls-key "$s.key"
expect_exit 4 "--tls-cert $work/none.pem: cannot read" -- \
  $REXD --data "$work/x" --tls-cert "$work/none.pem" --tls-key "$s.key"
expect_exit 2 "--tls-cert $pki/server.key: no PEM certificate" -- \
  $REXD --data "$work/x" --tls-cert "$s.key" --tls-key "$s.key"
expect_exit 2 "--tls-key $pki/elsewhere.key does not match --tls-cert $s.pem" -- \
  $REXD --data "$work/x" --tls-cert "$s.pem" --tls-key "$pki/elsewhere.key"
expect_exit 2 "--tls-cert $pki/stale.pem: the certificate \(CN=stale\) expired on Jan  2 00:00:00 2020" -- \
  $REXD --data "$work/x" --tls-cert "$pki/stale.pem" --tls-key "$pki/stale.key"
cp "$s.key" "$work/open.key" && chmod 644 "$work/open.key"
expect_exit 2 "open to others \(mode 0644\); run chmod 600" -- \
  $REXD --data "$work/x" --tls-cert "$s.pem" --tls-key "$work/open.key"
expect_exit 2 "--tls-client-ca needs TLS" -- $REXD --data "$work/x" --tls-client-ca "$pki/ca.pem"
expect_exit 2 "excludes" -- $REXD --data "$work/x" --tls-self-signed "$work/ss" --tls-cert "$s.pem"
echo "bad TLS flags refused at start: ok"

# --- a non-loopback --listen needs TLS and --auth, or --insecure -------------
printf 'anonymous\n  allow trader.query *\n' >"$work/auth"
expect_exit 2 "refusing to listen on 0.0.0.0 without TLS and --auth.*--tls-cert.*--auth FILE.*--insecure" -- \
  $REXD --listen 0.0.0.0 --data "$work/x"
expect_exit 2 "refusing to listen on 0.0.0.0" -- \
  $REXD --listen 0.0.0.0 --data "$work/x" --tls-cert "$s.pem" --tls-key "$s.key"
expect_exit 2 "refusing to listen on 0.0.0.0" -- $REXD --listen 0.0.0.0 --data "$work/x" --auth "$work/auth"
# listens_on NAME FLAGS...: rexd on 0.0.0.0 with FLAGS comes up, then stops cleanly.
listens_on() {
  local name=$1; shift
  local port=$((20000 + RANDOM % 20000))
  $REXD --listen 0.0.0.0 --trader-port $port --notify-port $((port + 1)) --data "$work/$name" \
    --quiet "$@" 2>"$work/$name.err" &
  local p=$!
  pids+=("$p")
  for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1).close()" \
      2>/dev/null && { kill "$p"; wait "$p" || fail "rexd ($name) exited $? on SIGTERM"; return; }
    kill -0 "$p" 2>/dev/null || fail "rexd ($name) exited: $(cat "$work/$name.err")"
    sleep 0.1
  done
  fail "rexd ($name) did not come up on 0.0.0.0:$port"
}
listens_on insecure --insecure
listens_on guarded --tls-cert "$s.pem" --tls-key "$s.key" --auth "$work/auth"
echo "non-loopback --listen without TLS and --auth refused, allowed with both or --insecure: ok"

# --- the certificate expires while rexd runs (started first: it has seconds) ---
start_rexd brief --tls-cert "$pki/brief.pem" --tls-key "$pki/brief.key"
brief_pid=$pid brief_port=$tport brief_log=$log
expect_exit 0 "" -- $REX trader list-types --trader 127.0.0.1:$brief_port --tls-ca "$pki/ca.pem"

# --- TLS round trips, by CA and by pin ----------------------------------------
start_rexd main --tls-cert "$s.pem" --tls-key "$s.key"
pin=$(pin_of "$log")
[[ $pin =~ ^[0-9a-f]{64}$ ]] || fail "rexd printed no pin: $(cat "$log")"
want_pin=$(openssl x509 -in "$s.pem" -pubkey -noout | openssl pkey -pubin -outform DER |
  openssl dgst -sha256 -r | cut -d' ' -f1)
[[ $pin == "$want_pin" ]] || fail "rexd's pin $pin is not the SPKI SHA-256 $want_pin"
T=127.0.0.1:$tport N=127.0.0.1:$nport
$REX trader add-type printer ppm:int:mandatory --trader $T --tls-ca "$pki/ca.pem" >/dev/null
$REX trader export printer ppm=30 --trader $T --tls-pin "$pin" >/dev/null
REX_TLS_CA=$pki/ca.pem $REX trader export printer ppm=12 --trader $T >/dev/null
got=$(REX_TLS_PIN=$pin $REX trader query printer "ppm > 20" --trader $T --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['count'])")
[[ $got == 1 ]] || fail "query over TLS found $got offers, expected 1"
# The flags work at every level, as the address flags do.
expect_exit 0 "printer" -- $REX --tls-ca "$pki/ca.pem" --trader $T trader list-types
expect_exit 0 "printer" -- $REX trader --tls-pin "$pin" list-types --trader $T
$REX notify channel create news --notify $N --tls-ca "$pki/ca.pem" >/dev/null
for verify in "--tls-ca $pki/ca.pem" "--tls-pin $pin"; do
  $REX notify subscribe news --count 1 --json --notify $N $verify >"$work/sub.out" &
  sub=$!
  pids+=("$sub")
  sleep 0.5
  $REX notify publish news --event ardus/transfer/done bytes=7 --notify $N $verify >/dev/null
  wait "$sub" || fail "subscribe over TLS ($verify) failed"
  grep -q '"bytes":7' "$work/sub.out" || fail "event over TLS ($verify): $(cat "$work/sub.out")"
done
raw --tls-ca "$pki/ca.pem" "$tport" tls_hello
raw --tls-pin "$pin" "$nport" tls_hello
raw --tls-ca "$pki/ca.pem" --tls-name localhost "$tport" tls_hello
echo "TLS trader and notify round trips, by CA and by pin: ok"

# --- a plaintext client on a TLS port: told so on both sides ------------------
expect_exit 4 "handshake_required: this rexd port needs TLS: connect with rex --tls-ca FILE" -- \
  $REX trader list-types --trader $T
expect_exit 4 '"error":"cannot_connect".*needs TLS' -- $REX notify types news --notify $N --json
raw "$tport" plaintext_refused
raw "$nport" plaintext_refused
logged "127.0.0.1:[0-9]+ on the trader port spoke plaintext to TLS; refused"
logged "127.0.0.1:[0-9]+ on the notify port spoke plaintext to TLS; refused"
# A client that starts TLS and never finishes is closed at the handshake timeout.
stop_rexd
start_rexd slow --tls-cert "$s.pem" --tls-key "$s.key" --handshake-timeout 1
python3 - "$tport" <<'PY' || fail "an unfinished TLS handshake was not closed in time"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"\x16\x03\x01\x00\x40")  # a ClientHello that never comes
start = time.time()
assert s.recv(100) == b"", "rexd answered an unfinished handshake"
assert 0.5 < time.time() - start < 4, time.time() - start
PY
logged "TLS handshake with 127.0.0.1:[0-9]+ not complete within the handshake timeout"
stop_rexd
echo "plaintext to a TLS port refused on both sides; unfinished handshake closed: ok"

# --- a TLS client on a plaintext port ------------------------------------------
start_rexd plain
expect_exit 4 "the server does not speak TLS on 127.0.0.1:$tport; drop --tls-ca/--tls-pin" -- \
  $REX trader list-types --trader 127.0.0.1:$tport --tls-ca "$pki/ca.pem"
expect_exit 4 '"error":"cannot_connect".*does not speak TLS' -- \
  $REX notify types news --notify 127.0.0.1:$nport --tls-pin "$pin" --json
logged "on the trader port started TLS, but rexd runs without TLS"
raw --tls-ca "$pki/ca.pem" "$tport" tls_refused >/dev/null
stop_rexd
echo "TLS to a plaintext port: clear error: ok"

# --- a certificate for another name --------------------------------------------
start_rexd wrong --tls-cert "$pki/elsewhere.pem" --tls-key "$pki/elsewhere.key"
expect_exit 4 "certificate \(CN=elsewhere\) is not for '127.0.0.1', the name you connected to" -- \
  $REX trader list-types --trader 127.0.0.1:$tport --tls-ca "$pki/ca.pem"
# A DNS name too (checked as the name, on 127.0.0.1: no resolver needed).
out=$(python3 "$here/rex_raw.py" --tls-ca "$pki/ca.pem" --tls-name localhost "$tport" tls_refused) ||
  fail "$out"
grep -q "not valid for 'localhost'" <<<"$out" || fail "python: wrong DNS name not reported: $out"
logged "TLS handshake with 127.0.0.1:[0-9]+ failed: the client refused the TLS handshake: bad certificate"
out=$(python3 "$here/rex_raw.py" --tls-ca "$pki/ca.pem" "$tport" tls_refused) || fail "$out"
grep -q "not valid for '127.0.0.1'" <<<"$out" || fail "python: wrong name not reported: $out"
# A pin of another key is refused, with both keys named.
expect_exit 4 "the server's key SHA-256 is [0-9a-f]{64}, not the pinned $pin" -- \
  $REX trader list-types --trader 127.0.0.1:$tport --tls-pin "$pin"
expect_exit 2 "--tls-pin 12ab: pin must be 64 hex digits" -- \
  $REX trader list-types --trader 127.0.0.1:$tport --tls-pin 12ab
stop_rexd
echo "wrong name and wrong pin refused: ok"

# --- the expired certificate (rexd started on it above) ------------------------
sleep $((brief_made + 6 - $(date +%s) > 0 ? brief_made + 6 - $(date +%s) : 0))
expect_exit 4 "TLS with 127.0.0.1:$brief_port failed: the server's certificate \(CN=brief\) expired on" -- \
  $REX trader list-types --trader 127.0.0.1:$brief_port --tls-ca "$pki/ca.pem"
log=$brief_log
logged "TLS handshake with 127.0.0.1:[0-9]+ failed: the client refused the TLS handshake: certificate expired"
out=$(python3 "$here/rex_raw.py" --tls-ca "$pki/ca.pem" "$brief_port" tls_refused) || fail "$out"
grep -q "certificate has expired" <<<"$out" || fail "python: expiry not reported: $out"
kill "$brief_pid"; wait "$brief_pid" || fail "rexd (brief) exited $? on SIGTERM"
echo "expired certificate: clear errors on both sides: ok"

# --- mutual TLS -----------------------------------------------------------------
start_rexd mutual --tls-cert "$s.pem" --tls-key "$s.key" --tls-client-ca "$pki/ca.pem"
expect_exit 4 "requires a client certificate" -- \
  $REX trader list-types --trader 127.0.0.1:$tport --tls-ca "$pki/ca.pem"
logged "the client sent no certificate, and this server requires one"
expect_exit 0 "" -- $REX trader list-types --trader 127.0.0.1:$tport --tls-ca "$pki/ca.pem" \
  --tls-cert "$pki/client.pem" --tls-key "$pki/client.key"
expect_exit 2 "--tls-cert and --tls-key go together" -- \
  $REX trader list-types --trader 127.0.0.1:$tport --tls-ca "$pki/ca.pem" --tls-cert "$pki/client.pem"
raw --tls-pin "$pin" --tls-cert "$pki/client.pem" --tls-key "$pki/client.key" "$nport" tls_hello
stop_rexd
echo "mutual TLS: ok"

# --- TLS and --auth together: identities by key (bound to the TLS session)
# and by client certificate; permissions and ownership over TLS ---------------
$REX keygen "$work/alice" | head -1 >"$work/alice.fpr"
$REX keygen "$work/bob" | head -1 >"$work/bob.fpr"
client_sha=$(openssl x509 -in "$pki/client.pem" -outform DER | sha256sum | cut -d' ' -f1)
cat >"$work/auth.secure" <<AUTH
identity alice
  key $(cat "$work/alice.fpr")
  allow trader.add_type printer
  allow trader.export printer
  allow trader.withdraw printer
  allow trader.query *
  allow notify.create_channel jobs
  allow notify.publish jobs
  allow notify.subscribe jobs
  allow notify.durable alice.*
identity bob                      # every grant on printers and jobs, none to own alice's
  key $(cat "$work/bob.fpr")
  allow trader.export printer
  allow trader.modify printer
  allow trader.withdraw printer
  allow trader.renew printer
  allow trader.query *
  allow notify.subscribe jobs
  allow notify.durable *
identity scanner                  # a client certificate (mutual TLS)
  cert-sha256 $client_sha
  allow trader.query *
anonymous
  allow trader.query *
AUTH
start_rexd secure --tls-cert "$s.pem" --tls-key "$s.key" --auth "$work/auth.secure"
t="--trader 127.0.0.1:$tport --tls-ca $pki/ca.pem"
n="--notify 127.0.0.1:$nport --tls-ca $pki/ca.pem"
expect_exit 1 "forbidden: identity 'anonymous' lacks trader.add_type" -- $REX trader add-type printer ppm:int $t
expect_exit 0 "" -- $REX trader add-type printer ppm:int $t --identity "$work/alice"
expect_exit 1 "forbidden: identity 'bob' lacks trader.add_type" -- \
  $REX trader add-type scanner dpi:int $t --identity "$work/bob"
id=$($REX trader export printer ppm=30 --lease 60 $t --identity "$work/alice")
expect_exit 0 "owner alice" -- $REX trader describe "$id" $t --identity "$work/bob"
expect_exit 1 "forbidden: identity 'anonymous' lacks trader.export" -- $REX trader export printer ppm=1 $t
expect_exit 1 "forbidden: offer $id belongs to another identity" -- $REX trader withdraw "$id" $t
$REX keygen "$work/carol" >/dev/null
expect_exit 4 "unauthenticated: key .* is not in the auth file" -- $REX trader list-types $t --identity "$work/carol"
for verb in withdraw renew; do
  expect_exit 1 "forbidden: offer $id belongs to another identity" -- \
    $REX trader $verb "$id" $t --identity "$work/bob"
done
expect_exit 1 "forbidden: offer $id belongs to another identity" -- \
  $REX trader modify "$id" ppm=1 $t --identity "$work/bob"
# Owning an offer is not enough: alice holds no trader.modify grant.
expect_exit 1 "forbidden: identity 'alice' lacks trader.modify on type 'printer'" -- \
  $REX trader modify "$id" ppm=2 $t --identity "$work/alice"
expect_exit 0 "ppm=30" -- $REX trader describe "$id" $t --identity "$work/alice"
# Notify: publish needs its grant; a durable subscription is its maker's.
expect_exit 0 "" -- $REX notify channel create jobs --persistent $n --identity "$work/alice"
expect_exit 1 "forbidden: identity 'bob' lacks notify.publish" -- \
  $REX notify publish jobs n=0 --event shop/order/o0 $n --identity "$work/bob"
$REX notify publish jobs n=1 --event shop/order/o1 $n --identity "$work/alice" >/dev/null
$REX notify subscribe jobs "" --durable alice.audit --count 1 --json $n --identity "$work/alice" \
  >"$work/audit1.out" || fail "alice's durable subscription"
$REX notify publish jobs n=2 --event shop/order/o2 $n --identity "$work/alice" >/dev/null
$REX notify publish jobs n=3 --event shop/order/o3 $n --identity "$work/alice" >/dev/null
expect_exit 1 "forbidden: durable subscription 'alice.audit' on channel 'jobs' belongs to another identity" -- \
  $REX notify subscribe jobs "" --durable alice.audit --count 1 $n --identity "$work/bob"
expect_exit 1 "forbidden: identity 'anonymous' lacks notify.subscribe" -- \
  $REX notify subscribe jobs "" --count 1 $n
$REX notify subscribe jobs "" --durable alice.audit --count 2 --json $n --identity "$work/alice" \
  >"$work/audit2.out" || fail "alice resuming her durable subscription"
python3 - "$work/audit1.out" "$work/audit2.out" <<'PY' || fail "alice's durable subscription lost or repeated events"
import json, sys
seen = [json.loads(line)["fields"]["n"] for f in sys.argv[1:] for line in open(f) if line.strip()]
sys.exit(0 if seen == [1, 2, 3] else f"events {seen}, expected [1, 2, 3]")
PY
stop_rexd
# By client certificate: the certificate names the identity, no AUTH needed.
start_rexd certs --tls-cert "$s.pem" --tls-key "$s.key" --tls-client-ca "$pki/ca.pem" \
  --auth "$work/auth.secure"
t="--trader 127.0.0.1:$tport --tls-ca $pki/ca.pem"
cert="--tls-cert $pki/client.pem --tls-key $pki/client.key"
$REX trader list-types $t $cert >/dev/null || fail "the scanner certificate may query"
expect_exit 1 "forbidden: identity 'scanner' lacks trader.add_type" -- $REX trader add-type x n:int $t $cert
stop_rexd
echo "TLS with --auth: key and certificate identities, forbidden, ownership, durable hijack refused: ok"

# --- the output limits count TLS output ----------------------------------------
start_rexd limits --tls-cert "$s.pem" --tls-key "$s.key" --write-timeout 2 --max-output 128M
raw --tls-ca "$pki/ca.pem" "$tport" amplification "$pid"
stop_rexd
# A fresh rexd: the measure is its peak RSS.
start_rexd stalled --tls-cert "$s.pem" --tls-key "$s.key" --write-timeout 2 --max-output 128M
raw --tls-ca "$pki/ca.pem" "$nport" stalled_subscribers "$pid"
stop_rexd
echo "output limits over TLS (unread replies, stalled subscribers): ok"

# --- self-signed first run: a pin a client can use; reused on the next run ------
start_rexd selfsigned --tls-self-signed "$work/ss"
first=$(pin_of "$log")
grep -q "made now" "$log" || fail "first run did not say it made the certificate: $(cat "$log")"
[[ $(stat -c %a "$work/ss/rexd-key.pem") == 600 ]] || fail "self-signed key is not mode 0600"
[[ $(stat -c %a "$work/ss") == 700 ]] || fail "self-signed directory is not mode 0700"
expect_exit 0 "" -- $REX trader list-types --trader 127.0.0.1:$tport --tls-pin "$first"
raw --tls-ca "$work/ss/rexd-cert.pem" --tls-name localhost "$nport" tls_hello  # its name
raw --tls-pin "$first" "$nport" tls_hello
stop_rexd
start_rexd selfsigned --tls-self-signed "$work/ss"
[[ $(pin_of "$log") == "$first" ]] || fail "the second run made a new certificate"
grep -q "made now" "$log" && fail "the second run says it made the certificate"
expect_exit 0 "" -- $REX notify channel create again --notify 127.0.0.1:$nport --tls-pin "$first"
stop_rexd
rm "$work/ss/rexd-cert.pem"
expect_exit 2 "rexd-key.pem exists without .*rexd-cert.pem" -- \
  $REXD --data "$work/x" --tls-self-signed "$work/ss"
echo "self-signed first run, pin, reuse: ok"

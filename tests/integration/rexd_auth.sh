#!/usr/bin/env bash
# Authentication through a real rexd with --auth (plaintext; TLS is tested
# with the TLS transport): rex keygen, --identity / REX_IDENTITY, the refusals
# of docs/rex-protocol.md "Authentication" (unknown key, wrong signature,
# wrong key, replayed handshake, other service, AUTH twice, AUTH after a
# request), a bad auth file at start and at SIGHUP, and a SIGHUP that removes
# an identity from under an open connection.
#
# The checks that a request is *refused* by the grants (anonymous limited to
# its entry, a removed identity's next request) need the services' permission
# checks (error `forbidden`); on a tree without them those checks report
# "SKIP part" (and fail in CI), the rest runs.
source "$(dirname "$0")/lib.sh"
REXD=${REXD:?set REXD to the rexd binary}
REX=${REX:?set REX to the rex binary}
here=$(dirname "$0")
src=$(cd "$here/../.." && pwd)
raw() { python3 "$here/rex_raw.py" "$@"; }
python3 -c "import cryptography" 2>/dev/null || skip "python3-cryptography is missing (scripts/install-deps.sh)"
work=$(mktemp -d /tmp/rexd-auth-XXXXXX)
port=$((20000 + RANDOM % 20000))
export REX_TRADER=127.0.0.1:$port REX_NOTIFY=127.0.0.1:$((port + 1))
unset REX_IDENTITY
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The doc's byte example, recomputed by python3-cryptography.
raw 0 auth_doc_example "$src/docs/rex-protocol.md" || fail "docs/rex-protocol.md's AUTH example"

# Keys. The fingerprint is the first line of stdout and is what openssl
# computes from FILE.pub; the private key is 0600; an existing FILE is kept.
for who in alice bob carol; do
  $REX keygen "$work/$who" >"$work/$who.out"
  head -1 "$work/$who.out" >"$work/$who.fpr"
  [[ $(stat -c %a "$work/$who") == 600 ]] || fail "rex keygen: $who is not mode 0600"
done
want=$(openssl pkey -pubin -in "$work/alice.pub" -outform DER | tail -c 32 | sha256sum | cut -d' ' -f1)
[[ $(cat "$work/alice.fpr") == "$want" ]] || fail "rex keygen fingerprint $(cat "$work/alice.fpr") != openssl's $want"
expect_exit 2 "exists" -- $REX keygen "$work/alice"

write_auth() {  # write_auth FILE with-bob with-anonymous
  {
    echo "identity alice"
    echo "  key $(cat "$work/alice.fpr")"
    echo "  allow admin"
    if [[ $2 == yes ]]; then
      echo "identity bob"
      echo "  key $(cat "$work/bob.fpr")"
      echo "  allow trader.query t"
    fi
    if [[ $3 == yes ]]; then
      echo "anonymous"
      echo "  allow trader.query public.*"
    fi
  } >"$1"
}
write_auth "$work/auth" yes yes

# A file that does not parse stops rexd at start, naming the file and line.
printf 'identity x\n  key %s\n  allow trader.exprot t\n' "$(cat "$work/bob.fpr")" >"$work/bad"
expect_exit 2 "bad line 3: unknown permission 'trader.exprot'" -- \
  $REXD --listen 127.0.0.1 --trader-port "$port" --notify-port $((port + 1)) --data "$work/d0" --auth "$work/bad"

$REXD --listen 127.0.0.1 --trader-port "$port" --notify-port $((port + 1)) --data "$work/data" \
  --auth "$work/auth" 2> >(tee -a "$work/rexd.err" >&2) &
rexd_pid=$!
pids+=("$rexd_pid")
for _ in $(seq 50); do $REX --identity "$work/alice" trader list-types >/dev/null 2>&1 && break; sleep 0.1; done
grep -q "permissions from --auth" "$work/rexd.err" || fail "rexd did not come up with --auth"

# An identity with grants is served; --identity works at every level and
# from $REX_IDENTITY; rexd logs who authenticated.
$REX --identity "$work/alice" trader add-type t n:int >/dev/null
$REX trader --identity "$work/alice" add-type public.x n:int >/dev/null
REX_IDENTITY="$work/alice" $REX trader add-type secret n:int >/dev/null
expect_exit 0 "secret" -- $REX trader list-types --identity "$work/alice"
grep -q "identity 'alice' (key $(cat "$work/alice.fpr"))" "$work/rexd.err" || fail "alice's authentication is not logged"
raw "$port" auth_ok "$work/bob" bob || fail "bob was not served"
[[ $(raw "$port" auth_query "$work/bob" t) == REPLY ]] || fail "bob may query t"

# Refusals, each ERROR unauthenticated and then closed.
expect_exit 4 "unauthenticated: key $(cat "$work/carol.fpr") is not in the auth file" -- \
  $REX --identity "$work/carol" trader list-types
raw "$port" auth_unknown "$work/carol" || fail "unknown key"
raw "$port" auth_bad_signature "$work/bob" || fail "bad signature"
raw "$port" auth_wrong_key "$work/bob" "$work/carol" || fail "wrong key"
raw "$port" auth_replay "$work/bob" || fail "replayed handshake"
raw "$port" auth_other_service "$work/bob" || fail "a proof for another service"
raw "$port" auth_twice "$work/bob" || fail "AUTH twice"
raw "$port" auth_after_request "$work/bob" || fail "AUTH after a request"
grep -q "AUTH refused: the signature does not verify" "$work/rexd.err" || fail "refusals are not logged"
# A key file others may read is refused before anything is sent.
chmod 644 "$work/carol"
expect_exit 2 "$work/carol.*readable by group or others" -- $REX --identity "$work/carol" trader list-types
chmod 600 "$work/carol"

# Anonymous: what the `anonymous` entry says.
[[ $(raw "$port" auth_query - public.x) == REPLY ]] || fail "anonymous may query public.*"
[[ $(raw "$port" auth_query - secret) == forbidden ]] || fail "anonymous may not query secret"
[[ $(raw "$port" auth_query "$work/bob" secret) == forbidden ]] || fail "bob may not query secret"

# A reload that fails keeps the old file in force and says why.
cp "$work/bad" "$work/auth"
kill -HUP "$rexd_pid"
sleep 0.5
grep -q "SIGHUP: --auth $work/auth line 3: unknown permission.*previous permissions stay in force" "$work/rexd.err" ||
  fail "a failed reload is not logged"
raw "$port" auth_ok "$work/bob" bob || fail "bob lost his identity in a reload that failed"

# SIGHUP removing bob (and the anonymous entry) while bob's connection is
# open: the connection's identity is re-resolved at once.
write_auth "$work/auth" yes yes
write_auth "$work/auth.v2" no no
# (Not $out: expect_exit below sets it.)
reload=$(raw "$port" auth_reload "$work/bob" t "$rexd_pid" "$work/auth" "$work/auth.v2") ||
  fail "reload: $reload"
grep -q "identity bob" <<<"$reload" || fail "reload: $reload"
grep -q "before REPLY" <<<"$reload" || fail "bob's query before the reload: $reload"
grep -q "SIGHUP: reloaded --auth $work/auth (1 identities)" "$work/rexd.err" || fail "the reload is not logged"
grep -q "identity 'bob' is now '(removed)' (auth file reloaded)" "$work/rexd.err" ||
  fail "bob's open connection was not re-resolved"
# New connections see the new file too.
expect_exit 4 "is not in the auth file" -- $REX --identity "$work/bob" trader list-types
expect_exit 0 "secret" -- $REX --identity "$work/alice" trader list-types
grep -q "after forbidden" <<<"$reload" ||
  fail "bob's open connection kept its grant after the reload: $reload"
[[ $(raw "$port" auth_query - public.x) == forbidden ]] || fail "with no anonymous entry, anonymous may do nothing"
kill -0 "$rexd_pid" || fail "rexd died"
echo "rexd_auth: ok"

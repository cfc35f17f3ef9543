// A sans-IO TLS session over OpenSSL 3: bytes from the network in, plaintext
// out; plaintext in, bytes for the network out. No sockets, no files, no
// clock: the caller passes the current time (used to check certificate
// validity) and moves the bytes. OpenSSL's DRBG supplies the randomness TLS
// needs (the one source of entropy this layer uses).
//
// Policy (docs/rex-protocol.md, "TLS"):
//   - TLS 1.3 only, on both roles. Every client we ship is OpenSSL 3 or
//     Python 3.11 ssl, which speak 1.3; dropping 1.2 removes its cipher and
//     renegotiation choices and makes the exporter (RFC 8446 7.5) the same
//     on every connection.
//   - TLS first: the first byte on a TLS port must be a TLS handshake record
//     (0x16). A REX frame can never start with 0x16 (it would declare a
//     frame of >= 352 MiB), so the two are told apart on the first byte.
//   - A client verifies the server by a CA (ca_pem, then host name), or by a
//     pin: the SHA-256 of the server certificate's SubjectPublicKeyInfo
//     (DER), like curl's --pinnedpubkey. A pin survives a certificate
//     renewal that keeps the key. With a pin and no CA, the pin alone
//     authenticates the server (no chain or name check; the validity dates
//     are still checked); with both, both must hold.
//   - Mutual TLS: a server with client_ca_pem asks for a client certificate
//     and verifies it against that CA; the peer's fingerprint and subject
//     are then exposed (PeerCertificate) for use as an identity.
//
// Thread-safety: a TlsContext may be shared by sessions on one thread; use
// one TlsSession from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

using SSL_CTX = struct ssl_ctx_st;
using SSL = struct ssl_st;

namespace ardus::tls {

// Why a TLS operation failed. Each has its own message; the names are stable
// (FailureName) so rexd and the CLI can log and test them.
enum class Failure {
  kPlaintextPeer,       // the peer does not speak TLS (a plaintext client on a TLS port,
                        // or a plaintext server answering a TLS client)
  kCertificateExpired,  // our verification: the peer certificate's notAfter has passed
  kCertificateNotYetValid,
  kWrongHostName,      // the server certificate does not name server_name
  kUnknownCa,          // the peer certificate does not chain to a trusted CA
  kPinMismatch,        // the server key's SHA-256 is not the pinned one
  kNoPeerCertificate,  // mutual TLS: the client sent no certificate
  kRefusedByPeer,      // the peer sent an alert (it refused our certificate, version...)
  kProtocol,           // any other malformed or refused handshake or record
  kClosed,             // the peer closed the session (close_notify)
  kBadConfig,          // a certificate, key, CA or pin the caller gave is unusable
  kInternal,           // OpenSSL failed where it should not (allocation, a bug)
};
const char* FailureName(Failure failure);

struct Error {
  Failure failure = Failure::kInternal;
  std::string message;  // for humans: what happened and what to do
  // kPeerProtocol for the peer's faults, kInvalidArgument for kBadConfig,
  // kInternal for kInternal.
  Status ToStatus() const;
};

struct Done {};
using Ack = Result<Done, Error>;

// The SHA-256 of a public key's SubjectPublicKeyInfo, as a pin: 64 lower-case
// hex digits. ParsePin accepts that (upper case and ':' separators too) and
// curl's "sha256//BASE64" form; anything else is kBadConfig.
Result<std::string, Error> ParsePin(std::string_view text);

struct ServerConfig {
  std::string cert_pem;  // the server certificate, then any intermediates
  std::string key_pem;
  // Non-empty: mutual TLS. A client must present a certificate this CA
  // (PEM, one or more) signed, or the handshake fails.
  std::string client_ca_pem;
};

struct ClientConfig {
  std::string ca_pem;       // trusted CAs (PEM); empty: pin only
  std::string pin;          // ParsePin form; empty: CA only
  std::string server_name;  // SNI and, with a CA, the name the certificate must carry
  // Optional client certificate for mutual TLS (both or neither).
  std::string cert_pem;
  std::string key_pem;
};

// An SSL_CTX built once (at start) and shared by the sessions it makes.
class TlsContext {
 public:
  // Errors: kBadConfig naming which PEM is unusable or that the key does not
  // match the certificate; a client config needs a CA or a pin, and with a
  // CA a server_name (else any certificate that CA signed would pass).
  static Result<TlsContext, Error> Server(const ServerConfig& config);
  static Result<TlsContext, Error> Client(const ClientConfig& config);

  bool is_server() const { return is_server_; }

 private:
  friend class TlsSession;
  TlsContext(std::shared_ptr<SSL_CTX> ctx, bool is_server, std::string pin, std::string server_name,
             bool pin_only)
      : ctx_(std::move(ctx)),
        is_server_(is_server),
        pin_(std::move(pin)),
        server_name_(std::move(server_name)),
        pin_only_(pin_only) {}
  std::shared_ptr<SSL_CTX> ctx_;
  bool is_server_ = false;
  std::string pin_;  // hex, or empty
  std::string server_name_;
  bool pin_only_ = false;
};

// The verified peer certificate (a server's, or a client's under mutual TLS).
struct PeerCertificate {
  std::string sha256;       // SHA-256 of the certificate's DER, lower-case hex
  std::string spki_sha256;  // SHA-256 of its SubjectPublicKeyInfo (the pin form)
  std::string subject;      // RFC 2253, e.g. "CN=scanner,O=Example"
};

enum class State { kHandshaking, kEstablished, kClosed, kFailed };

class TlsSession {
 public:
  // Starts a session at `now_unix` (seconds since 1970, used to check the
  // peer certificate's validity). A client's ClientHello is in TakeOutput()
  // at once. Errors: kInternal.
  static Result<TlsSession, Error> Start(const TlsContext& context, std::int64_t now_unix);

  TlsSession(TlsSession&&) noexcept;
  TlsSession& operator=(TlsSession&&) noexcept;
  ~TlsSession();

  // Takes bytes that arrived from the network, advances the handshake and
  // appends all plaintext they complete to `plaintext`. After an error the
  // session is kFailed (every later call returns the same error); send
  // TakeOutput() (it may hold an alert telling the peer why) and close.
  // kClosed when the peer sent close_notify (plaintext before it is
  // delivered). Memory: what the caller feeds plus one record (16 KiB).
  Ack Receive(std::span<const std::uint8_t> network, std::vector<std::uint8_t>& plaintext);

  // Queues plaintext for the peer. Before the handshake completes it waits
  // in the session (the caller bounds how much it queues); then it is
  // encrypted into TakeOutput(). Errors: the session's failure, or kClosed.
  Ack Send(std::span<const std::uint8_t> plaintext);

  // Bytes to write to the network (handshake, records, alerts), appended to
  // `out`. Returns how many were appended. Into an empty `out` they are
  // moved, not copied (the vectors swap buffers).
  std::size_t TakeOutput(std::vector<std::uint8_t>& out);
  std::size_t pending_output() const;

  // Sends close_notify (in TakeOutput()); later Send calls fail kClosed.
  void Close();

  State state() const { return state_; }
  bool established() const { return state_ == State::kEstablished; }
  // Precondition for these: established().
  std::string_view version() const;  // "TLSv1.3"
  std::string_view cipher() const;   // e.g. "TLS_AES_256_GCM_SHA384"
  // The peer's verified certificate: the server's on a client; on a server,
  // the client's under mutual TLS, else nullopt.
  const std::optional<PeerCertificate>& peer() const { return peer_; }

  // RFC 8446 7.5 exporter: equal on both ends of one session, different on
  // every other. Errors: kInternal (not established, or length 0).
  Result<std::vector<std::uint8_t>, Error> ExportKeyingMaterial(
      std::string_view label, std::span<const std::uint8_t> context, std::size_t length) const;
  // RFC 9266 channel binding: label "EXPORTER-Channel-Binding", no context,
  // 32 bytes. The REX handshake will sign it so a proof cannot be relayed.
  Result<std::vector<std::uint8_t>, Error> ChannelBinding() const;

 private:
  TlsSession() = default;
  Ack Fail(Failure failure, std::string message);
  Ack Advance(std::vector<std::uint8_t>& plaintext);
  Ack FlushPending();
  Ack Classify(int ssl_result, const char* during);
  void CapturePeer();

  SSL* ssl_ = nullptr;
  bool is_server_ = false;
  bool saw_first_byte_ = false;
  State state_ = State::kHandshaking;
  std::optional<Error> error_;
  std::optional<PeerCertificate> peer_;
  std::vector<std::uint8_t> pending_plaintext_;  // Send before the handshake finished
  std::unique_ptr<struct VerifyState> verify_;   // pin and its outcome, for the callback
  // The records for the network, written by OpenSSL through a vector BIO
  // (heap-held: the BIO points at it while the session moves).
  std::unique_ptr<std::vector<std::uint8_t>> out_;
};

// True when `first_bytes` (at least 1) begin like a TLS record: a plaintext
// server calls this on a connection's first bytes to tell "a TLS client on a
// plaintext port" from garbage. (0x16 = handshake, then major version 3.)
bool LooksLikeTls(std::span<const std::uint8_t> first_bytes);

// What a server certificate file says, checked before rexd serves it.
struct CertificateInfo {
  std::string sha256;       // of the certificate DER
  std::string spki_sha256;  // of its SubjectPublicKeyInfo: the value clients pass as a pin
  std::string subject;      // RFC 2253
  std::string not_after;    // e.g. "Dec  2 19:46:37 2027 GMT"
};
// The first certificate in `cert_pem`. Errors: kBadConfig when there is no
// PEM certificate, or at `now_unix` it has expired or is not valid yet (the
// message says which, with the date).
Result<CertificateInfo, Error> InspectCertificate(const std::string& cert_pem,
                                                  std::int64_t now_unix);

// A self-signed certificate for rexd's first run.
enum class KeyType { kP256, kEd25519 };
struct SelfSignedOptions {
  std::vector<std::string> dns_names = {"localhost"};  // subjectAltName DNS entries
  std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"};
  std::string common_name = "rexd";
  std::int64_t now_unix = 0;  // notBefore = now - 1 hour (clock skew)
  std::int64_t valid_days = 825;
  KeyType key_type = KeyType::kP256;  // P-256: every TLS 1.3 client verifies it
};
struct SelfSigned {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted: write it mode 0600
  std::string sha256;   // SHA-256 of the certificate DER (what `openssl x509 -fingerprint` shows)
  std::string spki_sha256;  // the pin a client passes as --tls-pin
};
// Errors: kBadConfig (an address that does not parse, no names), kInternal.
Result<SelfSigned, Error> MakeSelfSigned(const SelfSignedOptions& options);

}  // namespace ardus::tls

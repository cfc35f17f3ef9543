#include "tls/tls_session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "tls/openssl_util.h"
#include "tls/vector_bio.h"

namespace ardus::tls {

// What the verify callback needs and what it found; heap-held so it stays put
// when the TlsSession moves.
struct VerifyState {
  std::string pin;  // hex; empty = no pin
  bool pin_only = false;
  std::string server_name;
  bool pin_mismatch = false;
  std::string seen_spki;        // the leaf key's SHA-256, when a pin was checked
  std::string leaf_subject;     // the certificate being verified
  std::string failing_subject;  // the one in its chain that failed (may be a CA)
  std::string failing_not_after;
};

namespace {

Error MakeError(Failure failure, std::string message) { return Error{failure, std::move(message)}; }

// Chain-trust errors a pin replaces when no CA is configured.
bool IsTrustError(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return true;
    default:
      return false;
  }
}

std::string TimeText(const ASN1_TIME* time) {
  UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || ASN1_TIME_print(bio.get(), time) != 1) return "?";
  return BioText(bio.get());
}

int VerifyCallback(int ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* state = ssl ? static_cast<VerifyState*>(SSL_get_app_data(ssl)) : nullptr;
  if (state == nullptr) return 0;
  const int err = X509_STORE_CTX_get_error(store);
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  if (!ok && state->pin_only && IsTrustError(err)) {
    X509_STORE_CTX_set_error(store, X509_V_OK);
    ok = 1;
  }
  if (!ok && cert != nullptr && state->failing_subject.empty()) {
    if (X509* leaf = X509_STORE_CTX_get0_cert(store)) state->leaf_subject = SubjectText(leaf);
    state->failing_subject = SubjectText(cert);
    state->failing_not_after = TimeText(X509_get0_notAfter(cert));
  }
  if (ok && !state->pin.empty() && X509_STORE_CTX_get_error_depth(store) == 0 && cert != nullptr) {
    state->seen_spki = SpkiSha256(cert);
    if (state->seen_spki != state->pin) {
      state->pin_mismatch = true;
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  return ok;
}

// The TLS 1.3-only context every role starts from.
Result<std::shared_ptr<SSL_CTX>, Error> NewContext(const SSL_METHOD* method) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(method), SSL_CTX_free);
  if (!ctx) return MakeError(Failure::kInternal, "SSL_CTX_new failed: " + DrainErrors());
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return MakeError(Failure::kInternal, "cannot restrict TLS to 1.3: " + DrainErrors());
  }
  // Idle connections give back their record buffers (about 34 KiB each);
  // keeping them made 200-byte records faster in tls_bench (2.1 against
  // 2.3 to 2.9 us per write, noisy runs), not worth the memory per connection.
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
  // AES-128-GCM first, and the server's order wins: it costs less per byte
  // than OpenSSL's default AES-256-GCM (bench/tls_bench), and is what Go's
  // TLS (nats-server, etcd) chooses on hardware with AES instructions.
  if (SSL_CTX_set_ciphersuites(ctx.get(),
                               "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                               "TLS_CHACHA20_POLY1305_SHA256") != 1) {
    return MakeError(Failure::kInternal, "cannot set the TLS 1.3 cipher suites: " + DrainErrors());
  }
  SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  return ctx;
}

Error BadConfig(const std::string& what) {
  return MakeError(Failure::kBadConfig, what + (ERR_peek_error() ? ": " + DrainErrors() : ""));
}

// Loads a certificate chain and its key into `ctx`.
Result<Done, Error> UseCertificate(SSL_CTX* ctx, const std::string& cert_pem,
                                   const std::string& key_pem, const char* whose) {
  auto chain = ReadCertificates(cert_pem);
  if (chain.empty())
    return BadConfig(std::string(whose) + " certificate: no PEM certificate found");
  if (SSL_CTX_use_certificate(ctx, chain[0].get()) != 1) {
    return BadConfig(std::string(whose) + " certificate is unusable");
  }
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, chain[i].get()) != 1) {
      return BadConfig(std::string(whose) + " certificate chain is unusable");
    }
  }
  UniqueKey key = ReadPrivateKey(key_pem);
  if (!key) return BadConfig(std::string(whose) + " key: no PEM private key found");
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return BadConfig(std::string(whose) + " key does not match its certificate");
  }
  return Done{};
}

Result<Done, Error> TrustCas(SSL_CTX* ctx, const std::string& ca_pem, const char* what) {
  auto cas = ReadCertificates(ca_pem);
  if (cas.empty()) return BadConfig(std::string(what) + ": no PEM certificate found");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& ca : cas) {
    if (X509_STORE_add_cert(store, ca.get()) != 1)
      return BadConfig(std::string(what) + " is unusable");
  }
  return Done{};
}

bool IsIpAddress(const std::string& name) {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name.c_str());
  ASN1_OCTET_STRING_free(ip);
  return ip != nullptr;
}

}  // namespace

const char* FailureName(Failure failure) {
  switch (failure) {
    case Failure::kPlaintextPeer:
      return "plaintext_peer";
    case Failure::kCertificateExpired:
      return "certificate_expired";
    case Failure::kCertificateNotYetValid:
      return "certificate_not_yet_valid";
    case Failure::kWrongHostName:
      return "wrong_host_name";
    case Failure::kUnknownCa:
      return "unknown_ca";
    case Failure::kPinMismatch:
      return "pin_mismatch";
    case Failure::kNoPeerCertificate:
      return "no_peer_certificate";
    case Failure::kRefusedByPeer:
      return "refused_by_peer";
    case Failure::kProtocol:
      return "protocol";
    case Failure::kClosed:
      return "closed";
    case Failure::kBadConfig:
      return "bad_config";
    case Failure::kInternal:
      return "internal";
  }
  return "internal";
}

Status Error::ToStatus() const {
  switch (failure) {
    case Failure::kBadConfig:
      return Status::Error(ErrorKind::kInvalidArgument, message);
    case Failure::kInternal:
      return Status::Error(ErrorKind::kInternal, message);
    default:
      return Status::Error(ErrorKind::kPeerProtocol, message);
  }
}

Result<std::string, Error> ParsePin(std::string_view text) {
  constexpr std::string_view kCurlPrefix = "sha256//";
  if (text.substr(0, kCurlPrefix.size()) == kCurlPrefix) {
    auto raw = Base64Decode(text.substr(kCurlPrefix.size()));
    if (!raw || raw->size() != 32) {
      return MakeError(Failure::kBadConfig, "pin 'sha256//...' must hold the base64 of 32 bytes");
    }
    return Hex(*raw);
  }
  std::string hex;
  for (char c : text) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return MakeError(
          Failure::kBadConfig,
          "pin must be 64 hex digits (SHA-256 of the server's public key) or sha256//BASE64");
    }
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 64) {
    return MakeError(Failure::kBadConfig,
                     "pin must be 64 hex digits (SHA-256 of the server's public key), got " +
                         std::to_string(hex.size()));
  }
  return hex;
}

Result<TlsContext, Error> TlsContext::Server(const ServerConfig& config) {
  auto ctx = NewContext(TLS_server_method());
  if (!ctx.ok()) return ctx.error();
  SSL_CTX* raw = ctx.value().get();
  if (auto used = UseCertificate(raw, config.cert_pem, config.key_pem, "server"); !used.ok()) {
    return used.error();
  }
  SSL_CTX_set_num_tickets(raw, 0);  // no resumption: nothing to gain on long-lived connections
  if (!config.client_ca_pem.empty()) {
    if (auto trusted = TrustCas(raw, config.client_ca_pem, "client CA"); !trusted.ok()) {
      return trusted.error();
    }
    SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, VerifyCallback);
  }
  return TlsContext(std::move(ctx).value(), true, "", "", false);
}

Result<TlsContext, Error> TlsContext::Client(const ClientConfig& config) {
  if (config.ca_pem.empty() && config.pin.empty()) {
    return MakeError(Failure::kBadConfig,
                     "a TLS client needs a CA (--tls-ca) or a pin (--tls-pin)");
  }
  if (!config.ca_pem.empty() && config.server_name.empty()) {
    return MakeError(Failure::kBadConfig,
                     "a TLS client that trusts a CA needs the server's name to check");
  }
  std::string pin;
  if (!config.pin.empty()) {
    auto parsed = ParsePin(config.pin);
    if (!parsed.ok()) return parsed.error();
    pin = parsed.value();
  }
  auto ctx = NewContext(TLS_client_method());
  if (!ctx.ok()) return ctx.error();
  SSL_CTX* raw = ctx.value().get();
  if (!config.ca_pem.empty()) {
    if (auto trusted = TrustCas(raw, config.ca_pem, "CA"); !trusted.ok()) return trusted.error();
  }
  if (!config.cert_pem.empty() || !config.key_pem.empty()) {
    if (auto used = UseCertificate(raw, config.cert_pem, config.key_pem, "client"); !used.ok()) {
      return used.error();
    }
  }
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, VerifyCallback);
  return TlsContext(std::move(ctx).value(), false, pin, config.server_name, config.ca_pem.empty());
}

Result<TlsSession, Error> TlsSession::Start(const TlsContext& context, std::int64_t now_unix) {
  TlsSession session;
  session.is_server_ = context.is_server_;
  session.verify_ = std::make_unique<VerifyState>();
  session.verify_->pin = context.pin_;
  session.verify_->pin_only = context.pin_only_;
  session.verify_->server_name = context.server_name_;
  session.ssl_ = SSL_new(context.ctx_.get());
  if (session.ssl_ == nullptr)
    return MakeError(Failure::kInternal, "SSL_new failed: " + DrainErrors());
  session.out_ = std::make_unique<std::vector<std::uint8_t>>();
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = NewVectorBio(session.out_.get());
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    return MakeError(Failure::kInternal, "BIO_new failed");
  }
  SSL_set_bio(session.ssl_, rbio, wbio);
  SSL_set_app_data(session.ssl_, session.verify_.get());
  X509_VERIFY_PARAM_set_time(SSL_get0_param(session.ssl_), static_cast<time_t>(now_unix));
  if (session.is_server_) {
    SSL_set_accept_state(session.ssl_);
    return session;
  }
  SSL_set_connect_state(session.ssl_);
  const std::string& name = context.server_name_;
  if (!name.empty()) {
    const bool ip = IsIpAddress(name);
    if (!ip && SSL_set_tlsext_host_name(session.ssl_, name.c_str()) != 1) {
      return MakeError(Failure::kBadConfig, "server name '" + name + "' cannot be sent as SNI");
    }
    if (!context.pin_only_) {
      X509_VERIFY_PARAM* param = SSL_get0_param(session.ssl_);
      const int set = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                         : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      if (set != 1) return MakeError(Failure::kBadConfig, "server name '" + name + "' is unusable");
    }
  }
  std::vector<std::uint8_t> none;
  if (auto started = session.Advance(none); !started.ok()) return started.error();
  return session;
}

TlsSession::TlsSession(TlsSession&& other) noexcept { *this = std::move(other); }

TlsSession& TlsSession::operator=(TlsSession&& other) noexcept {
  if (this != &other) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = std::exchange(other.ssl_, nullptr);
    is_server_ = other.is_server_;
    saw_first_byte_ = other.saw_first_byte_;
    state_ = other.state_;
    error_ = std::move(other.error_);
    peer_ = std::move(other.peer_);
    pending_plaintext_ = std::move(other.pending_plaintext_);
    verify_ = std::move(other.verify_);
    out_ = std::move(other.out_);
  }
  return *this;
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

Ack TlsSession::Fail(Failure failure, std::string message) {
  if (!error_) {
    error_ = MakeError(failure, std::move(message));
    state_ = failure == Failure::kClosed ? State::kClosed : State::kFailed;
  }
  ERR_clear_error();
  return *error_;
}

Ack TlsSession::Receive(std::span<const std::uint8_t> network,
                        std::vector<std::uint8_t>& plaintext) {
  if (error_) return *error_;
  if (!network.empty() && !saw_first_byte_) {
    saw_first_byte_ = true;
    const bool tls =
        is_server_ ? LooksLikeTls(network) : (LooksLikeTls(network) || network[0] == 0x15);
    if (!tls) {
      return Fail(Failure::kPlaintextPeer,
                  is_server_
                      ? "the client sent plaintext to a TLS port (it must connect with TLS: "
                        "rex --tls-ca FILE or --tls-pin SHA256)"
                      : "the server answered in plaintext, not TLS: TLS is not on at that port "
                        "(start rexd with --tls-cert and --tls-key, or connect without TLS)");
    }
  }
  while (!network.empty()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(network.size(), INT_MAX));
    if (BIO_write(SSL_get_rbio(ssl_), network.data(), chunk) != chunk) {
      return Fail(Failure::kInternal, "BIO_write failed: " + DrainErrors());
    }
    network = network.subspan(static_cast<std::size_t>(chunk));
  }
  return Advance(plaintext);
}

Ack TlsSession::Advance(std::vector<std::uint8_t>& plaintext) {
  if (state_ == State::kHandshaking) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) return Classify(r, "handshake");
    CapturePeer();
    if (!verify_->pin.empty() && (!peer_ || peer_->spki_sha256 != verify_->pin)) {
      return Fail(Failure::kPinMismatch, "the server's key does not match the pin");
    }
    state_ = State::kEstablished;
    if (auto flushed = FlushPending(); !flushed.ok()) return flushed;
  }
  // Plaintext is never longer than the ciphertext it came from, so size the
  // output by what is buffered instead of zero-filling a whole record per call
  // (which cost small writes more than the cipher did).
  constexpr std::size_t kRecord = 16 * 1024;
  for (;;) {
    const std::size_t buffered =
        BIO_ctrl_pending(SSL_get_rbio(ssl_)) + static_cast<std::size_t>(SSL_pending(ssl_));
    if (buffered == 0) return Done{};
    const std::size_t had = plaintext.size();
    plaintext.resize(had + std::min(buffered, kRecord));
    std::size_t got = 0;
    ERR_clear_error();
    const int r = SSL_read_ex(ssl_, plaintext.data() + had, plaintext.size() - had, &got);
    plaintext.resize(had + got);
    if (r != 1) return Classify(r, "read");
  }
}

Ack TlsSession::FlushPending() {
  if (pending_plaintext_.empty()) return Done{};
  std::vector<std::uint8_t> pending = std::move(pending_plaintext_);
  pending_plaintext_.clear();
  return Send(pending);
}

Ack TlsSession::Send(std::span<const std::uint8_t> plaintext) {
  if (error_) return *error_;
  if (state_ == State::kClosed) return MakeError(Failure::kClosed, "the TLS session is closed");
  if (state_ == State::kHandshaking) {
    pending_plaintext_.insert(pending_plaintext_.end(), plaintext.begin(), plaintext.end());
    return Done{};
  }
  while (!plaintext.empty()) {
    std::size_t written = 0;
    ERR_clear_error();
    const int r = SSL_write_ex(ssl_, plaintext.data(), plaintext.size(), &written);
    if (r != 1) return Classify(r, "write");
    plaintext = plaintext.subspan(written);
  }
  return Done{};
}

std::size_t TlsSession::TakeOutput(std::vector<std::uint8_t>& out) {
  std::vector<std::uint8_t>& records = *out_;
  const std::size_t n = records.size();
  if (n == 0) return 0;
  if (out.empty()) {
    out.swap(records);  // no copy; the session keeps `out`'s old capacity
  } else {
    out.insert(out.end(), records.begin(), records.end());
  }
  records.clear();
  return n;
}

std::size_t TlsSession::pending_output() const { return out_ ? out_->size() : 0; }

void TlsSession::Close() {
  if (state_ == State::kEstablished) {
    ERR_clear_error();
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
  if (!error_) state_ = State::kClosed;
}

std::string_view TlsSession::version() const { return SSL_get_version(ssl_); }
std::string_view TlsSession::cipher() const {
  return SSL_CIPHER_get_name(SSL_get_current_cipher(ssl_));
}

void TlsSession::CapturePeer() {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return;
  peer_ = PeerCertificate{CertSha256(cert), SpkiSha256(cert), SubjectText(cert)};
}

Ack TlsSession::Classify(int ssl_result, const char* during) {
  const int err = SSL_get_error(ssl_, ssl_result);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Done{};
  if (err == SSL_ERROR_ZERO_RETURN)
    return Fail(Failure::kClosed, "the peer closed the TLS session");
  const std::string peer = is_server_ ? "client" : "server";
  if (verify_->pin_mismatch) {
    return Fail(Failure::kPinMismatch, "the server's key SHA-256 is " + verify_->seen_spki +
                                           ", not the pinned " + verify_->pin +
                                           " (a different server, or its key changed)");
  }
  const long verify = SSL_get_verify_result(ssl_);
  const unsigned long first = ERR_peek_error();
  const bool verify_failed = verify != X509_V_OK && ERR_GET_LIB(first) == ERR_LIB_SSL &&
                             ERR_GET_REASON(first) == SSL_R_CERTIFICATE_VERIFY_FAILED;
  if (verify_failed) {
    const std::string& leaf = verify_->leaf_subject;
    const std::string& failing = verify_->failing_subject;
    // Name the peer's certificate, and the CA in its chain when that is the one at fault.
    const std::string subject = leaf.empty() ? ""
                                : failing.empty() || failing == leaf
                                    ? " (" + leaf + ")"
                                    : " (" + leaf + "; at " + failing + ")";
    switch (verify) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        return Fail(Failure::kCertificateExpired, "the " + peer + "'s certificate" + subject +
                                                      " expired on " + verify_->failing_not_after);
      case X509_V_ERR_CERT_NOT_YET_VALID:
        return Fail(Failure::kCertificateNotYetValid, "the " + peer + "'s certificate" + subject +
                                                          " is not valid yet (check the clocks)");
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return Fail(Failure::kWrongHostName, "the server's certificate" + subject +
                                                 " is not for '" + verify_->server_name +
                                                 "', the name you connected to");
      default:
        if (IsTrustError(static_cast<int>(verify))) {
          return Fail(Failure::kUnknownCa, "the " + peer + "'s certificate" + subject +
                                               " is not signed by a trusted CA (" +
                                               X509_verify_cert_error_string(verify) + ")");
        }
        return Fail(Failure::kProtocol, "the " + peer + "'s certificate is refused: " +
                                            X509_verify_cert_error_string(verify));
    }
  }
  if (err == SSL_ERROR_SSL && ERR_GET_LIB(first) == ERR_LIB_SSL) {
    const int reason = ERR_GET_REASON(first);
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
      return Fail(Failure::kNoPeerCertificate,
                  "the client sent no certificate, and this server requires one (mutual TLS)");
    }
    if (reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
      const int alert = reason - SSL_AD_REASON_OFFSET;
      return Fail(Failure::kRefusedByPeer, "the " + peer + " refused the TLS handshake: " +
                                               AlertName(alert) + AlertHint(alert, is_server_));
    }
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_NO_PROTOCOLS_AVAILABLE) {
      return Fail(Failure::kProtocol, "the " + peer + " does not speak TLS 1.3");
    }
  }
  return Fail(Failure::kProtocol, std::string("TLS ") + during + " failed: " + DrainErrors());
}

Result<std::vector<std::uint8_t>, Error> TlsSession::ExportKeyingMaterial(
    std::string_view label, std::span<const std::uint8_t> context, std::size_t length) const {
  if (state_ != State::kEstablished || length == 0) {
    return MakeError(Failure::kInternal, "exporter needs an established session and a length");
  }
  std::vector<std::uint8_t> out(length);
  if (SSL_export_keying_material(ssl_, out.data(), out.size(), label.data(), label.size(),
                                 context.data(), context.size(), context.empty() ? 0 : 1) != 1) {
    return MakeError(Failure::kInternal, "SSL_export_keying_material failed: " + DrainErrors());
  }
  return out;
}

Result<std::vector<std::uint8_t>, Error> TlsSession::ChannelBinding() const {
  return ExportKeyingMaterial("EXPORTER-Channel-Binding", {}, 32);
}

bool LooksLikeTls(std::span<const std::uint8_t> first_bytes) {
  if (first_bytes.empty() || first_bytes[0] != 0x16) return false;
  return first_bytes.size() < 2 || first_bytes[1] == 0x03;
}

}  // namespace ardus::tls

// Connecting to a rexd service from settings a user typed: the address, an
// identity key file, and TLS files or a pin. Both command-line programs use
// it (`rex`, and `ardus` for its agents, targeted sends and events), so that
// the same flags fail the same way.
//
// This is I/O: it reads the named files and opens a socket (rex_client.h).
//
// Errors (the Status of ConnectWith), and what the caller does:
// - kInvalidArgument: a setting is unusable; the message names the flag or
//   the path (an unreadable or loose identity file, a missing CA file, a bad
//   pin, a client certificate without its key, an address without a port).
//   Bad usage: report and stop.
// - kLocalIo / kTimeout: the server cannot be reached. A daemon retries later.
// - kPeerProtocol: the server answered but broke the protocol, refused the
//   TLS handshake or the AUTH (its reason is in the message).
//
// Thread-safety: ConnectWith is reentrant; the Client it returns is not.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "io/rex_client.h"

namespace ardus::rex {

// TLS from the command line. TLS is on when a CA or a pin is given.
struct TlsFiles {
  std::string ca_file;    // --tls-ca: the CA (PEM) that signed the server's certificate
  std::string pin;        // --tls-pin: SHA-256 of the server's public key
  std::string cert_file;  // --tls-cert: a client certificate (mutual TLS)
  std::string key_file;   // --tls-key: its private key
  bool on() const { return !ca_file.empty() || !pin.empty(); }
};

struct ConnectSettings {
  std::string address;  // HOST:PORT
  std::string service;  // "trader" or "notify": signed into the AUTH proof
  std::string agent;    // announced in HELLO, e.g. "ardus-agent 0.1.0"
  int timeout_ms = 5000;
  std::string identity_file;  // --identity: authenticate with this key (empty: anonymous)
  TlsFiles tls;
};

// The connect options `tls` asks for, its files read. kInvalidArgument
// naming the flag when a file is unreadable or the flags do not fit together.
Result<ConnectOptions> TlsConnectOptions(const TlsFiles& tls);

// Loads the identity and TLS files, connects, performs HELLO and (with an
// identity) AUTH. The errors are the header's.
Result<std::unique_ptr<Client>> ConnectWith(const ConnectSettings& settings);

}  // namespace ardus::rex

// rexd's TLS flags turned into a server TLS context: --tls-cert/--tls-key
// (both or neither), --tls-self-signed DIR (make a certificate on the first
// run, reuse it after), --tls-client-ca (mutual TLS).
//
// Thread-safety: plain functions; they touch only the named files.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "tls/tls_session.h"

namespace ardus::rexd_cli {

struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string self_signed_dir;
  std::string client_ca_file;
  bool any() const {
    return !cert_file.empty() || !key_file.empty() || !self_signed_dir.empty() ||
           !client_ca_file.empty();
  }
};

struct TlsSetup {
  tls::TlsContext context;
  tls::CertificateInfo certificate;
  std::string cert_file;  // the files served (the self-signed ones under DIR)
  bool created = false;   // --tls-self-signed made the certificate now
};

// Builds the context at `now_unix`. Errors, each naming the flag and file:
// kInvalidArgument (only one of --tls-cert/--tls-key, --tls-client-ca
// without a certificate, a file that is not PEM, an expired or not yet valid
// certificate, a key that does not match it), kLocalIo (a file that cannot
// be read or written, a self-signed key readable by others).
Result<TlsSetup> SetUpTls(const TlsOptions& options, std::int64_t now_unix);

}  // namespace ardus::rexd_cli

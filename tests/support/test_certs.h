// Certificates for TLS tests, made with OpenSSL's X509 APIs: a CA, and leaf
// certificates it signs with chosen names and validity (an expired one, one
// for another host, a client certificate for mutual TLS).
//
// Thread-safety: plain functions; each call makes new keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ardus::testing {

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed P-256 CA named `cn`, valid around `now_unix`.
TestCert MakeTestCa(const std::string& cn, std::int64_t now_unix);

struct LeafOptions {
  std::string cn = "leaf";
  std::vector<std::string> dns_names = {"localhost"};
  std::int64_t not_before_unix = 0;
  std::int64_t not_after_unix = 0;
  bool client = false;  // extendedKeyUsage clientAuth instead of serverAuth
};
// A P-256 leaf signed by `ca`. Aborts the test binary on an OpenSSL failure
// (a broken test fixture, not a condition to test).
TestCert MakeTestLeaf(const TestCert& ca, const LeafOptions& options);

}  // namespace ardus::testing

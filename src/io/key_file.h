// Identity key files and fingerprint lists (the I/O half of src/seal):
//   FILE      the Ed25519 private key, PEM (PKCS#8), mode 0600;
//   FILE.pub  its public key, PEM (SubjectPublicKeyInfo), mode 0644.
// Both are readable by `openssl pkey`. A private key file that its group or
// others may read is refused, as ssh refuses one.
//
// Thread-safety: functions touch only the named files.
#pragma once

#include <set>
#include <string>

#include "common/status.h"
#include "seal/identity.h"

namespace ardus::net {

// Writes FILE (0600, created: an existing FILE is not overwritten) and
// FILE.pub. Errors: kLocalIo naming the path and the system's reason
// ("exists", "Permission denied"...); on an error nothing is left behind.
Status WriteIdentity(const std::string& path, const seal::Identity& identity);

// Reads FILE. Errors, each naming the path: kLocalIo (cannot open or read),
// kInvalidArgument ("is readable by group or others (mode 0644); run chmod
// 600 FILE", "is not an Ed25519 private key in PEM form", over 64 KiB).
Result<seal::Identity> LoadIdentity(const std::string& path);

// --allow / --trust: "FPR" (64 hex digits), or "@FILE" holding one
// fingerprint per line ('#' starts a comment; blank lines are skipped), or
// "@FILE.pub"-style PEM public keys, whose fingerprints are taken. Errors:
// kInvalidArgument naming the bad entry (and its file and line), kLocalIo
// for an unreadable file.
Result<std::set<seal::Fingerprint>> LoadFingerprints(const std::string& spec);

}  // namespace ardus::net

// A write-only OpenSSL BIO that appends to a std::vector: a session's
// records land in the buffer the caller will send from, so taking them
// is a swap, not a copy out of a memory BIO. Private to the tls layer.
//
// Thread-safety: the BIO is used by one session on one thread; the method
// table is made once (thread-safe static initialisation).
#pragma once

#include <openssl/bio.h>

#include <cstdint>
#include <vector>

namespace ardus::tls {

// A BIO appending what is written to `*sink`, which must outlive it. Reads
// fail; BIO_ctrl_pending/wpending report sink->size(). nullptr if OpenSSL
// could not allocate it.
BIO* NewVectorBio(std::vector<std::uint8_t>* sink);

}  // namespace ardus::tls

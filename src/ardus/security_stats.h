// What the version 2 envelope refused, for reports and --json. Every count
// is a datagram dropped without any other effect on the session.
#pragma once

#include <cstdint>

namespace ardus {

struct SecurityStats {
  std::uint64_t tampered = 0;   // tag, signature or proof did not verify
  std::uint64_t replayed = 0;   // packet number already seen, or older than the window
  std::uint64_t plaintext = 0;  // version 1 datagrams refused (a protected session, or not allowed)
  std::uint64_t unkeyed = 0;    // protected under a key this side does not hold (yet)
  std::uint64_t malformed = 0;  // undecodable envelope
  std::uint64_t foreign = 0;    // another session, another receiver's key id, wrong direction
  std::uint64_t not_allowed = 0;     // sender: JOINs from identities outside --allow
  std::uint64_t conflicting = 0;     // sender: JOINs for a receiver id bound to another identity
  std::uint64_t over_limit = 0;      // sender: JOINs beyond max_receivers
  std::uint64_t untrusted = 0;       // receiver: ANNOUNCEs from identities outside --trust
  std::uint64_t key_infos = 0;       // sender: KEYINFOs sent / receiver: group key installed
  std::uint64_t confirmed = 0;       // sender: receivers that confirmed their key (not a refusal)
  std::uint64_t overhead_bytes = 0;  // bytes the envelope added to what this side sent

  std::uint64_t refused() const {
    return tampered + replayed + plaintext + unkeyed + malformed + foreign + not_allowed +
           conflicting + over_limit + untrusted;
  }
};

}  // namespace ardus

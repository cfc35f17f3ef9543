#include "support/service_harness.h"

namespace ardus::testing {

using auth::AuthPolicy;

services::Handled ServiceHarness::Raw(std::uint64_t owner, std::uint16_t method,
                                      std::vector<std::uint8_t> body) {
  rex::Frame f;
  f.kind = rex::Kind::kRequest;
  f.method = method;
  f.id = next_id_++;
  f.body = std::move(body);
  static const auto policy = AuthPolicy::Open();  // its anonymous identity is an admin
  const auth::Identity* open = &policy->anonymous();
  auto it = identities_.find(owner);
  return service_.Handle(now_, {owner, it == identities_.end() ? open : it->second}, f);
}

Status ServiceHarness::EndTurn() {
  Status s = service_.Commit();
  if (s.ok()) service_.TakePushes(*this);
  return s;
}

void ServiceHarness::Advance(std::int64_t ms) {
  now_ += ms;
  service_.Tick(now_);
}

Result<rex::BodyReader, rex::Error> ReplyBody(const services::Handled& h) {
  if (!h.reply.ok()) return h.reply.error();
  // The reply outlives the reader: Parse copies what it reads.
  return rex::BodyReader::Parse(h.reply.value());
}

}  // namespace ardus::testing

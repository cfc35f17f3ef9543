#include "services/service.h"

#include "rex/body.h"

namespace ardus::services {

Reply Acknowledge(const rex::Ack& a) {
  if (!a.ok()) return a.error();
  rex::BodyWriter w;
  w.Map(0);
  return w.Copy();
}

}  // namespace ardus::services

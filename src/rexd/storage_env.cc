#include "rexd/storage_env.h"

namespace ardus::rexd {

namespace {

class PlainEnv final : public StorageEnv {
 public:
  const char* vfs_name() const override { return nullptr; }
};

}  // namespace

const StorageEnv& StorageEnv::Plain() {
  static const PlainEnv env;
  return env;
}

}  // namespace ardus::rexd

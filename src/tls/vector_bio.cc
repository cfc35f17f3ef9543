#include "tls/vector_bio.h"

namespace ardus::tls {
namespace {

std::vector<std::uint8_t>* Sink(BIO* bio) {
  return static_cast<std::vector<std::uint8_t>*>(BIO_get_data(bio));
}

int Write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  auto* sink = Sink(bio);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(data);
  sink->insert(sink->end(), bytes, bytes + size);
  *written = size;
  return 1;
}

long Control(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
      return static_cast<long>(Sink(bio)->size());
    default:
      return 0;
  }
}

int Create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int Destroy(BIO*) { return 1; }  // the sink belongs to the session

BIO_METHOD* Method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ardus vector");
    if (m != nullptr) {
      BIO_meth_set_write_ex(m, Write);
      BIO_meth_set_ctrl(m, Control);
      BIO_meth_set_create(m, Create);
      BIO_meth_set_destroy(m, Destroy);
    }
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewVectorBio(std::vector<std::uint8_t>* sink) {
  BIO_METHOD* method = Method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio != nullptr) BIO_set_data(bio, sink);
  return bio;
}

}  // namespace ardus::tls

#include "rex/body.h"

#include <fmt/core.h>

namespace ardus::rex {

namespace {

// Bounds on what one body may declare, well above any legitimate request.
msgpack::unpack_limit Limits() {
  // Strings and binaries are bounded by the frame itself; the per-method
  // checks give the precise error (e.g. an event body over 1 MiB).
  return msgpack::unpack_limit(/*array=*/1 << 16, /*map=*/1 << 12, /*str=*/64 << 20,
                               /*bin=*/64 << 20, /*ext=*/0, /*depth=*/16);
}

bool Reference(msgpack::type::object_type, std::size_t, void*) { return true; }

}  // namespace

bool AsString(const msgpack::object& o, std::string* out) {
  if (o.type != msgpack::type::STR) return false;
  out->assign(o.via.str.ptr, o.via.str.size);
  return true;
}

Result<BodyReader, Error> BodyReader::Parse(std::span<const std::uint8_t> bytes) {
  return Unpack(bytes, nullptr);
}

Result<BodyReader, Error> BodyReader::ParseInPlace(std::span<const std::uint8_t> bytes) {
  return Unpack(bytes, Reference);
}

Result<BodyReader, Error> BodyReader::Unpack(std::span<const std::uint8_t> bytes,
                                             msgpack::unpack_reference_func reference) {
  BodyReader r;
  if (bytes.empty()) {
    static const msgpack::object_map kEmpty{0, nullptr};
    r.map_ = &kEmpty;
    return r;
  }
  try {
    std::size_t offset = 0;
    auto handle = std::make_shared<msgpack::object_handle>(
        msgpack::unpack(reinterpret_cast<const char*>(bytes.data()), bytes.size(), offset,
                        reference, nullptr, Limits()));
    if (offset != bytes.size()) return Fail(Code::kBadRequest, "bytes follow the body's map");
    if (handle->get().type != msgpack::type::MAP) {
      return Fail(Code::kBadRequest, "the body is not a MessagePack map");
    }
    r.handle_ = std::move(handle);
    r.map_ = &r.handle_->get().via.map;
    return r;
  } catch (const std::exception& e) {
    return Fail(Code::kBadRequest, fmt::format("the body is not valid MessagePack ({})", e.what()));
  }
}

Result<BodyReader, Error> BodyReader::View(const msgpack::object& o) {
  if (o.type != msgpack::type::MAP) return Fail(Code::kBadRequest, "a map was expected");
  BodyReader r;
  r.map_ = &o.via.map;
  return r;
}

const msgpack::object* BodyReader::Find(std::string_view key) const {
  for (std::uint32_t i = 0; i < map_->size; ++i) {
    const auto& kv = map_->ptr[i];
    if (kv.key.type == msgpack::type::STR &&
        std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
      return &kv.val;
    }
  }
  return nullptr;
}

Result<std::string, Error> BodyReader::String(std::string_view key) const {
  const msgpack::object* o = Find(key);
  std::string out;
  if (!o || !AsString(*o, &out)) {
    return Fail(Code::kBadRequest, fmt::format("'{}' must be a string", key));
  }
  return out;
}

Result<std::uint64_t, Error> BodyReader::Uint(std::string_view key) const {
  const msgpack::object* o = Find(key);
  if (!o || o->type != msgpack::type::POSITIVE_INTEGER) {
    return Fail(Code::kBadRequest, fmt::format("'{}' must be a non-negative integer", key));
  }
  return o->via.u64;
}

std::string BodyReader::StringOr(std::string_view key, std::string fallback) const {
  auto s = String(key);
  return s.ok() ? std::move(s).value() : fallback;
}

std::uint64_t BodyReader::UintOr(std::string_view key, std::uint64_t fallback) const {
  auto v = Uint(key);
  return v.ok() ? v.value() : fallback;
}

bool BodyReader::BoolOr(std::string_view key, bool fallback) const {
  const msgpack::object* o = Find(key);
  return o && o->type == msgpack::type::BOOLEAN ? o->via.boolean : fallback;
}

Result<std::vector<std::string>, Error> BodyReader::Strings(std::string_view key) const {
  std::vector<std::string> out;
  const msgpack::object* o = Find(key);
  if (!o || o->type == msgpack::type::NIL) return out;
  if (o->type != msgpack::type::ARRAY) {
    return Fail(Code::kBadRequest, fmt::format("'{}' must be an array of strings", key));
  }
  for (std::uint32_t i = 0; i < o->via.array.size; ++i) {
    std::string s;
    if (!AsString(o->via.array.ptr[i], &s)) {
      return Fail(Code::kBadRequest, fmt::format("'{}' must be an array of strings", key));
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::uint8_t> ErrorBody(const Error& e) {
  BodyWriter w;
  w.Map(3);
  w.Key("code").Uint(static_cast<std::uint16_t>(e.code));
  w.Key("name").Str(CodeName(e.code));
  w.Key("message").Str(e.message);
  auto b = w.bytes();
  return {b.begin(), b.end()};
}

Error ParseErrorBody(std::span<const std::uint8_t> body) {
  auto r = BodyReader::Parse(body);
  if (!r.ok()) return Fail(Code::kBadFrame, "malformed ERROR body");
  auto code = r.value().UintOr("code", static_cast<std::uint16_t>(Code::kInternal));
  return Error{static_cast<Code>(code), r.value().StringOr("message", "")};
}

}  // namespace ardus::rex

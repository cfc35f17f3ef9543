// Frame bodies: one MessagePack map per frame, read and written through these
// two helpers so that no msgpack exception or unchecked cast escapes.
//
// BodyReader parses with limits (element counts, depth, string sizes) and
// gives typed, optional access by key; a missing key or a wrong type is a
// kBadRequest error naming the key. BodyWriter builds a map incrementally.
//
// Thread-safety: one instance per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <msgpack.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rex/error_code.h"

namespace ardus::rex {

class BodyReader {
 public:
  // Errors: kBadRequest if the bytes are not exactly one MessagePack map
  // within the limits. An empty body reads as an empty map.
  static Result<BodyReader, Error> Parse(std::span<const std::uint8_t> bytes);
  // As Parse, but strings and binaries are not copied: they point into
  // `bytes`, which must outlive the reader and every object read from it.
  // For hot paths that copy what they keep (publishing events).
  static Result<BodyReader, Error> ParseInPlace(std::span<const std::uint8_t> bytes);
  // A reader over a map nested in another body; it must not outlive the
  // body it came from. Errors: kBadRequest if `o` is not a map.
  static Result<BodyReader, Error> View(const msgpack::object& o);

  // nullptr if absent.
  const msgpack::object* Find(std::string_view key) const;
  // The whole map as a msgpack object (valid while this reader lives).
  msgpack::object AsObject() const {
    msgpack::object o;
    o.type = msgpack::type::MAP;
    o.via.map = *map_;
    return o;
  }
  Result<std::string, Error> String(std::string_view key) const;
  Result<std::uint64_t, Error> Uint(std::string_view key) const;
  std::string StringOr(std::string_view key, std::string fallback) const;
  std::uint64_t UintOr(std::string_view key, std::uint64_t fallback) const;
  // As UintOr, saturated at UINT32_MAX (counts and limits held in 32 bits;
  // the engines bound them further).
  std::uint32_t Uint32Or(std::string_view key, std::uint32_t fallback) const {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(UintOr(key, fallback), UINT32_MAX));
  }
  bool BoolOr(std::string_view key, bool fallback) const;
  Result<std::vector<std::string>, Error> Strings(std::string_view key) const;  // absent: empty

 private:
  static Result<BodyReader, Error> Unpack(std::span<const std::uint8_t> bytes,
                                          msgpack::unpack_reference_func reference);
  std::shared_ptr<msgpack::object_handle> handle_;
  const msgpack::object_map* map_ = nullptr;
};

// Encodes `x` as a whole body (BodyWriter::Copy): each protocol's codecs
// define `void Encode(BodyWriter&, const T&)` beside their types (found by
// ADL).
template <class T>
std::vector<std::uint8_t> EncodeBody(const T& x);

// Reads a msgpack string object; false if `o` is not a string.
bool AsString(const msgpack::object& o, std::string* out);

// A msgpack output stream straight into a byte vector (no intermediate
// buffer, so a finished body can be moved out with Take()). The vector is
// kept sized to its capacity and `used` counts the written bytes, so a small
// write is one memcpy: msgpack writes a body a few bytes at a time, and
// vector::insert per piece cost a fifth of rexd's time per event.
struct ByteSink {
  std::vector<std::uint8_t> bytes;
  std::size_t used = 0;
  void write(const char* p, std::size_t n) {
    if (bytes.size() - used < n) bytes.resize(std::max(2 * bytes.size(), used + n));
    std::memcpy(bytes.data() + used, p, n);
    used += n;
  }
};

class BodyWriter {
 public:
  BodyWriter() { sink_.bytes.resize(256); }
  // Starts a map of `entries` key/value pairs (the caller then writes them).
  BodyWriter& Map(std::uint32_t entries) {
    P().pack_map(entries);
    return *this;
  }
  BodyWriter& Array(std::uint32_t n) {
    P().pack_array(n);
    return *this;
  }
  BodyWriter& Key(std::string_view k) { return Str(k); }
  BodyWriter& Str(std::string_view s) {
    P().pack_str(static_cast<std::uint32_t>(s.size()));
    P().pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
    return *this;
  }
  BodyWriter& Uint(std::uint64_t v) {
    P().pack_uint64(v);
    return *this;
  }
  BodyWriter& Int(std::int64_t v) {
    P().pack_int64(v);
    return *this;
  }
  BodyWriter& Double(double v) {
    P().pack_double(v);
    return *this;
  }
  BodyWriter& Bool(bool v) {
    v ? P().pack_true() : P().pack_false();
    return *this;
  }
  BodyWriter& Bin(std::span<const std::uint8_t> b) {
    P().pack_bin(static_cast<std::uint32_t>(b.size()));
    P().pack_bin_body(reinterpret_cast<const char*>(b.data()),
                      static_cast<std::uint32_t>(b.size()));
    return *this;
  }
  // Appends bytes that already are one encoded MessagePack object.
  BodyWriter& Raw(std::span<const std::uint8_t> encoded) {
    sink_.write(reinterpret_cast<const char*>(encoded.data()), encoded.size());
    return *this;
  }
  BodyWriter& Nil() {
    P().pack_nil();
    return *this;
  }
  std::span<const std::uint8_t> bytes() const { return {sink_.bytes.data(), sink_.used}; }
  // A copy of the encoded body, sized to fit. Replies wait in rexd for the
  // turn's commit: a copy keeps the writer's spare capacity out of them and
  // lets the allocator reuse the writer's buffer (Take is slower there).
  std::vector<std::uint8_t> Copy() const { return {bytes().begin(), bytes().end()}; }
  // Moves the encoded body out; the writer is empty afterwards.
  std::vector<std::uint8_t> Take() {
    sink_.bytes.resize(sink_.used);
    sink_.used = 0;
    return std::move(sink_.bytes);
  }

 private:
  // A packer is one pointer; making one per call keeps BodyWriter movable.
  msgpack::packer<ByteSink> P() { return msgpack::packer<ByteSink>(sink_); }
  ByteSink sink_;
};

template <class T>
std::vector<std::uint8_t> EncodeBody(const T& x) {
  BodyWriter w;
  Encode(w, x);
  return w.Copy();
}

// The body of an ERROR frame: {code, name, message}.
std::vector<std::uint8_t> ErrorBody(const Error& e);
// Reads an ERROR body back (for clients); a malformed one becomes kBadFrame.
Error ParseErrorBody(std::span<const std::uint8_t> body);

}  // namespace ardus::rex

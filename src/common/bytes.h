// Big-endian (network order) byte writer and bounds-checked reader.
//
// ByteReader never reads past its span: every getter returns false once the
// input is exhausted and leaves the reader "failed", so a decoder can read a
// whole message and check ok() once at the end. ByteWriter appends to a
// caller-owned fixed buffer and records overflow the same way.
//
// Thread-safety: none; one instance per thread. Both hold non-owning views:
// the underlying buffer must outlive them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace ardus {

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}

  bool u8(std::uint8_t* v) { return Get(v, 1); }
  bool u16(std::uint16_t* v) { return Get(v, 2); }
  bool u32(std::uint32_t* v) { return Get(v, 4); }
  bool u64(std::uint64_t* v) { return Get(v, 8); }
  bool i64(std::int64_t* v) {
    std::uint64_t u;
    if (!u64(&u)) return false;
    *v = static_cast<std::int64_t>(u);
    return true;
  }
  // A view of the next n bytes; valid while the input buffer lives.
  bool bytes(std::size_t n, std::span<const std::uint8_t>* out) {
    if (!Need(n)) return false;
    *out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool copy(void* dst, std::size_t n) {
    std::span<const std::uint8_t> s;
    if (!bytes(n, &s)) return false;
    std::memcpy(dst, s.data(), n);
    return true;
  }

  std::size_t remaining() const { return failed_ ? 0 : in_.size() - pos_; }
  std::span<const std::uint8_t> rest() const { return in_.subspan(failed_ ? in_.size() : pos_); }
  bool ok() const { return !failed_; }

 private:
  bool Need(std::size_t n) {
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  template <typename T>
  bool Get(T* v, std::size_t n) {
    if (!Need(n)) return false;
    std::uint64_t acc = 0;
    for (std::size_t i = 0; i < n; ++i) acc = (acc << 8) | in_[pos_ + i];
    pos_ += n;
    *v = static_cast<T>(acc);
    return true;
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::span<std::uint8_t> out) : out_(out) {}

  void u8(std::uint64_t v) { Put(v, 1); }
  void u16(std::uint64_t v) { Put(v, 2); }
  void u32(std::uint64_t v) { Put(v, 4); }
  void u64(std::uint64_t v) { Put(v, 8); }
  void bytes(std::span<const std::uint8_t> b) {
    if (!Need(b.size())) return;
    if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
    pos_ += b.size();
  }
  void bytes(std::string_view s) {
    bytes({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }

  std::size_t size() const { return pos_; }
  // False when a write did not fit; the output is then unusable.
  bool ok() const { return !failed_; }

 private:
  bool Need(std::size_t n) {
    if (failed_ || out_.size() - pos_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  void Put(std::uint64_t v, std::size_t n) {
    if (!Need(n)) return;
    for (std::size_t i = 0; i < n; ++i)
      out_[pos_ + i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
    pos_ += n;
  }

  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace ardus

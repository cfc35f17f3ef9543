// PagedBuffer: a byte range of announced size whose memory is allocated a
// page at a time, as bytes are written. The receiver assembles the manifest
// in one: a peer that announces a 256 MiB manifest and sends little of it
// costs what it sent, not what it announced.
//
// Thread-safety: none (a value).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

namespace ardus {

class PagedBuffer {
 public:
  static constexpr std::size_t kPageBytes = 64 << 10;

  PagedBuffer() = default;
  explicit PagedBuffer(std::uint64_t size) : size_(size) {}

  std::uint64_t size() const { return size_; }
  std::size_t allocated() const { return pages_.size() * kPageBytes; }

  // Precondition: offset + data.size() <= size().
  void Write(std::uint64_t offset, std::span<const std::uint8_t> data) {
    while (!data.empty()) {
      std::vector<std::uint8_t>& page = pages_[offset / kPageBytes];
      if (page.empty()) page.resize(kPageBytes);
      const std::size_t at = offset % kPageBytes, n = std::min(data.size(), kPageBytes - at);
      std::copy_n(data.begin(), n, page.begin() + static_cast<std::ptrdiff_t>(at));
      data = data.subspan(n);
      offset += n;
    }
  }

  // Bytes never written read as zeros. Precondition: in range, as Write.
  void Read(std::uint64_t offset, std::span<std::uint8_t> out) const {
    while (!out.empty()) {
      auto page = pages_.find(offset / kPageBytes);
      const std::size_t at = offset % kPageBytes, n = std::min(out.size(), kPageBytes - at);
      if (page == pages_.end()) {
        std::fill_n(out.begin(), n, 0);
      } else {
        std::copy_n(page->second.begin() + static_cast<std::ptrdiff_t>(at), n, out.begin());
      }
      out = out.subspan(n);
      offset += n;
    }
  }

  // The whole range, contiguous; each page is freed once copied, and the
  // result's memory is touched only as it fills, so resident memory stays
  // about size() throughout. Leaves the buffer empty.
  std::vector<std::uint8_t> Take() {
    std::vector<std::uint8_t> out;
    out.reserve(static_cast<std::size_t>(size_));
    for (auto it = pages_.begin(); it != pages_.end(); it = pages_.erase(it)) {
      const std::uint64_t at = it->first * kPageBytes;
      out.resize(static_cast<std::size_t>(at), 0);  // pages never written: zeros
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kPageBytes, size_ - at));
      out.insert(out.end(), it->second.begin(),
                 it->second.begin() + static_cast<std::ptrdiff_t>(n));
    }
    out.resize(static_cast<std::size_t>(size_), 0);
    size_ = 0;
    return out;
  }

 private:
  std::uint64_t size_ = 0;
  std::map<std::uint64_t, std::vector<std::uint8_t>> pages_;  // by page index
};

}  // namespace ardus

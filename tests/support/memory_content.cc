#include "support/memory_content.h"

#include <algorithm>

namespace ardus::testing {

namespace {
// A cheap mix of the 8-byte word index so every 8-byte word differs.
std::uint64_t PatternWord(std::uint32_t entry, std::uint64_t word) {
  std::uint64_t x = word * 0x9E3779B97F4A7C15ull + entry * 0xC2B2AE3D27D4EB4Full;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 32);
}
void FillPattern(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    std::uint64_t pos = offset + i, w = PatternWord(entry, pos >> 3);
    for (unsigned b = pos & 7; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<std::uint8_t>(w >> (8 * b));
    }
  }
}
}  // namespace

std::uint8_t PatternByte(std::uint32_t entry, std::uint64_t offset) {
  return static_cast<std::uint8_t>(PatternWord(entry, offset >> 3) >> (8 * (offset & 7)));
}

Status PatternSource::Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) {
  FillPattern(entry, offset, out);
  return Status::Ok();
}

Manifest PatternManifest(const std::vector<std::uint64_t>& sizes) {
  Manifest m;
  PatternSource source;
  std::vector<std::uint8_t> buf(1 << 20);
  for (std::uint32_t i = 0; i < sizes.size(); ++i) {
    ManifestEntry e;
    e.path = "f" + std::to_string(i);
    e.size = sizes[i];
    e.mtime_ns = 1'700'000'000'000'000'000 + i;
    ContentHasher h(m.digest);
    for (std::uint64_t off = 0; off < e.size; off += buf.size()) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), e.size - off));
      (void)source.Read(i, off, {buf.data(), n});
      h.Update({buf.data(), n});
    }
    e.digest = h.Finish();
    m.entries.push_back(e);
  }
  return m;
}

Status MemoryStore::Begin(const Manifest& manifest) {
  manifest_ = manifest;
  for (std::uint32_t i = 0; i < manifest.entries.size(); ++i) {
    if (manifest.entries[i].type == EntryType::kFile) files_[i].assign(manifest.entries[i].size, 0);
  }
  return Status::Ok();
}

Status MemoryStore::Write(std::uint32_t entry, std::uint64_t offset,
                          std::span<const std::uint8_t> data) {
  auto& f = files_.at(entry);
  if (offset + data.size() > f.size()) return Status::Error(ErrorKind::kInternal, "write past end");
  std::copy(data.begin(), data.end(), f.begin() + static_cast<std::ptrdiff_t>(offset));
  Order& order = order_[entry];
  if (offset != order.prefix) {
    ++out_of_order_writes_;
    order.ahead[offset] = offset + data.size();
    return Status::Ok();
  }
  order.prefix += data.size();
  for (auto it = order.ahead.begin(); it != order.ahead.end() && it->first <= order.prefix;) {
    order.prefix = std::max(order.prefix, it->second);
    it = order.ahead.erase(it);
  }
  return Status::Ok();
}

Status MemoryStore::Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) {
  ++reads_;
  auto& f = files_.at(entry);
  if (offset + out.size() > f.size()) return Status::Error(ErrorKind::kInternal, "read past end");
  std::copy_n(f.begin() + static_cast<std::ptrdiff_t>(offset), out.size(), out.begin());
  return Status::Ok();
}

Status MemoryStore::Commit(std::uint32_t entry) {
  if (ComputeDigest(manifest_.digest, files_.at(entry)) != manifest_.entries[entry].digest) {
    return Status::Error(ErrorKind::kIntegrity,
                         "digest mismatch for " + manifest_.entries[entry].path);
  }
  ++committed_;
  return Status::Ok();
}

Status MemoryStore::Finish() {
  finished_ = true;
  return Status::Ok();
}

Status CheckingStore::Begin(const Manifest& manifest) {
  manifest_ = manifest;
  return Status::Ok();
}

Status CheckingStore::Write(std::uint32_t entry, std::uint64_t offset,
                            std::span<const std::uint8_t> data) {
  expected_.resize(data.size());
  FillPattern(entry, offset, expected_);
  if (!std::equal(data.begin(), data.end(), expected_.begin())) {
    return Status::Error(ErrorKind::kIntegrity, "wrong bytes at offset " + std::to_string(offset));
  }
  auto& runs = written_[entry];
  std::uint64_t begin = offset, end = offset + data.size();
  auto after = runs.upper_bound(begin);
  if ((after != runs.end() && after->first < end) ||
      (after != runs.begin() && std::prev(after)->second > begin)) {
    return Status::Error(ErrorKind::kInternal,
                         "bytes at offset " + std::to_string(offset) + " written twice");
  }
  // Merge with overlapping or touching runs.
  auto it = runs.upper_bound(begin);
  if (it != runs.begin() && std::prev(it)->second >= begin) --it;
  while (it != runs.end() && it->first <= end) {
    begin = std::min(begin, it->first);
    end = std::max(end, it->second);
    it = runs.erase(it);
  }
  runs[begin] = end;
  return Status::Ok();
}

Status CheckingStore::Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) {
  FillPattern(entry, offset, out);  // only correctly written bytes exist here
  return Status::Ok();
}

Status CheckingStore::Commit(std::uint32_t entry) {
  const auto& runs = written_[entry];
  std::uint64_t size = manifest_.entries[entry].size;
  bool covered = runs.size() == 1 && runs.begin()->first == 0 && runs.begin()->second == size;
  if (!covered) return Status::Error(ErrorKind::kIntegrity, "entry not fully written");
  return Status::Ok();
}

}  // namespace ardus::testing

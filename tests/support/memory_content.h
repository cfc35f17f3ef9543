// In-memory and synthetic content for tests and the simulator.
//
// PatternSource produces deterministic pseudo-random bytes from (entry,
// offset) without storing them, so a file larger than 4 GiB costs no memory.
// MemoryStore keeps written files in memory; CheckingStore verifies every
// write against a PatternSource and keeps only coverage, for huge files.
// FailingStore wraps another store and injects an error on the Nth write.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "ardus/manifest.h"
#include "ardus/store.h"

namespace ardus::testing {

std::uint8_t PatternByte(std::uint32_t entry, std::uint64_t offset);

class PatternSource final : public ContentSource {
 public:
  Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) override;
};

// A manifest of files with the given sizes and PatternSource content
// (named "f0", "f1", ...; SHA-256s computed by streaming the pattern).
Manifest PatternManifest(const std::vector<std::uint64_t>& sizes);

class MemoryStore final : public ContentStore {
 public:
  Status Begin(const Manifest& manifest) override;
  Status Write(std::uint32_t entry, std::uint64_t offset,
               std::span<const std::uint8_t> data) override;
  Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) override;
  Status Commit(std::uint32_t entry) override;
  Status Finish() override;
  void Abort() override { aborted_ = true; }

  bool finished() const { return finished_; }
  bool aborted() const { return aborted_; }
  const std::vector<std::uint8_t>& file(std::uint32_t entry) const { return files_.at(entry); }
  std::size_t committed() const { return committed_; }
  std::size_t reads() const { return reads_; }
  // Writes that did not start where the file's written prefix ended.
  std::size_t out_of_order_writes() const { return out_of_order_writes_; }

 private:
  struct Order {
    std::uint64_t prefix = 0;                      // bytes [0, prefix) written
    std::map<std::uint64_t, std::uint64_t> ahead;  // written beyond it: offset -> end
  };
  Manifest manifest_;
  std::map<std::uint32_t, std::vector<std::uint8_t>> files_;
  std::map<std::uint32_t, Order> order_;
  std::size_t committed_ = 0, reads_ = 0, out_of_order_writes_ = 0;
  bool finished_ = false, aborted_ = false;
};

// Stores nothing: checks each write against PatternByte, refuses a byte
// written twice (the ContentStore contract) and counts coverage.
// Commit succeeds only if every byte of the entry was written correctly.
class CheckingStore final : public ContentStore {
 public:
  Status Begin(const Manifest& manifest) override;
  Status Write(std::uint32_t entry, std::uint64_t offset,
               std::span<const std::uint8_t> data) override;
  Status Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) override;
  Status Commit(std::uint32_t entry) override;
  Status Finish() override {
    finished_ = true;
    return Status::Ok();
  }
  void Abort() override {}
  bool finished() const { return finished_; }

 private:
  Manifest manifest_;
  std::map<std::uint32_t, std::map<std::uint64_t, std::uint64_t>> written_;  // offset -> end
  std::vector<std::uint8_t> expected_;
  bool finished_ = false;
};

// Fails every write once `capacity` bytes have been written, like a full disk.
class FailingStore final : public ContentStore {
 public:
  FailingStore(ContentStore& inner, std::size_t capacity, Status error)
      : inner_(inner), capacity_(capacity), error_(std::move(error)) {}
  Status Begin(const Manifest& m) override { return inner_.Begin(m); }
  Status Write(std::uint32_t entry, std::uint64_t offset,
               std::span<const std::uint8_t> data) override {
    if (written_ + data.size() > capacity_) return error_;
    written_ += data.size();
    return inner_.Write(entry, offset, data);
  }
  Status Read(std::uint32_t e, std::uint64_t o, std::span<std::uint8_t> out) override {
    return inner_.Read(e, o, out);
  }
  Status Commit(std::uint32_t e) override { return inner_.Commit(e); }
  Status Finish() override { return inner_.Finish(); }
  void Abort() override {
    aborted_ = true;
    inner_.Abort();
  }
  bool aborted() const { return aborted_; }

 private:
  ContentStore& inner_;
  std::size_t capacity_, written_ = 0;
  Status error_;
  bool aborted_ = false;
};

}  // namespace ardus::testing

#include "ardus/fs_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace ardus {
namespace {

constexpr std::size_t kCoalesceBytes = 1 << 20, kDirectWriteBytes = 64 << 10;

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

// Best effort, as cp -p: a filesystem that refuses modes or times still
// holds the verified content.
void ApplyModeAndTime(int fd, const ManifestEntry& e) {
  fchmod(fd, e.mode & 07777);
  timespec times[2] = {{0, UTIME_OMIT}, {e.mtime_ns / 1'000'000'000, e.mtime_ns % 1'000'000'000}};
  futimens(fd, times);
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

Result<std::unique_ptr<FsStore>> FsStore::Open(const std::string& dir, std::uint32_t session_id) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error(ErrorKind::kLocalIo,
                         "cannot open destination directory '" + dir + "': " + strerror(errno));
  }
  return std::unique_ptr<FsStore>(new FsStore(fd, dir, session_id));
}

FsStore::FsStore(int root_fd, std::string dir, std::uint32_t session_id)
    : root_fd_(root_fd), dir_(std::move(dir)), session_id_(session_id) {}

FsStore::~FsStore() {
  Abort();
  close(root_fd_);
}

Status FsStore::IoError(const std::string& what, const std::string& path, int err) const {
  ErrorKind kind = (err == ENOSPC || err == EDQUOT) ? ErrorKind::kNoSpace : ErrorKind::kLocalIo;
  if (err == ELOOP || err == ENOTDIR) kind = ErrorKind::kUnsafePath;
  std::string why = strerror(err);
  if (kind == ErrorKind::kUnsafePath) why = "a component is a symlink or not a directory";
  return Status::Error(kind, what + " '" + dir_ + "/" + path + "': " + why);
}

// Walks `relative` from the root one component at a time, refusing symlinks.
Result<int> FsStore::OpenDir(const std::string& relative, bool create) {
  int fd = dup(root_fd_);
  std::size_t start = 0;
  while (start < relative.size()) {
    std::size_t slash = relative.find('/', start);
    std::string part = relative.substr(start, slash == std::string::npos ? slash : slash - start);
    int next = openat(fd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (mkdirat(fd, part.c_str(), 0755) != 0 && errno != EEXIST) {
        int err = errno;
        close(fd);
        return IoError("cannot create directory", relative, err);
      }
      next = openat(fd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    int err = errno;
    close(fd);
    if (next < 0) return IoError("cannot open directory", relative, err);
    fd = next;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return fd;
}

Status FsStore::Begin(const Manifest& manifest) {
  manifest_ = manifest;
  items_.clear();
  items_.resize(manifest.entries.size());
  struct statvfs vfs;
  if (fstatvfs(root_fd_, &vfs) == 0) {
    std::uint64_t avail = std::uint64_t{vfs.f_bavail} * vfs.f_frsize;
    if (manifest.total_bytes() > avail) {
      return Status::Error(ErrorKind::kNoSpace, "destination '" + dir_ + "' has " +
                                                    std::to_string(avail) +
                                                    " bytes free, session needs " +
                                                    std::to_string(manifest.total_bytes()));
    }
  }
  for (std::size_t i = 0; i < manifest.entries.size(); ++i) {
    const ManifestEntry& e = manifest.entries[i];
    if (Status s = ValidateRelativePath(e.path); !s.ok()) return s;
    Item& item = items_[i];
    if (e.type == EntryType::kDirectory) {
      Result<int> fd = OpenDir(e.path, true);
      if (!fd.ok()) return fd.status();
      close(fd.value());
      continue;
    }
    std::tie(item.parent, item.name) = SplitParent(e.path);
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".ardus-%08x.part", session_id_);
    item.temp = "." + item.name.substr(0, 200) + suffix;
    Result<int> parent = OpenDir(item.parent, true);
    if (!parent.ok()) return parent.status();
    close(parent.value());
  }
  return Status::Ok();
}

Result<int> FsStore::OpenTemp(std::uint32_t entry) {
  Item& item = items_[entry];
  if (item.fd >= 0) return item.fd;
  Result<int> parent = OpenDir(item.parent, false);
  if (!parent.ok()) return parent.status();
  FdCloser closer{parent.value()};
  int flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC;
  if (!item.created) {
    unlinkat(parent.value(), item.temp.c_str(), 0);  // a stale leftover of a crashed run
    flags |= O_CREAT | O_EXCL;
  }
  int fd = openat(parent.value(), item.temp.c_str(), flags, 0600);
  const std::string shown = item.parent.empty() ? item.temp : item.parent + "/" + item.temp;
  if (fd < 0) return IoError("cannot create", shown, errno);
  if (!item.created) {
    item.created = true;
    std::uint64_t size = manifest_.entries[entry].size;
    if (size > 0) {
      int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
      if (err == ENOSPC || err == EDQUOT) {
        close(fd);
        return IoError("cannot preallocate", shown, err);
      }  // other errors (EOPNOTSUPP): writes will allocate
    }
  }
  // Reads here only ever fetch bytes just written, still in the page cache;
  // readahead would only zero-fill preallocated pages not yet written.
  posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
  item.fd = fd;
  return fd;
}

Status FsStore::WriteAt(std::uint32_t entry, std::uint64_t offset,
                        std::span<const std::uint8_t> data) {
  Result<int> fd = OpenTemp(entry);
  if (!fd.ok()) return fd.status();
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pwrite(fd.value(), data.data() + done, data.size() - done,
                       static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot write", manifest_.entries[entry].path, errno);
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status FsStore::Flush() {
  if (pending_.empty()) return Status::Ok();
  Status s = WriteAt(pending_entry_, pending_offset_, pending_);
  pending_.clear();
  return s;
}

Status FsStore::Write(std::uint32_t entry, std::uint64_t offset,
                      std::span<const std::uint8_t> data) {
  Item& item = items_[entry];
  if (offset == item.hashed) {  // in order: hash now rather than read back later
    if (!item.hasher) item.hasher = std::make_unique<ContentHasher>(manifest_.digest);
    item.hasher->Update(data);
    item.hashed += data.size();
  }
  bool contiguous = !pending_.empty() && entry == pending_entry_ &&
                    offset == pending_offset_ + pending_.size() &&
                    pending_.size() + data.size() <= kCoalesceBytes;
  if (!contiguous) {
    if (Status s = Flush(); !s.ok()) return s;
    // Large enough on its own: copying it into the pending run would cost
    // more than the write call it saves.
    if (data.size() >= kDirectWriteBytes) return WriteAt(entry, offset, data);
    pending_entry_ = entry;
    pending_offset_ = offset;
  }
  pending_.insert(pending_.end(), data.begin(), data.end());
  return Status::Ok();
}

Status FsStore::Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) {
  if (!pending_.empty() && pending_entry_ == entry) {
    if (Status s = Flush(); !s.ok()) return s;
  }
  Result<int> fd = OpenTemp(entry);
  if (!fd.ok()) return fd.status();
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        pread(fd.value(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read back", manifest_.entries[entry].path, errno);
    if (n == 0) {  // never written (sparse): zeros
      std::fill(out.begin() + static_cast<std::ptrdiff_t>(done), out.end(), 0);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status FsStore::HashUpTo(std::uint32_t entry, std::uint64_t upto) {
  Item& item = items_[entry];
  if (!item.hasher) item.hasher = std::make_unique<ContentHasher>(manifest_.digest);
  if (upto <= item.hashed) return Status::Ok();
  if (!pending_.empty() && pending_entry_ == entry) {
    if (Status s = Flush(); !s.ok()) return s;
  }
  Result<int> fd = OpenTemp(entry);
  if (!fd.ok()) return fd.status();
  std::vector<std::uint8_t> buf(std::min<std::uint64_t>(kCoalesceBytes, upto - item.hashed));
  while (item.hashed < upto) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), upto - item.hashed));
    ssize_t n = pread(fd.value(), buf.data(), want, static_cast<off_t>(item.hashed));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot verify", manifest_.entries[entry].path, n < 0 ? errno : EIO);
    item.hasher->Update({buf.data(), static_cast<std::size_t>(n)});
    item.hashed += static_cast<std::uint64_t>(n);
  }
  return Status::Ok();
}

Status FsStore::Settle(std::uint32_t entry, std::uint64_t upto) {
  // Hash in steps of at least 4 MiB: fewer, larger reads of fresh page cache.
  if (upto < items_[entry].hashed + (4u << 20) && upto < manifest_.entries[entry].size) {
    return Status::Ok();
  }
  return HashUpTo(entry, upto);
}

Status FsStore::Commit(std::uint32_t entry) {
  if (!pending_.empty() && pending_entry_ == entry) {
    if (Status s = Flush(); !s.ok()) return s;
  }
  const ManifestEntry& e = manifest_.entries[entry];
  Result<int> fd = OpenTemp(entry);
  if (!fd.ok()) return fd.status();
  Item& item = items_[entry];

  if (Status h = HashUpTo(entry, e.size); !h.ok()) return h;
  if (item.hasher->Finish() != e.digest) {
    return Status::Error(ErrorKind::kIntegrity, "'" + e.path + "' does not match its " +
                                                    DigestName(manifest_.digest) +
                                                    " digest; not published");
  }
  if (ftruncate(fd.value(), static_cast<off_t>(e.size)) != 0)
    return IoError("cannot size", e.path, errno);
  ApplyModeAndTime(fd.value(), e);
  close(item.fd);
  item.fd = -1;

  Result<int> parent = OpenDir(item.parent, false);
  if (!parent.ok()) return parent.status();
  FdCloser closer{parent.value()};
  if (renameat(parent.value(), item.temp.c_str(), parent.value(), item.name.c_str()) != 0) {
    return IoError("cannot publish", e.path, errno);
  }
  item.committed = true;
  return Status::Ok();
}

Status FsStore::Finish() {
  if (Status s = Flush(); !s.ok()) return s;
  // Directory times last, deepest first: publishing files changes them.
  for (std::size_t i = manifest_.entries.size(); i-- > 0;) {
    const ManifestEntry& e = manifest_.entries[i];
    if (e.type != EntryType::kDirectory) continue;
    Result<int> fd = OpenDir(e.path, false);
    if (!fd.ok()) return fd.status();
    FdCloser closer{fd.value()};
    ApplyModeAndTime(fd.value(), e);
  }
  return Status::Ok();
}

void FsStore::Abort() {
  pending_.clear();
  for (Item& item : items_) {
    if (item.fd >= 0) {
      close(item.fd);
      item.fd = -1;
    }
    if (item.created && !item.committed) {
      Result<int> parent = OpenDir(item.parent, false);
      if (parent.ok()) {
        unlinkat(parent.value(), item.temp.c_str(), 0);
        close(parent.value());
      }
      item.created = false;
    }
  }
}

}  // namespace ardus

#include "io/fs_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

namespace ardus {
namespace {

constexpr std::size_t kCoalesceBytes = 1 << 20, kDirectWriteBytes = 64 << 10;
constexpr const char* kJournalHeader = "ardus-store 1\n";
constexpr const char* kTempRecord = "part ";
constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string Hex8(std::uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// Best effort, as cp -p: a filesystem that refuses modes or times still
// holds the verified content.
void ApplyModeAndTime(int fd, const ManifestEntry& e, bool keep_special_bits) {
  fchmod(fd, e.mode & (keep_special_bits ? 07777 : 0777));
  timespec times[2] = {{0, UTIME_OMIT}, {e.mtime_ns / 1'000'000'000, e.mtime_ns % 1'000'000'000}};
  futimens(fd, times);
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) close(fd);
  }
};

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// The nonce of a journal name ".ardus-XXXXXXXX.lock", or nullopt.
std::optional<std::string> JournalNonce(const std::string& name) {
  const std::string prefix(kReservedPrefix), suffix = ".lock";
  if (name.size() != prefix.size() + 8 + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return std::nullopt;
  }
  std::string nonce = name.substr(prefix.size(), 8);
  if (nonce.find_first_not_of("0123456789abcdef") != std::string::npos) return std::nullopt;
  return nonce;
}

// Whether `name` is a temporary name of the store with this nonce.
bool IsTempOf(const std::string& name, const std::string& nonce) {
  const std::string prefix = std::string(kReservedPrefix) + nonce + "-", suffix = ".part";
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return false;
  }
  const std::string index = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  return index.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

struct FsStore::Directory {
  int fd = -1;
  struct stat st {};
  ~Directory() {
    if (fd >= 0) close(fd);
  }
};

Result<std::unique_ptr<FsStore>> FsStore::Open(const std::string& dir, std::uint32_t nonce,
                                               FsStoreOptions options) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error(ErrorKind::kLocalIo,
                         "cannot open destination directory '" + dir + "': " + strerror(errno));
  }
  std::unique_ptr<FsStore> store(new FsStore(fd, dir, nonce, options));
  store->RemoveLeftovers();
  return store;
}

FsStore::FsStore(int root_fd, std::string dir, std::uint32_t nonce, FsStoreOptions options)
    : root_fd_(root_fd), dir_(std::move(dir)), nonce_(nonce), options_(options) {}

FsStore::~FsStore() {
  Abort();
  if (journal_fd_ >= 0) close(journal_fd_);  // a journal still there lists what is left
  close(root_fd_);
}

std::string FsStore::journal_name() const {
  return std::string(kReservedPrefix) + Hex8(nonce_) + ".lock";
}

std::string FsStore::temp_name(std::uint32_t entry) const {
  return std::string(kReservedPrefix) + Hex8(nonce_) + "-" + std::to_string(entry) + ".part";
}

Status FsStore::IoError(const std::string& what, const std::string& path, int err) const {
  ErrorKind kind = (err == ENOSPC || err == EDQUOT) ? ErrorKind::kNoSpace : ErrorKind::kLocalIo;
  if (err == ELOOP || err == ENOTDIR || err == EXDEV) kind = ErrorKind::kUnsafePath;
  std::string why = strerror(err);
  if (kind == ErrorKind::kUnsafePath) why = "a component is a symlink or not a directory";
  return Status::Error(kind, what + " '" + dir_ + "/" + path + "': " + why);
}

// An open chain of directories from the root, kept from one lookup to the
// next: a path reuses the leading directories it shares with the previous
// one, so paths visited in component order open each directory once.
// Components are opened with O_NOFOLLOW: a symlink or a file on the way is
// refused, never followed.
class FsStore::Walk {
 public:
  explicit Walk(FsStore* store) : store_(store) {}
  ~Walk() { Keep(0); }
  Walk(const Walk&) = delete;
  Walk& operator=(const Walk&) = delete;

  // The directory `relative` ("" is the root), creating what is missing if
  // `create` (recorded in created_dirs_). The descriptor stays the walk's.
  Result<int> To(const std::string& relative, bool create);
  // The descriptor To() returned, now the caller's to close.
  int Release();

 private:
  struct Level {
    std::size_t end;  // path_[0, end) is open as fd
    int fd;
  };
  void Keep(std::size_t levels) {
    while (levels_.size() > levels) {
      close(levels_.back().fd);
      levels_.pop_back();
    }
  }
  Result<int> Step(int at, const std::string& relative, std::size_t start, std::size_t end,
                   bool create);

  FsStore* store_;
  std::string path_;
  std::vector<Level> levels_;
};

Result<int> FsStore::Walk::To(const std::string& relative, bool create) {
  const std::size_t n = std::min(path_.size(), relative.size());
  std::size_t common = 0;
  while (common < n && path_[common] == relative[common]) ++common;
  std::size_t keep = 0;  // levels that are whole leading components of `relative`
  while (keep < levels_.size() && levels_[keep].end <= common &&
         (levels_[keep].end == relative.size() || relative[levels_[keep].end] == '/')) {
    ++keep;
  }
  Keep(keep);
  path_ = relative;
  std::size_t start = levels_.empty() ? 0 : levels_.back().end + 1;
  while (start < relative.size()) {
    const std::size_t slash = relative.find('/', start);
    const std::size_t end = slash == std::string::npos ? relative.size() : slash;
    const int at = levels_.empty() ? store_->root_fd_ : levels_.back().fd;
    Result<int> next = Step(at, relative, start, end, create);
    if (!next.ok()) return next.status();
    levels_.push_back({end, next.value()});
    start = end + 1;
  }
  return levels_.empty() ? store_->root_fd_ : levels_.back().fd;
}

// Opens component relative[start, end) in `at`, creating it if asked.
Result<int> FsStore::Walk::Step(int at, const std::string& relative, std::size_t start,
                                std::size_t end, bool create) {
  const std::string part = relative.substr(start, end - start);
  ++store_->directory_lookups_;
  int fd = openat(at, part.c_str(), kDirFlags);
  if (fd >= 0 || errno != ENOENT || !create) {
    if (fd < 0) return store_->IoError("cannot open directory", relative, errno);
    return fd;
  }
  store_->directory_lookups_ += 2;
  const bool made = mkdirat(at, part.c_str(), 0755) == 0;
  if (!made && errno != EEXIST) return store_->IoError("cannot create directory", relative, errno);
  fd = openat(at, part.c_str(), kDirFlags);
  if (fd < 0) return store_->IoError("cannot open directory", relative, errno);
  struct stat st;
  if (made && fstat(fd, &st) == 0) {
    store_->created_dirs_.push_back({relative.substr(0, end), st.st_dev, st.st_ino});
  }
  return fd;
}

int FsStore::Walk::Release() {
  if (levels_.empty()) return dup(store_->root_fd_);
  const int fd = levels_.back().fd;
  levels_.pop_back();
  path_.resize(levels_.empty() ? 0 : levels_.back().end);
  return fd;
}

// `relative` by name from the root, without following symlinks: one
// openat2(2) where the kernel has it, else a walk.
Result<int> FsStore::OpenDir(const std::string& relative) {
  if (!relative.empty() && openat2_ && options_.resolve_in_kernel) {
    open_how how{};
    how.flags = kDirFlags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    ++directory_lookups_;
    const long fd = syscall(SYS_openat2, root_fd_, relative.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == ENOSYS || errno == EPERM) {
      openat2_ = false;            // an older kernel, or a seccomp filter: walk from now on
    } else if (errno != EAGAIN) {  // EAGAIN: a rename raced the lookup; walk this once
      return IoError("cannot open directory", relative, errno);
    }
  }
  Walk walk(this);
  Result<int> fd = walk.To(relative, false);
  if (!fd.ok()) return fd.status();
  const int own = walk.Release();
  if (own < 0) return IoError("cannot open directory", relative, errno);
  return own;
}

// The directory `relative`, open for as long as a temporary in it exists;
// temporaries in one directory share it.
Result<std::shared_ptr<FsStore::Directory>> FsStore::HoldDir(const std::string& relative) {
  if (std::shared_ptr<Directory> held = dirs_[relative].lock()) return held;
  Result<int> fd = OpenDir(relative);
  if (!fd.ok()) return fd.status();
  auto held = std::make_shared<Directory>();
  held->fd = fd.value();
  if (fstat(held->fd, &held->st) != 0) return IoError("cannot open directory", relative, errno);
  dirs_[relative] = held;
  return held;
}

Status FsStore::Begin(const Manifest& manifest) {
  manifest_ = &manifest;
  items_.clear();
  items_.resize(manifest.entries.size());
  struct statvfs vfs;
  if (fstatvfs(root_fd_, &vfs) == 0) {
    std::uint64_t avail = std::uint64_t{vfs.f_bavail} * vfs.f_frsize;
    if (manifest.total_bytes() > avail) {
      return Status::Error(
          ErrorKind::kNoSpace,
          "destination '" + dir_ + "' has " + std::to_string(avail) +
              " bytes free, session needs " +
              (manifest.total_bytes() == UINT64_MAX ? std::string("more than 2^64")
                                                    : std::to_string(manifest.total_bytes())));
    }
  }
  return CreateDirectories(manifest);
}

// Every entry's directory, each once and in component order, so the walk
// opens each distinct directory once however many entries share it.
Status FsStore::CreateDirectories(const Manifest& manifest) {
  std::vector<std::string_view> dirs;
  for (const ManifestEntry& e : manifest.entries) {
    if (Status s = ValidateRelativePath(e.path); !s.ok()) return s;
    std::string_view dir = e.path;
    if (e.type == EntryType::kFile) dir = dir.substr(0, std::min(dir.size(), dir.rfind('/')));
    if (dir.size() < e.path.size() || e.type == EntryType::kDirectory) dirs.push_back(dir);
  }
  std::sort(dirs.begin(), dirs.end(), PathComponentLess);
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  Walk walk(this);
  for (std::string_view dir : dirs) {
    if (Result<int> fd = walk.To(std::string(dir), true); !fd.ok()) return fd.status();
  }
  return Status::Ok();
}

// Deepest first (the reverse of creation), each only while its name holds
// the very directory created, and only if empty (rmdir refuses otherwise).
void FsStore::RemoveCreatedDirectories() {
  Walk walk(this);
  for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) {
    const auto [parent, name] = SplitParent(it->path);
    Result<int> dir = walk.To(parent, false);
    if (!dir.ok()) continue;  // gone, or now reached through a symlink: not ours
    struct stat st;
    if (fstatat(dir.value(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
        st.st_dev == it->dev && st.st_ino == it->ino) {
      unlinkat(dir.value(), name.c_str(), AT_REMOVEDIR);
    }
  }
  created_dirs_.clear();
}

// The journal exists, locked, under its name, before any temporary does.
// Open() of another receiver may lock a journal in the instant between its
// creation and our lock, and remove it as a dead store's: then we try again.
Status FsStore::CreateJournal() {
  const std::string name = journal_name();
  for (int attempt = 0; attempt < 3; ++attempt) {
    int fd = openat(root_fd_, name.c_str(),
                    O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return IoError("cannot create the journal", name, errno);
    struct stat mine, named;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &mine) == 0 &&
        fstatat(root_fd_, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        SameFile(mine, named)) {
      journal_fd_ = fd;
      return Record(kJournalHeader);
    }
    close(fd);
  }
  return Status::Error(ErrorKind::kLocalIo, "cannot lock the journal '" + dir_ + "/" + name + "'");
}

Status FsStore::Record(const std::string& line) {
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(journal_fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot write the journal", journal_name(), n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

// Once no temporary of ours is left, nothing needs the journal.
void FsStore::RemoveJournalIfDone() {
  if (journal_fd_ < 0) return;
  for (const Item& item : items_) {
    if (item.created && !item.committed) return;
  }
  unlinkat(root_fd_, journal_name().c_str(), 0);
  close(journal_fd_);
  journal_fd_ = -1;
}

void FsStore::RemoveLeftovers() {
  int fd = dup(root_fd_);
  DIR* d = fd < 0 ? nullptr : fdopendir(fd);
  if (!d) {
    if (fd >= 0) close(fd);
    return;
  }
  std::vector<std::string> journals;
  while (dirent* e = readdir(d)) {
    if (JournalNonce(e->d_name)) journals.emplace_back(e->d_name);
  }
  closedir(d);
  for (const std::string& journal : journals) RemoveLeftoversOf(journal);
}

// A journal whose lock nobody holds belongs to a dead store: remove what it
// lists that is still that store's temporary, then the journal.
void FsStore::RemoveLeftoversOf(const std::string& journal) {
  const std::string nonce = *JournalNonce(journal);
  int fd = openat(root_fd_, journal.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return;
  FdCloser closer{fd};
  struct stat st, named;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) return;  // its store is alive
  if (fstatat(root_fd_, journal.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 ||
      !SameFile(st, named)) {
    return;  // removed and replaced meanwhile
  }
  FILE* in = fdopen(dup(fd), "r");
  if (!in) return;
  bool all_removed = true;
  char* line = nullptr;
  std::size_t capacity = 0;
  ssize_t length;
  while ((length = getline(&line, &capacity, in)) > 0) {
    std::string record(line, static_cast<std::size_t>(length));
    if (record.back() == '\n') record.pop_back();
    if (record + "\n" == kJournalHeader || !record.starts_with(kTempRecord)) continue;
    const auto [parent, name] = SplitParent(record.substr(std::strlen(kTempRecord)));
    if (!IsTempOf(name, nonce) || (!parent.empty() && !ValidateRelativePath(parent).ok())) {
      continue;
    }
    Result<int> dir = OpenDir(parent);
    if (!dir.ok()) continue;  // gone, or reached only through a symlink: not ours to touch
    FdCloser dir_closer{dir.value()};
    struct stat temp;
    if (fstatat(dir.value(), name.c_str(), &temp, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(temp.st_mode)) continue;
    if (unlinkat(dir.value(), name.c_str(), 0) == 0) {
      ++leftovers_removed_;
    } else {
      all_removed = false;
    }
  }
  std::free(line);
  std::fclose(in);
  if (all_removed) unlinkat(root_fd_, journal.c_str(), 0);
}

Result<int> FsStore::OpenTemp(std::uint32_t entry) {
  Item& item = items_[entry];
  if (item.fd >= 0) return item.fd;
  const ManifestEntry& e = manifest_->entries[entry];
  const std::string parent = SplitParent(e.path).first, temp = temp_name(entry);
  const std::string shown = parent.empty() ? temp : parent + "/" + temp;
  if (item.created) return Status::Error(ErrorKind::kInternal, "temporary '" + shown + "' closed");
  if (journal_fd_ < 0) {
    if (Status s = CreateJournal(); !s.ok()) return s;
  }
  Result<std::shared_ptr<Directory>> dir = HoldDir(parent);
  if (!dir.ok()) return dir.status();
  if (Status s = Record(kTempRecord + shown + "\n"); !s.ok()) return s;
  int fd = openat(dir.value()->fd, temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
  if (fd < 0) return IoError("cannot create", shown, errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    unlinkat(dir.value()->fd, temp.c_str(), 0);
    return IoError("cannot create", shown, err);
  }
  item.fd = fd;
  item.created = true;
  item.dir = std::move(dir).value();
  item.dev = st.st_dev;
  item.ino = st.st_ino;
  if (e.size > 0) {
    int err = posix_fallocate(fd, 0, static_cast<off_t>(e.size));
    if (err == ENOSPC || err == EDQUOT || err == EFBIG) {
      return IoError("cannot preallocate", shown, err);
    }  // other errors (EOPNOTSUPP): writes will allocate
  }
  // Reads here only ever fetch bytes just written, still in the page cache;
  // readahead would only zero-fill preallocated pages not yet written.
  posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
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
    if (n <= 0) return IoError("cannot write", manifest_->entries[entry].path, errno);
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
    if (!item.hasher) item.hasher = std::make_unique<ContentHasher>(manifest_->digest);
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
    if (n < 0) return IoError("cannot read back", manifest_->entries[entry].path, errno);
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
  if (!item.hasher) item.hasher = std::make_unique<ContentHasher>(manifest_->digest);
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
    if (n <= 0)
      return IoError("cannot verify", manifest_->entries[entry].path, n < 0 ? errno : EIO);
    item.hasher->Update({buf.data(), static_cast<std::size_t>(n)});
    item.hashed += static_cast<std::uint64_t>(n);
  }
  return Status::Ok();
}

Status FsStore::Settle(std::uint32_t entry, std::uint64_t upto) {
  // Hash in steps of at least 4 MiB: fewer, larger reads of fresh page cache.
  if (upto < items_[entry].hashed + (4u << 20) && upto < manifest_->entries[entry].size) {
    return Status::Ok();
  }
  return HashUpTo(entry, upto);
}

Status FsStore::Commit(std::uint32_t entry) {
  if (!pending_.empty() && pending_entry_ == entry) {
    if (Status s = Flush(); !s.ok()) return s;
  }
  const ManifestEntry& e = manifest_->entries[entry];
  Result<int> fd = OpenTemp(entry);
  if (!fd.ok()) return fd.status();
  Item& item = items_[entry];

  if (Status h = HashUpTo(entry, e.size); !h.ok()) return h;
  if (item.hasher->Finish() != e.digest) {
    return Status::Error(ErrorKind::kIntegrity, "'" + e.path + "' does not match its " +
                                                    DigestName(manifest_->digest) +
                                                    " digest; not published");
  }
  if (ftruncate(fd.value(), static_cast<off_t>(e.size)) != 0)
    return IoError("cannot size", e.path, errno);
  ApplyModeAndTime(fd.value(), e, options_.keep_special_bits);

  // Publish only into the directory that --dir still leads to by name.
  const auto [parent, name] = SplitParent(e.path);
  Result<int> now = OpenDir(parent);
  if (!now.ok()) return now.status();
  FdCloser closer{now.value()};
  struct stat st;
  if (fstat(now.value(), &st) != 0 || !SameFile(st, item.dir->st)) {
    return Status::Error(ErrorKind::kUnsafePath, "directory '" + dir_ + "/" + parent +
                                                     "' was replaced during the transfer; '" +
                                                     e.path + "' not published");
  }
  if (renameat(item.dir->fd, temp_name(entry).c_str(), item.dir->fd, name.c_str()) != 0) {
    return IoError("cannot publish", e.path, errno);
  }
  close(item.fd);
  item.fd = -1;
  item.committed = true;
  item.dir.reset();
  item.hasher.reset();
  return Status::Ok();
}

Status FsStore::Finish() {
  if (Status s = Flush(); !s.ok()) return s;
  // Directory times last, deepest first: publishing files changes them.
  for (std::size_t i = manifest_->entries.size(); i-- > 0;) {
    const ManifestEntry& e = manifest_->entries[i];
    if (e.type != EntryType::kDirectory) continue;
    Result<int> fd = OpenDir(e.path);
    if (!fd.ok()) return fd.status();
    FdCloser closer{fd.value()};
    ApplyModeAndTime(fd.value(), e, options_.keep_special_bits);
  }
  created_dirs_.clear();  // the session's now, empty or not
  RemoveJournalIfDone();
  return Status::Ok();
}

// Removes each temporary through the directory that holds it, and only if
// its name still holds the file created.
void FsStore::Abort() {
  pending_.clear();
  for (std::uint32_t i = 0; i < items_.size(); ++i) {
    Item& item = items_[i];
    if (item.fd >= 0) {
      close(item.fd);
      item.fd = -1;
    }
    if (!item.created || item.committed || !item.dir) continue;
    const std::string temp = temp_name(i);
    struct stat st;
    const bool ours = fstatat(item.dir->fd, temp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                      st.st_dev == item.dev && st.st_ino == item.ino;
    if (!ours || unlinkat(item.dir->fd, temp.c_str(), 0) == 0) {
      item.created = false;  // nothing of ours is left there
      item.dir.reset();
    }
  }
  RemoveJournalIfDone();
  RemoveCreatedDirectories();
}

}  // namespace ardus

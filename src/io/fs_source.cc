#include "io/fs_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/utf8.h"

namespace ardus {
namespace fs = std::filesystem;
namespace {

std::int64_t MtimeNs(const struct stat& st) {
  return std::int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

// Hashes `size` bytes of `path`, reporting each chunk to `on_chunk`.
Status HashFile(const std::string& path, std::uint64_t size, DigestAlgorithm algorithm, Digest* out,
                const std::function<void(std::uint64_t)>& on_chunk) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::Error(ErrorKind::kLocalIo, "cannot read '" + path + "': " + strerror(errno));
  }
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  ContentHasher hasher(algorithm);
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t total = 0;
  while (total < size) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    hasher.Update({buf.data(), static_cast<std::size_t>(n)});
    total += static_cast<std::uint64_t>(n);
    on_chunk(static_cast<std::uint64_t>(n));
  }
  close(fd);
  if (total != size) {
    return Status::Error(ErrorKind::kLocalIo, "'" + path + "' changed size while being read");
  }
  *out = hasher.Finish();
  return Status::Ok();
}

// Why a name found inside a tree cannot be sent, or nullptr. Receivers
// refuse a whole session whose manifest holds such a name, so it is left out.
const char* Unsendable(const std::string& name) {
  if (!IsWellFormedUtf8(name)) return "name is not UTF-8";
  for (std::size_t pos = 0; pos < name.size();) {
    if (IsControlCharacter(NextCodePoint(name, &pos).value_or(0))) {
      return "name has a control character";
    }
  }
  if (name.size() > kMaxComponentBytes) return "name longer than 255 bytes";
  if (name.starts_with(kReservedPrefix)) return "name reserved for receivers' temporary files";
  return nullptr;
}

// Walks the sources into manifest entries with sizes; digests come after,
// once the total is known.
struct Scanner {
  SourceTree tree;

  void AddFile(const std::string& abs, const std::string& rel, const struct stat& st) {
    ManifestEntry e;
    e.type = EntryType::kFile;
    e.path = rel;
    e.mode = st.st_mode & 07777;
    e.mtime_ns = MtimeNs(st);
    e.size = static_cast<std::uint64_t>(st.st_size);
    tree.manifest.entries.push_back(e);
    tree.files.push_back(abs);
  }

  // `depth`: the components of `rel`.
  Status AddDirectory(const std::string& abs, const std::string& rel, std::size_t depth,
                      const struct stat& st) {
    ManifestEntry e;
    e.type = EntryType::kDirectory;
    e.path = rel;
    e.mode = st.st_mode & 07777;
    e.mtime_ns = MtimeNs(st);
    tree.manifest.entries.push_back(e);
    tree.files.emplace_back();
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& child : fs::directory_iterator(abs, ec)) {
      names.push_back(child.path().filename().string());
    }
    if (ec) {
      return Status::Error(ErrorKind::kLocalIo, "cannot list '" + abs + "': " + ec.message());
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string child = abs + "/" + name;
      if (const char* why = Unsendable(name)) {
        tree.skipped.push_back(Printable(child) + " (" + why + ")");
        continue;
      }
      if (rel.size() + 1 + name.size() > kMaxPathBytes) {
        tree.skipped.push_back(Printable(child) + " (path longer than 4096 bytes)");
        continue;
      }
      if (depth + 1 > kMaxPathComponents) {
        tree.skipped.push_back(Printable(child) + " (path deeper than 255 components)");
        continue;
      }
      if (Status s = Add(child, rel + "/" + name, depth + 1, false); !s.ok()) return s;
    }
    return Status::Ok();
  }

  Status Add(const std::string& abs, const std::string& rel, std::size_t depth, bool top_level) {
    if (tree.manifest.entries.size() >= kMaxManifestEntries) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           "more than 1000000 files and directories: receivers take at most "
                           "that many in one session; send the tree in parts");
    }
    struct stat st;
    // Top-level arguments may be symlinks the user chose; inside trees, never follow.
    int rc = top_level ? stat(abs.c_str(), &st) : lstat(abs.c_str(), &st);
    if (rc != 0) {
      return Status::Error(ErrorKind::kLocalIo, "cannot stat '" + abs + "': " + strerror(errno));
    }
    if (S_ISREG(st.st_mode)) {
      AddFile(abs, rel, st);
      return Status::Ok();
    }
    if (S_ISDIR(st.st_mode)) return AddDirectory(abs, rel, depth, st);
    if (top_level) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           "'" + abs + "' is neither a regular file nor a directory");
    }
    tree.skipped.push_back(Printable(abs) +
                           (S_ISLNK(st.st_mode) ? " (symlink)" : " (special file)"));
    return Status::Ok();
  }

  Status HashFiles(const std::function<void(std::uint64_t, std::uint64_t)>& on_hashed) {
    const std::uint64_t total = tree.manifest.total_bytes();
    std::uint64_t hashed = 0;
    const auto on_chunk = [&](std::uint64_t n) {
      hashed += n;
      if (on_hashed) on_hashed(hashed, total);
    };
    for (std::size_t i = 0; i < tree.manifest.entries.size(); ++i) {
      ManifestEntry& e = tree.manifest.entries[i];
      if (e.type != EntryType::kFile) continue;
      if (Status s = HashFile(tree.files[i], e.size, tree.manifest.digest, &e.digest, on_chunk);
          !s.ok()) {
        return s;
      }
    }
    return Status::Ok();
  }
};

}  // namespace

Result<SourceTree> ScanSources(const std::vector<std::string>& paths, DigestAlgorithm digest,
                               const std::function<void(std::uint64_t, std::uint64_t)>& on_hashed) {
  Scanner scanner;
  scanner.tree.manifest.digest = digest;
  std::vector<std::string> names;
  for (const std::string& arg : paths) {
    std::error_code ec;
    fs::path abs = fs::absolute(arg, ec).lexically_normal();
    std::string name = abs.filename().string();
    if (name.empty()) name = abs.parent_path().filename().string();  // "dir/" form
    std::string abs_str = abs.string();
    if (abs_str.size() > 1 && abs_str.back() == '/') abs_str.pop_back();
    if (name.empty() || name == "..") {
      return Status::Error(ErrorKind::kInvalidArgument, "cannot name '" + arg + "' on receivers");
    }
    if (const char* why = Unsendable(name)) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           "cannot send '" + Printable(arg) + "': " + why);
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return Status::Error(ErrorKind::kInvalidArgument,
                           "two arguments are both named '" + name + "'");
    }
    names.push_back(name);
    if (Status s = scanner.Add(abs_str, name, 1, true); !s.ok()) return s;
  }
  // Receivers refuse a manifest naming one path twice or a file as a
  // directory; a scan cannot produce one, but a manifest is checked as a
  // whole before it is sent, not by the receivers it would fail.
  if (std::optional<std::string> why = FindPathCollision(scanner.tree.manifest.entries)) {
    return Status::Error(ErrorKind::kInvalidArgument, "cannot send these paths: " + *why);
  }
  if (Status s = scanner.HashFiles(on_hashed); !s.ok()) return s;
  return std::move(scanner.tree);
}

FsSource::FsSource(std::vector<std::string> files, std::vector<std::uint64_t> sizes)
    : files_(std::move(files)), sizes_(std::move(sizes)) {}

FsSource::~FsSource() {
  if (fd_ >= 0) close(fd_);
}

Status FsSource::Read(std::uint32_t entry, std::uint64_t offset, std::span<std::uint8_t> out) {
  if (fd_ < 0 || open_entry_ != entry) {
    if (fd_ >= 0) close(fd_);
    fd_ = open(files_[entry].c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return Status::Error(ErrorKind::kLocalIo,
                           "cannot read '" + files_[entry] + "': " + strerror(errno));
    }
    posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    open_entry_ = entry;
  }
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::Error(ErrorKind::kLocalIo,
                           "'" + files_[entry] + "' shrank or became unreadable while sending");
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

}  // namespace ardus

#include "support/fault_env.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace ardus::test {

struct FaultEnv::State {
  sqlite3_vfs vfs{};            // the shim SQLite calls; pAppData points here
  sqlite3_vfs* real = nullptr;  // the default VFS it wraps
  std::string name;
  mutable std::mutex mu;
  bool fail_write = false;
  bool fail_sync = false;
  bool limited = false;
  std::uint64_t space = 0;    // bytes files may still grow by, when limited
  std::uint64_t tear_at = 0;  // write number that tears (0: none)
  std::size_t tear_keep = 0;
  bool crashed = false;
  std::uint64_t writes = 0;
  std::uint64_t faults = 0;

  int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off);
  int Sync(sqlite3_file* f, int flags);
  int Truncate(sqlite3_file* f, sqlite3_int64 size);
  bool Crashed() const {
    std::lock_guard lock(mu);
    return crashed;
  }
};

namespace {

// What SQLite allocates per open file (vfs.szOsFile bytes): our header, then
// the wrapped VFS's file, suitably aligned.
struct File {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file
  FaultEnv::State* state;
  sqlite3_file* real;
};
constexpr std::size_t kFileBytes = (sizeof(File) + alignof(std::max_align_t) - 1) /
                                   alignof(std::max_align_t) * alignof(std::max_align_t);

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real; }
const sqlite3_io_methods* M(sqlite3_file* f) { return Real(f)->pMethods; }
FaultEnv::State* StateOf(sqlite3_vfs* v) { return static_cast<FaultEnv::State*>(v->pAppData); }
sqlite3_vfs* RealVfs(sqlite3_vfs* v) { return StateOf(v)->real; }

// The file methods: writes, syncs and truncation go through the fault state,
// the rest straight to the wrapped file.
const sqlite3_io_methods kMethods = {
    3,
    [](sqlite3_file* f) {
      int rc = M(f)->xClose(Real(f));
      f->pMethods = nullptr;
      return rc;
    },
    [](sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
      return M(f)->xRead(Real(f), buf, amt, off);
    },
    [](sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
      return Of(f)->state->Write(Real(f), buf, amt, off);
    },
    [](sqlite3_file* f, sqlite3_int64 size) { return Of(f)->state->Truncate(Real(f), size); },
    [](sqlite3_file* f, int flags) { return Of(f)->state->Sync(Real(f), flags); },
    [](sqlite3_file* f, sqlite3_int64* size) { return M(f)->xFileSize(Real(f), size); },
    [](sqlite3_file* f, int lock) { return M(f)->xLock(Real(f), lock); },
    [](sqlite3_file* f, int lock) { return M(f)->xUnlock(Real(f), lock); },
    [](sqlite3_file* f, int* out) { return M(f)->xCheckReservedLock(Real(f), out); },
    [](sqlite3_file* f, int op, void* arg) { return M(f)->xFileControl(Real(f), op, arg); },
    [](sqlite3_file* f) { return M(f)->xSectorSize(Real(f)); },
    [](sqlite3_file* f) { return M(f)->xDeviceCharacteristics(Real(f)); },
    [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return M(f)->iVersion >= 2 ? M(f)->xShmMap(Real(f), page, size, extend, out)
                                 : SQLITE_IOERR_SHMMAP;
    },
    [](sqlite3_file* f, int offset, int n, int flags) {
      return M(f)->iVersion >= 2 ? M(f)->xShmLock(Real(f), offset, n, flags) : SQLITE_IOERR_SHMLOCK;
    },
    [](sqlite3_file* f) {
      if (M(f)->iVersion >= 2) M(f)->xShmBarrier(Real(f));
    },
    [](sqlite3_file* f, int del) {
      return M(f)->iVersion >= 2 ? M(f)->xShmUnmap(Real(f), del) : SQLITE_OK;
    },
    [](sqlite3_file* f, sqlite3_int64 off, int amt, void** out) {
      if (M(f)->iVersion >= 3) return M(f)->xFetch(Real(f), off, amt, out);
      *out = nullptr;  // no mapping: SQLite reads instead
      return SQLITE_OK;
    },
    [](sqlite3_file* f, sqlite3_int64 off, void* p) {
      return M(f)->iVersion >= 3 ? M(f)->xUnfetch(Real(f), off, p) : SQLITE_OK;
    },
};

int Open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = Of(f);
  file->base.pMethods = nullptr;  // SQLite calls no method of a file that failed to open
  file->state = StateOf(v);
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + kFileBytes);
  file->real->pMethods = nullptr;
  if (file->state->Crashed()) return SQLITE_CANTOPEN;
  int rc = RealVfs(v)->xOpen(RealVfs(v), name, file->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (file->real->pMethods) file->real->pMethods->xClose(file->real);
    return rc;
  }
  file->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  if (StateOf(v)->Crashed()) return SQLITE_IOERR_DELETE;
  return RealVfs(v)->xDelete(RealVfs(v), name, sync_dir);
}

void FillVfs(FaultEnv::State& s) {
  sqlite3_vfs& v = s.vfs;
  v.iVersion = std::min(s.real->iVersion, 3);
  v.szOsFile = static_cast<int>(kFileBytes) + s.real->szOsFile;
  v.mxPathname = s.real->mxPathname;
  v.zName = s.name.c_str();
  v.pAppData = &s;
  v.xOpen = Open;
  v.xDelete = Delete;
  v.xAccess = [](sqlite3_vfs* p, const char* n, int flags, int* out) {
    return RealVfs(p)->xAccess(RealVfs(p), n, flags, out);
  };
  v.xFullPathname = [](sqlite3_vfs* p, const char* n, int size, char* out) {
    return RealVfs(p)->xFullPathname(RealVfs(p), n, size, out);
  };
  v.xDlOpen = [](sqlite3_vfs* p, const char* n) { return RealVfs(p)->xDlOpen(RealVfs(p), n); };
  v.xDlError = [](sqlite3_vfs* p, int size, char* out) {
    RealVfs(p)->xDlError(RealVfs(p), size, out);
  };
  v.xDlSym = [](sqlite3_vfs* p, void* h, const char* sym) {
    return RealVfs(p)->xDlSym(RealVfs(p), h, sym);
  };
  v.xDlClose = [](sqlite3_vfs* p, void* h) { RealVfs(p)->xDlClose(RealVfs(p), h); };
  v.xRandomness = [](sqlite3_vfs* p, int n, char* out) {
    return RealVfs(p)->xRandomness(RealVfs(p), n, out);
  };
  v.xSleep = [](sqlite3_vfs* p, int us) { return RealVfs(p)->xSleep(RealVfs(p), us); };
  v.xCurrentTime = [](sqlite3_vfs* p, double* out) {
    return RealVfs(p)->xCurrentTime(RealVfs(p), out);
  };
  v.xGetLastError = [](sqlite3_vfs* p, int size, char* out) {
    return RealVfs(p)->xGetLastError(RealVfs(p), size, out);
  };
  if (v.iVersion >= 2) {
    v.xCurrentTimeInt64 = [](sqlite3_vfs* p, sqlite3_int64* out) {
      return RealVfs(p)->xCurrentTimeInt64(RealVfs(p), out);
    };
  }
  if (v.iVersion >= 3) {
    v.xSetSystemCall = [](sqlite3_vfs* p, const char* n, sqlite3_syscall_ptr call) {
      return RealVfs(p)->xSetSystemCall(RealVfs(p), n, call);
    };
    v.xGetSystemCall = [](sqlite3_vfs* p, const char* n) {
      return RealVfs(p)->xGetSystemCall(RealVfs(p), n);
    };
    v.xNextSystemCall = [](sqlite3_vfs* p, const char* n) {
      return RealVfs(p)->xNextSystemCall(RealVfs(p), n);
    };
  }
}

[[noreturn]] void Abort(const char* why) {
  std::fprintf(stderr, "FaultEnv: %s\n", why);
  std::abort();
}

}  // namespace

int FaultEnv::State::Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  std::lock_guard lock(mu);
  ++writes;
  if (crashed) return SQLITE_IOERR_WRITE;
  if (fail_write) {
    fail_write = false;
    ++faults;
    return SQLITE_IOERR_WRITE;
  }
  if (tear_at != 0 && writes == tear_at) {
    crashed = true;
    ++faults;
    int keep =
        static_cast<int>(std::min<std::size_t>(tear_keep, static_cast<std::size_t>(amt - 1)));
    if (keep > 0) (void)f->pMethods->xWrite(f, buf, keep, off);
    return SQLITE_IOERR_WRITE;
  }
  if (limited) {
    sqlite3_int64 size = 0;
    if (int rc = f->pMethods->xFileSize(f, &size); rc != SQLITE_OK) return rc;
    auto end = static_cast<std::uint64_t>(off + amt);
    auto grows =
        end > static_cast<std::uint64_t>(size) ? end - static_cast<std::uint64_t>(size) : 0;
    if (grows > space) {
      // Store what fits, as write(2) does before ENOSPC.
      std::int64_t fits =
          std::clamp<std::int64_t>(size + static_cast<std::int64_t>(space) - off, 0, amt);
      if (fits > 0) (void)f->pMethods->xWrite(f, buf, static_cast<int>(fits), off);
      space -= std::min<std::uint64_t>(space, std::max<std::int64_t>(off + fits - size, 0));
      ++faults;
      return SQLITE_FULL;
    }
    space -= grows;
  }
  return f->pMethods->xWrite(f, buf, amt, off);
}

int FaultEnv::State::Sync(sqlite3_file* f, int flags) {
  std::lock_guard lock(mu);
  if (crashed) return SQLITE_IOERR_FSYNC;
  if (fail_sync) {
    fail_sync = false;
    ++faults;
    return SQLITE_IOERR_FSYNC;
  }
  return f->pMethods->xSync(f, flags);
}

int FaultEnv::State::Truncate(sqlite3_file* f, sqlite3_int64 size) {
  std::lock_guard lock(mu);
  if (crashed) return SQLITE_IOERR_TRUNCATE;
  sqlite3_int64 before = 0;
  if (limited && f->pMethods->xFileSize(f, &before) == SQLITE_OK && size < before) {
    space += static_cast<std::uint64_t>(before - size);
  }
  return f->pMethods->xTruncate(f, size);
}

FaultEnv::FaultEnv() : state_(std::make_unique<State>()) {
  static std::atomic<int> serial{0};
  state_->name = "ardus-fault-" + std::to_string(++serial);
  state_->real = sqlite3_vfs_find(nullptr);
  if (state_->real == nullptr) Abort("SQLite has no default VFS");
  FillVfs(*state_);
  if (sqlite3_vfs_register(&state_->vfs, 0) != SQLITE_OK) Abort("cannot register the VFS");
}

FaultEnv::~FaultEnv() { sqlite3_vfs_unregister(&state_->vfs); }

const char* FaultEnv::vfs_name() const { return state_->name.c_str(); }

void FaultEnv::FailNextWrite() {
  std::lock_guard lock(state_->mu);
  state_->fail_write = true;
}

void FaultEnv::FailNextSync() {
  std::lock_guard lock(state_->mu);
  state_->fail_sync = true;
}

void FaultEnv::LimitSpace(std::uint64_t bytes) {
  std::lock_guard lock(state_->mu);
  state_->limited = true;
  state_->space = bytes;
}

void FaultEnv::TearWrite(std::uint64_t n, std::size_t keep) {
  std::lock_guard lock(state_->mu);
  state_->tear_at = state_->writes + n;
  state_->tear_keep = keep;
}

bool FaultEnv::crashed() const { return state_->Crashed(); }

std::uint64_t FaultEnv::writes() const {
  std::lock_guard lock(state_->mu);
  return state_->writes;
}

std::uint64_t FaultEnv::faults() const {
  std::lock_guard lock(state_->mu);
  return state_->faults;
}

}  // namespace ardus::test

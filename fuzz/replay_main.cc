// Replays fuzz inputs without libFuzzer: a `main` for any fuzz target, so
// that ctest runs every committed seed and every crash regression through the
// target's LLVMFuzzerTestOneInput on each build, gcc's included.
//
// Usage: fuzz_replay_TARGET PATH...   (each PATH a file or a directory of files)
// A directory named on the command line must exist; a corpus directory must
// not be empty (a target without seeds is a setup error, not a pass). Exit 0
// once every input ran; a crashing input aborts the process, and ctest shows
// which file it was from the line printed before it ran. Address space is
// capped at 4 GiB, as libFuzzer caps RSS at 2 GiB: an input that makes a
// target allocate without bound (a regression of a bad_alloc fix) fails in
// seconds instead of exhausting the machine.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool Replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "replay: cannot read %s\n", file.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::printf("replay: %s (%zu bytes)\n", file.c_str(), bytes.size());
  std::fflush(stdout);  // so a crash below names its input
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  constexpr rlim_t kAddressSpace = rlim_t{4} << 30;
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur > kAddressSpace) {
    limit.rlim_cur = kAddressSpace;
    setrlimit(RLIMIT_AS, &limit);
  }
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    const fs::path path = argv[i];
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
      if (!Replay(path)) return 1;
      ++replayed;
      continue;
    }
    if (!fs::is_directory(path, ec)) {
      std::fprintf(stderr, "replay: %s is neither a file nor a directory\n", path.c_str());
      return 1;
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path)) {
      if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') {
        files.push_back(entry.path());
      }
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      if (!Replay(f)) return 1;
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "replay: no inputs (a target's seed corpus must not be empty)\n");
    return 1;
  }
  std::printf("replay: %zu inputs ran without a crash\n", replayed);
  return 0;
}

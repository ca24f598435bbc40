// libparbench_loopback.so's own part (with mpi/loopback.cpp's bind): as it
// is loaded, it takes itself out of LD_PRELOAD in the process's environment,
// so that what mpirun or orted starts (our ranks, which carry their own bind)
// does not inherit it. Loaded into C programs: no C++ runtime here either.
#include <dlfcn.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <memory>

namespace {

struct FreeDeleter {
  void operator()(char* text) const noexcept { std::free(text); }
};
using CString = std::unique_ptr<char, FreeDeleter>;

// Whether an LD_PRELOAD entry is this library: the same file, or (an entry
// without a slash, which the loader looks up in its search path) the same
// file name.
bool names_this_library(const char* entry, const char* library, const struct stat& library_file) {
  if (std::strchr(entry, '/') == nullptr) {
    const char* slash = std::strrchr(library, '/');
    return std::strcmp(entry, slash != nullptr ? slash + 1 : library) == 0;
  }
  struct stat entry_file;
  return stat(entry, &entry_file) == 0 && entry_file.st_dev == library_file.st_dev &&
         entry_file.st_ino == library_file.st_ino;
}

__attribute__((constructor)) void leave_ld_preload() {
  const char* preload = std::getenv("LD_PRELOAD");
  if (preload == nullptr) return;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&leave_ld_preload), &info) == 0 || info.dli_fname == nullptr)
    return;
  struct stat library_file;
  if (stat(info.dli_fname, &library_file) != 0) return;
  const std::size_t length = std::strlen(preload);
  const CString kept(static_cast<char*>(std::malloc(length + 1)));
  const CString entry(static_cast<char*>(std::malloc(length + 1)));
  if (kept == nullptr || entry == nullptr) return;
  std::size_t used = 0;
  bool removed = false;
  // The loader splits LD_PRELOAD at spaces and colons.
  for (const char* at = preload; *at != '\0';) {
    const std::size_t size = std::strcspn(at, " :");
    if (size > 0) {
      std::memcpy(entry.get(), at, size);
      entry.get()[size] = '\0';
      if (names_this_library(entry.get(), info.dli_fname, library_file)) {
        removed = true;
      } else {
        if (used > 0) kept.get()[used++] = ':';
        std::memcpy(kept.get() + used, at, size);
        used += size;
      }
    }
    at += size;
    if (*at != '\0') ++at;
  }
  kept.get()[used] = '\0';
  if (!removed) return;
  if (used == 0)
    unsetenv("LD_PRELOAD");
  else
    setenv("LD_PRELOAD", kept.get(), 1);
}

}  // namespace

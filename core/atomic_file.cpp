#include <xgrad/core/atomic_file.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <xgrad/core/errors.hpp>

namespace xg {

namespace {
struct PausePoint {
  std::string substring;
  long nth = 0;
  std::size_t bytes = 0;
  long seen = 0;
};

// Parsed once from XGRAD_TEST_PAUSE_WRITE; null when unset or malformed.
PausePoint* pause_point() {
  static PausePoint* p = [] () -> PausePoint* {
    const char* env = std::getenv("XGRAD_TEST_PAUSE_WRITE");
    if (env == nullptr) return nullptr;
    const std::string v = env;
    const auto a = v.find(':'), b = v.find(':', a == std::string::npos ? a : a + 1);
    if (a == std::string::npos || b == std::string::npos) return nullptr;
    auto* pp = new PausePoint;  // lives for the process
    pp->substring = v.substr(0, a);
    pp->nth = std::atol(v.substr(a + 1, b - a - 1).c_str());
    pp->bytes = static_cast<std::size_t>(std::atoll(v.substr(b + 1).c_str()));
    return pp;
  }();
  return p;
}

[[noreturn]] void pause_forever(const std::string& tmp) {
  const int fd = ::open((tmp + ".paused").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
  for (;;) ::pause();
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = fmt::format("{}.tmp.{}", path_, ::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(fmt::format("{}: cannot create: {}", tmp_, std::strerror(errno)));
  if (PausePoint* p = pause_point(); p != nullptr && path_.find(p->substring) != std::string::npos)
    pause_here_ = ++p->seen == p->nth;
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::write(const void* data, std::size_t n) {
  if (fd_ < 0) throw Error(fmt::format("{}: write after commit", path_));
  // Chunks, so the crash-test hook can fire in the middle of large tensors.
  constexpr std::size_t kChunk = 1 << 16;
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    std::size_t chunk = std::min(n, kChunk);
    if (pause_here_ && written_ < pause_point()->bytes) chunk = std::min(chunk, pause_point()->bytes - written_);
    const ssize_t r = ::write(fd_, p, chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("{}: write failed: {}", tmp_, std::strerror(errno)));
    }
    p += r, n -= static_cast<std::size_t>(r), written_ += static_cast<std::size_t>(r);
    if (pause_here_ && written_ >= pause_point()->bytes) pause_forever(tmp_);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) throw Error(fmt::format("{}: fsync failed: {}", tmp_, std::strerror(errno)));
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp_.c_str());
    throw Error(fmt::format("cannot rename {} to {}: {}", tmp_, path_, std::strerror(e)));
  }
  const auto slash = path_.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {  // makes the rename itself durable
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomically(const std::string& path, const std::string& content) {
  AtomicFile f(path);
  f.write(content);
  f.commit();
}

}  // namespace xg

#include "core/atomic_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "core/errors.hpp"

namespace xg {

namespace {
void (*g_write_hook)(const std::string&, std::size_t) = nullptr;
}

void set_atomic_write_hook(void (*hook)(const std::string&, std::size_t)) { g_write_hook = hook; }

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_ = fmt::format("{}.tmp.{}", path_, ::getpid());
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(fmt::format("{}: cannot create: {}", tmp_, std::strerror(errno)));
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
    const ssize_t r = ::write(fd_, p, std::min(n, kChunk));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("{}: write failed: {}", tmp_, std::strerror(errno)));
    }
    p += r, n -= static_cast<std::size_t>(r), written_ += static_cast<std::size_t>(r);
    if (g_write_hook) g_write_hook(tmp_, written_);
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

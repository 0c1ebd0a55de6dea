#pragma once
/// \file
/// A file that appears all at once: data goes to a temporary file beside the target, which
/// commit() flushes to disk (fsync) and renames over the target (then fsyncs the directory).
/// If the process dies, or the AtomicFile is destroyed without commit(), the target keeps its
/// old content and the temporary file is removed (when the process survives).
#include <cstddef>
#include <string>

namespace xg {

/// Writes a file atomically: write() into the temporary file, commit() to replace the target.
class AtomicFile {
 public:
  /// Opens a new temporary file beside `path` (IOError naming it if that fails).
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// Appends bytes to the temporary file (IOError on a short write, e.g. a full disk).
  ///@{
  void write(const void* data, std::size_t n);
  void write(const std::string& s) { write(s.data(), s.size()); }
  ///@}
  /// Flushes, fsyncs and renames the temporary file over the target; the AtomicFile is then spent.
  void commit();
  const std::string& temp_path() const { return tmp_; }  ///< the temporary file being written

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  std::size_t written_ = 0;
  bool pause_here_ = false;  ///< the crash-test pause point is in this file
};

/// Writes `content` to `path` atomically.
void write_file_atomically(const std::string& path, const std::string& content);

// Crash tests (tests/crash_test.sh) stop a process in the middle of a write: with the
// environment variable XGRAD_TEST_PAUSE_WRITE=SUBSTRING:N:BYTES, the N-th AtomicFile whose path
// contains SUBSTRING stops after writing BYTES bytes, creates TEMP_PATH.paused, and waits to be
// killed. Unset, it costs one comparison per 64 KiB written.

}  // namespace xg

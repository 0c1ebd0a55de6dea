#pragma once
// A file that appears all at once: data goes to a temporary file beside the target, which
// commit() flushes to disk (fsync) and renames over the target (then fsyncs the directory).
// If the process dies, or the AtomicFile is destroyed without commit(), the target keeps its
// old content and the temporary file is removed (when the process survives).
#include <cstddef>
#include <string>

namespace xg {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void write(const void* data, std::size_t n);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void commit();
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  std::size_t written_ = 0;
};

// Writes `content` to `path` atomically.
void write_file_atomically(const std::string& path, const std::string& content);

// Test hook for crash tests: called after each chunk of at most 64 KiB an AtomicFile writes,
// with the temporary path and the bytes written so far. Not for normal use.
void set_atomic_write_hook(void (*hook)(const std::string& tmp_path, std::size_t bytes_written));

}  // namespace xg

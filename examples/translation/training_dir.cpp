#include "training_dir.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/file.h>
#include <unistd.h>

#include <xgrad/core/errors.hpp>

namespace xg::translation {

namespace fs = std::filesystem;

const std::vector<std::string>& training_files() {
  static const std::vector<std::string> files = {"config.json", "src.vocab", "tgt.vocab", "model.safetensors",
                                                 "state.safetensors", "log.csv"};
  return files;
}

namespace {
// "state.safetensors.tmp.1234" or "...tmp.1234.paused" -> 1234; 0 when the name is not one.
pid_t temp_file_owner(const std::string& name) {
  const auto at = name.find(".tmp.");
  if (at == std::string::npos) return 0;
  std::string rest = name.substr(at + 5);
  if (const auto dot = rest.find('.'); dot != std::string::npos) rest = rest.substr(0, dot);
  if (rest.empty() || rest.find_first_not_of("0123456789") != std::string::npos || rest.size() > 9) return 0;
  return static_cast<pid_t>(std::stol(rest));
}

void remove_stale_temp_files(const std::string& dir) {
  for (const auto& entry : fs::directory_iterator(dir)) {
    const pid_t owner = temp_file_owner(entry.path().filename().string());
    if (owner > 0 && ::kill(owner, 0) != 0 && errno == ESRCH) {
      std::error_code ec;
      fs::remove(entry.path(), ec);
    }
  }
}
}  // namespace

TrainingDirectory::TrainingDirectory(std::string dir, Mode mode, bool writer) : dir_(std::move(dir)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_)) throw Error(fmt::format("{}: cannot create the output directory: {}", dir_, ec.message()));
  if (!writer) return;
  const std::string lock_path = file(".lock");
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) throw Error(fmt::format("{}: cannot open: {}", lock_path, std::strerror(errno)));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    std::string holder;
    std::ifstream(lock_path) >> holder;
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw Error(fmt::format("{} is in use by another training run (process {}); wait for it to finish, or choose "
                            "another --out", dir_, holder.empty() ? "unknown" : holder));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd_, 0) != 0 || ::pwrite(lock_fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    throw Error(fmt::format("{}: cannot write: {}", lock_path, std::strerror(errno)));
  remove_stale_temp_files(dir_);
  if (mode == Mode::Resume) return;
  std::vector<std::string> present;
  for (const auto& f : training_files())
    if (fs::exists(file(f))) present.push_back(f);
  for (const auto& entry : fs::directory_iterator(dir_)) {  // --keep-last's checkpoint.STEP.safetensors
    const std::string name = entry.path().filename().string();
    if (name.rfind("checkpoint.", 0) == 0 && name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0)
      present.push_back(name);
  }
  if (present.empty()) return;
  if (mode == Mode::Fresh)
    throw Error(fmt::format("{} already holds a training run ({}): --resume continues it, --overwrite replaces it, or "
                            "choose another --out", dir_, fmt::join(present, ", ")));
  for (const auto& f : present) fs::remove(file(f));
}

TrainingDirectory::~TrainingDirectory() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // closing releases the lock
}

std::string file_fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot open", path));
  uint64_t h = 1469598103934665603ULL;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ULL;
    }
    if (in.eof()) break;
  }
  return fmt::format("{:016x}", h);
}

}  // namespace xg::translation

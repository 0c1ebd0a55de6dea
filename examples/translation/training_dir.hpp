#pragma once
// The output directory of a training run, guarded:
//  - one run at a time: an advisory lock (DIR/.lock, flock) held for the run; a second run is
//    refused with the first one's process id;
//  - a fresh run never clobbers a trained model: it refuses a directory that holds one unless
//    told --overwrite (--resume continues it instead);
//  - temporary files left by a run killed in the middle of a write (NAME.tmp.PID of a process
//    that no longer exists) are removed.
// The lock is taken by the process that writes files (rank 0 under MPI).
#include <string>
#include <vector>

namespace xg::translation {

// The files a training run writes into its directory (trainer.hpp lists what each holds).
const std::vector<std::string>& training_files();

class TrainingDirectory {
 public:
  enum class Mode { Fresh, Overwrite, Resume };
  TrainingDirectory(std::string dir, Mode mode, bool writer);
  ~TrainingDirectory();
  TrainingDirectory(const TrainingDirectory&) = delete;
  TrainingDirectory& operator=(const TrainingDirectory&) = delete;
  const std::string& path() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
  int lock_fd_ = -1;
};

// 16 hex digits of FNV-1a over the file's bytes: enough to tell that a vocabulary or config was
// swapped or edited since a state was written (not a defence against a forger).
std::string file_fingerprint(const std::string& path);

}  // namespace xg::translation

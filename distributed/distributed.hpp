#pragma once
/// \file
/// Data-parallel training over MPI (Open MPI from Debian). Every rank holds the whole model,
/// reads its own shard of each batch, and after backward the gradients are averaged across ranks
/// by all-reduce, in size-bounded buckets started while the backward still runs. Without MPI (the
/// library built without it, or a process not started by mpirun) everything here is the
/// single-process identity: rank 0 of a world of 1.
///
/// Launch: mpirun -np N xgrad-translate train ...   (one rank per socket or machine; see README)
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg::nn {
class Module;
}

namespace xg::distributed {

bool compiled_with_mpi();  ///< whether this build has MPI (else every world is one process)
/// Initialises MPI when the process was started by mpirun/mpiexec (it sees Open MPI's or PMIx's
/// rank variables); otherwise, or when built without MPI, stays a world of one. Idempotent.
void init(int* argc, char*** argv);
void finalize();  ///< at normal exit; a no-op for a world of one
int rank();  ///< this process's rank, 0 in a world of one
int world_size();  ///< number of processes
inline bool is_primary() { return rank() == 0; }  ///< rank 0: the process that writes files and prints

/// Seconds a rank waits for the others in one collective before giving up with a clear error
/// (a peer died or hangs): XGRAD_DIST_TIMEOUT, default 300. Checked by polling, so a dead peer
/// never leaves the others blocked forever even if the launcher does not kill them.
double timeout_seconds();

/// Sum of `values` over ranks, in place (float64; for losses, token counts, flags).
void all_reduce_sum(std::vector<double>& values);
/// Rank 0's value on every rank.
int64_t broadcast(int64_t value);
/// Copies rank 0's parameters and buffers into every rank's module, so all start identical.
void broadcast_module(nn::Module& module);
/// Stops every rank with `message` on stderr (MPI_Abort); for an error on one rank only.
[[noreturn]] void abort_all(const std::string& message);

/// Averages gradients across ranks. Parameters are grouped, in reverse registration order (about
/// the order backward completes them), into buckets of at most `bucket_bytes`; a bucket's
/// all-reduce starts (non-blocking) as soon as each of its parameters' gradients is complete.
///
///   GradientAverager avg(model.parameters());
///   { auto scope = avg.backward_scope(); loss.backward(); }   // buckets start during backward
///   avg.finish();                                            // waits, writes the averages
///
/// A parameter no rank gave a gradient keeps none (as in a single process, so optimisers that
/// skip missing gradients behave the same).
class GradientAverager {
 public:
  /// Averages the gradients of `params` over the ranks in buckets of about `bucket_bytes`.
  explicit GradientAverager(std::vector<Tensor> params, std::size_t bucket_bytes = 1 << 20);
  ~GradientAverager();
  GradientAverager(const GradientAverager&) = delete;
  GradientAverager& operator=(const GradientAverager&) = delete;

  class Scope;
  /// Installs the grad-ready hook for one backward pass.
  std::unique_ptr<Scope> backward_scope();
  void finish();  ///< waits for every bucket and writes the averaged gradients
  std::size_t buckets() const;  ///< number of buckets

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// While alive, buckets are sent as soon as their gradients are complete during backward.
class GradientAverager::Scope {
 public:
  explicit Scope(GradientAverager& owner);  ///< installs owner's hook
  ~Scope();

 private:
  struct Hook;
  std::unique_ptr<Hook> hook_;
};

}  // namespace xg::distributed

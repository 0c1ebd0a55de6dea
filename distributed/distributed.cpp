#include <xgrad/distributed/distributed.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <thread>
#include <unordered_map>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/errors.hpp>
#include <xgrad/nn/module.hpp>

#ifdef XGRAD_WITH_MPI
#include <mpi.h>
#endif

namespace xg::distributed {

namespace {
[[maybe_unused]] bool g_active = false;  // MPI initialised by us, world of more than one possible
int g_rank = 0, g_size = 1;

[[maybe_unused]] std::size_t element_size(DType d) { return d == DType::Float64 ? 8 : 4; }

#ifdef XGRAD_WITH_MPI
MPI_Datatype mpi_type(DType d) { return d == DType::Float64 ? MPI_DOUBLE : MPI_FLOAT; }

// Waits for `requests` by polling, so that a peer that died cannot block this rank forever.
void wait_all(std::vector<MPI_Request>& requests, const char* what) {
  if (requests.empty()) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds());
  for (int spins = 0;; ++spins) {
    int done = 0;
    if (MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS)
      abort_all(fmt::format("rank {}: {} failed: another rank has stopped", g_rank, what));
    if (done) break;
    if (std::chrono::steady_clock::now() > deadline)
      abort_all(fmt::format("rank {}: {} waited more than {:.0f} s for the other ranks (XGRAD_DIST_TIMEOUT); one of them "
                            "has probably died or hangs", g_rank, what, timeout_seconds()));
    if (spins > 2000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  requests.clear();
}
#endif

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK") || std::getenv("PMI_RANK");
}
}  // namespace

bool compiled_with_mpi() {
#ifdef XGRAD_WITH_MPI
  return true;
#else
  return false;
#endif
}

void init(int* argc, char*** argv) {
#ifdef XGRAD_WITH_MPI
  if (g_active || !launched_by_mpirun()) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);  // only the main thread calls MPI
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_active = true;
#else
  (void)argc, (void)argv;
  if (launched_by_mpirun() && std::getenv("OMPI_COMM_WORLD_SIZE") && std::string(std::getenv("OMPI_COMM_WORLD_SIZE")) != "1")
    throw Error("started by mpirun, but this build of xgrad has no MPI (install libopenmpi-dev and rebuild)");
#endif
}

void finalize() {
#ifdef XGRAD_WITH_MPI
  if (g_active) MPI_Finalize();
  g_active = false, g_rank = 0, g_size = 1;
#endif
}

int rank() { return g_rank; }
int world_size() { return g_size; }

double timeout_seconds() {
  const char* s = std::getenv("XGRAD_DIST_TIMEOUT");
  const double v = s ? std::atof(s) : 0.0;
  return v > 0 ? v : 300.0;
}

void abort_all(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "\nerror: %s\n", message.c_str());
  std::fflush(stderr);
#ifdef XGRAD_WITH_MPI
  if (g_active) MPI_Abort(MPI_COMM_WORLD, 3);
#endif
  std::_Exit(3);
}

void all_reduce_sum(std::vector<double>& values) {
  if (g_size == 1 || values.empty()) return;
#ifdef XGRAD_WITH_MPI
  std::vector<MPI_Request> r(1);
  MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &r[0]);
  wait_all(r, "all-reduce");
#endif
}

int64_t broadcast(int64_t value) {
  if (g_size == 1) return value;
#ifdef XGRAD_WITH_MPI
  std::vector<MPI_Request> r(1);
  MPI_Ibcast(&value, 1, MPI_INT64_T, 0, MPI_COMM_WORLD, &r[0]);
  wait_all(r, "broadcast");
#endif
  return value;
}

void broadcast_module([[maybe_unused]] nn::Module& module) {
  if (g_size == 1) return;
#ifdef XGRAD_WITH_MPI
  std::vector<Tensor> tensors;
  for (auto& [name, t] : module.named_parameters()) tensors.push_back(t);
  for (auto& [name, t] : module.named_buffers()) tensors.push_back(t);
  std::size_t bytes = 0;
  for (const auto& t : tensors) bytes += static_cast<std::size_t>(t.numel()) * element_size(t.dtype());
  std::vector<char> buffer(bytes);
  auto raw = [](Tensor& t) { return t.dtype() == DType::Float64 ? static_cast<void*>(t.data<double>()) : static_cast<void*>(t.data<float>()); };
  std::size_t at = 0;
  for (auto& t : tensors) {  // one message for the whole model
    const std::size_t n = static_cast<std::size_t>(t.numel()) * element_size(t.dtype());
    std::memcpy(buffer.data() + at, raw(t), n);
    at += n;
  }
  std::vector<MPI_Request> r(1);
  MPI_Ibcast(buffer.data(), static_cast<int>(bytes), MPI_BYTE, 0, MPI_COMM_WORLD, &r[0]);
  wait_all(r, "broadcast of the initial parameters");
  at = 0;
  for (auto& t : tensors) {
    const std::size_t n = static_cast<std::size_t>(t.numel()) * element_size(t.dtype());
    std::memcpy(raw(t), buffer.data() + at, n);
    at += n;
  }
#endif
}

// ----- gradient averaging -----

struct GradientAverager::State {
  struct Bucket {
    DType dtype = DType::Float32;
    std::vector<std::size_t> params;  // indices into `params`
    std::vector<int64_t> offset;      // element offset of each parameter; its "has grad" flag sits after all of them
    int64_t elements = 0;
    std::vector<char> buffer;
    std::size_t pending = 0;  // parameters whose gradient is not complete yet in this pass
    bool started = false;
  };
  std::vector<Tensor> params;
  std::vector<Bucket> buckets;
  std::unordered_map<const TensorImpl*, std::pair<std::size_t, std::size_t>> where;  // param -> (bucket, slot)
  std::vector<char> ready;  // per parameter, in this pass
#ifdef XGRAD_WITH_MPI
  std::vector<MPI_Request> requests;
#endif

  template <class T>
  void pack(Bucket& b) {
    T* out = reinterpret_cast<T*>(b.buffer.data());
    for (std::size_t s = 0; s < b.params.size(); ++s) {
      const Tensor g = params[b.params[s]].grad();
      const int64_t n = params[b.params[s]].numel();
      if (g.defined()) std::memcpy(out + b.offset[s], g.data<T>(), static_cast<std::size_t>(n) * sizeof(T));
      else std::fill(out + b.offset[s], out + b.offset[s] + n, T(0));
      out[b.elements + static_cast<int64_t>(s)] = g.defined() ? T(1) : T(0);
    }
  }

  template <class T>
  void unpack(Bucket& b) {
    const T* in = reinterpret_cast<const T*>(b.buffer.data());
    const T inv = T(1) / static_cast<T>(g_size);
    for (std::size_t s = 0; s < b.params.size(); ++s) {
      Tensor& p = params[b.params[s]];
      if (in[b.elements + static_cast<int64_t>(s)] == T(0)) {  // no rank had a gradient for it
        p.set_grad(Tensor());
        continue;
      }
      Tensor g = p.grad();
      if (!g.defined()) g = Tensor::uninitialized(p.shape(), p.dtype());
      T* dst = g.data<T>();
      for (int64_t i = 0; i < p.numel(); ++i) dst[i] = in[b.offset[s] + i] * inv;
      p.set_grad(g);
    }
  }

  void start(Bucket& b) {
    if (b.started) return;
    b.started = true;
    if (b.dtype == DType::Float64) pack<double>(b);
    else pack<float>(b);
#ifdef XGRAD_WITH_MPI
    requests.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, b.buffer.data(), static_cast<int>(b.elements + static_cast<int64_t>(b.params.size())),
                   mpi_type(b.dtype), MPI_SUM, MPI_COMM_WORLD, &requests.back());
#endif
  }

  void on_ready(const Tensor& leaf) {
    const auto it = where.find(leaf.impl());
    if (it == where.end()) return;  // not one of ours (an input that requires grad)
    const std::size_t param = buckets[it->second.first].params[it->second.second];
    if (ready[param]) return;
    ready[param] = 1;
    Bucket& b = buckets[it->second.first];
    if (--b.pending == 0) start(b);
#ifdef XGRAD_WITH_MPI
    if (!requests.empty()) {  // lets the library progress the started reductions
      int flag = 0;
      MPI_Testall(static_cast<int>(requests.size()), requests.data(), &flag, MPI_STATUSES_IGNORE);
      if (flag) requests.clear();
    }
#endif
  }
};

GradientAverager::GradientAverager(std::vector<Tensor> params, std::size_t bucket_bytes) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.params = std::move(params);
  s.ready.assign(s.params.size(), 0);
  for (std::size_t k = s.params.size(); k-- > 0;) {  // reverse registration order
    const Tensor& p = s.params[k];
    const std::size_t bytes = static_cast<std::size_t>(p.numel()) * element_size(p.dtype());
    if (s.buckets.empty() || s.buckets.back().dtype != p.dtype() ||
        (s.buckets.back().elements > 0 &&
         static_cast<std::size_t>(s.buckets.back().elements) * element_size(p.dtype()) + bytes > bucket_bytes)) {
      s.buckets.emplace_back();
      s.buckets.back().dtype = p.dtype();
    }
    State::Bucket& b = s.buckets.back();
    s.where[p.impl()] = {s.buckets.size() - 1, b.params.size()};
    b.params.push_back(k);
    b.offset.push_back(b.elements);
    b.elements += p.numel();
  }
  for (auto& b : s.buckets) {
    b.buffer.resize(static_cast<std::size_t>(b.elements + static_cast<int64_t>(b.params.size())) * element_size(b.dtype));
    b.pending = b.params.size();
  }
}

GradientAverager::~GradientAverager() = default;

std::size_t GradientAverager::buckets() const { return state_->buckets.size(); }

struct GradientAverager::Scope::Hook {
  explicit Hook(GradReadyFn fn) : guard(std::move(fn)) {}
  GradReadyHookGuard guard;
};

GradientAverager::Scope::Scope(GradientAverager& owner) {
  if (g_size > 1) hook_ = std::make_unique<Hook>([&owner](const Tensor& leaf) { owner.state_->on_ready(leaf); });
}
GradientAverager::Scope::~Scope() = default;

std::unique_ptr<GradientAverager::Scope> GradientAverager::backward_scope() { return std::make_unique<Scope>(*this); }

void GradientAverager::finish() {
  if (g_size == 1) return;
  State& s = *state_;
  for (auto& b : s.buckets) s.start(b);  // parameters the backward never reached
#ifdef XGRAD_WITH_MPI
  wait_all(s.requests, "all-reduce of the gradients");
#endif
  for (auto& b : s.buckets) {
    if (b.dtype == DType::Float64) s.unpack<double>(b);
    else s.unpack<float>(b);
    b.started = false;
    b.pending = b.params.size();
  }
  std::fill(s.ready.begin(), s.ready.end(), 0);
}

}  // namespace xg::distributed

// Fits y = 3x - 1 by gradient descent through the installed xgrad; exits 0 when it converged.
// Also links the installed xgrad::distributed: not started by mpirun, a world of one.
#include <cstdio>
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/xgrad.hpp>

int main(int argc, char** argv) {
  xg::distributed::init(&argc, &argv);
  if (xg::distributed::world_size() != 1 || !xg::distributed::is_primary()) return 1;
  xg::Tensor x = xg::arange(-1, 1, 0.25);  // (8)
  xg::Tensor y = x * 3.0 - 1.0;
  xg::Tensor w = xg::zeros({1}), b = xg::zeros({1});
  w.requires_grad_();
  b.requires_grad_();
  double loss_value = 0;
  for (int step = 0; step < 200; ++step) {
    xg::Tensor loss = xg::mean(xg::pow(x * w + b - y, 2.0));
    w.zero_grad();
    b.zero_grad();
    loss.backward();
    xg::NoGradGuard no_grad;
    w.copy_(w - w.grad() * 0.3);
    b.copy_(b - b.grad() * 0.3);
    loss_value = loss.item();
  }
  std::printf("w=%.4f b=%.4f loss=%.2e\n", w.item(), b.item(), loss_value);
  xg::distributed::finalize();
  return (loss_value < 1e-6 && std::abs(w.item() - 3) < 1e-3) ? 0 : 1;
}

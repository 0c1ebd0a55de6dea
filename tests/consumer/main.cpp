// Fits y = 3x - 1 by gradient descent through the installed xgrad; exits 0 when it converged.
#include <cstdio>
#include <xgrad/xgrad.hpp>

int main() {
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
  return (loss_value < 1e-6 && std::abs(w.item() - 3) < 1e-3) ? 0 : 1;
}

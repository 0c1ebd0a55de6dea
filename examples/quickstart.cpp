// The README's example: a two-layer network fitted to y = x³ - x with Adam.
#include <cstdio>
#include <xgrad/xgrad.hpp>
using namespace xg;

struct Net : nn::Module {                           // a user-defined model is a small class
  std::shared_ptr<nn::Linear> hidden, out;
  Net() : Module("Net") {
    hidden = register_module("hidden", std::make_shared<nn::Linear>(1, 32));
    out = register_module("out", std::make_shared<nn::Linear>(32, 1));
  }
  Tensor forward(const Tensor& x) { return out->forward(tanh(hidden->forward(x))); }
};

int main() {
  tune_runtime();                                   // denormals, allocator, BLAS threads
  manual_seed(0);
  Tensor x = uniform({256, 1}, -1, 1);              // (B, 1) inputs
  Tensor y = pow(x, 3.0) - x;                       // (B, 1) targets
  Net net;
  optim::Adam adam(optim::single_group(net.parameters(), 1e-2));
  double loss_value = 0;
  for (int step = 0; step < 500; ++step) {
    Tensor loss = mean(pow(net.forward(x) - y, 2.0));
    adam.zero_grad();
    loss.backward();
    adam.step();
    loss_value = loss.item();
    if (step % 100 == 0) std::printf("step %3d  loss %.6f\n", step, loss_value);
  }
  nn::save_checkpoint(net, "net.safetensors");     // readable by numpy / PyTorch users
  std::printf("final loss %.6f\n", loss_value);
  return loss_value < 2e-3 ? 0 : 1;                 // y itself has a mean square of 0.076
}

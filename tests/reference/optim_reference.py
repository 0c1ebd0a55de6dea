# PyTorch 1.13 values behind tests/test_optim.cpp: three optimiser steps on fixed gradients.
import torch
torch.set_default_dtype(torch.float64)
grads = [[0.5, -1.0, 2.0], [0.1, 0.3, -0.2], [-1.5, 0.0, 0.7]]
def run(make):
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    opt = make([p])
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
    return p.detach().tolist()
print("adam", run(lambda ps: torch.optim.Adam(ps, lr=0.1, weight_decay=0.1)))
print("adamw", run(lambda ps: torch.optim.AdamW(ps, lr=0.1, weight_decay=0.1)))
print("sgd", run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01)))
print("nesterov", run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)))

#!/usr/bin/python3
"""Prints the reference values in tests/optimizers_test.cpp and
tests/schedule_test.cpp.

Runs torch.optim (Debian's python3-torch) in float64 on the two test
functions and prints, for each optimizer setting, the parameters after each
of the first three steps as C++ initializers, then the learning rates that
torch.optim.lr_scheduler sets epoch by epoch.
"""
import torch

torch.set_default_dtype(torch.float64)


def quadratic(p):
    a, b = p[0], p[1]
    return (a - 3) ** 2 + 10 * (b + 1) ** 2


def rosenbrock(p):
    a, b = p[0], p[1]
    return (1 - a) ** 2 + 100 * (b - a * a) ** 2


FUNCTIONS = {
    "quadratic": (quadratic, [0.0, 0.0]),
    "rosenbrock": (rosenbrock, [-1.5, 2.0]),
}

SETTINGS = [
    ("gd", "SGD", dict(lr=0.01), dict(lr=1e-4)),
    ("momentum", "SGD",
     dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.01),
     dict(lr=1e-4, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("nesterov", "SGD", dict(lr=0.01, momentum=0.9, nesterov=True),
     dict(lr=1e-4, momentum=0.9, nesterov=True)),
    ("adam", "Adam", dict(lr=0.1), dict(lr=0.01)),
    ("adam_l2_amsgrad", "Adam",
     dict(lr=0.1, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1,
          amsgrad=True),
     dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1,
          amsgrad=True)),
    ("adamw", "AdamW", dict(lr=0.1, weight_decay=0.1),
     dict(lr=0.01, weight_decay=0.1)),
    ("rmsprop", "RMSprop", dict(lr=0.01), dict(lr=1e-3)),
    ("rmsprop_centered", "RMSprop",
     dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True,
          weight_decay=0.01),
     dict(lr=1e-3, alpha=0.9, momentum=0.5, centered=True,
          weight_decay=0.01)),
    ("adagrad", "Adagrad",
     dict(lr=0.1, lr_decay=0.05, weight_decay=0.01,
          initial_accumulator_value=0.1),
     dict(lr=0.01, lr_decay=0.05, weight_decay=0.01,
          initial_accumulator_value=0.1)),
]


LBFGS_SETTINGS = [
    ("lbfgs", dict(lr=1, max_iter=1, line_search_fn="strong_wolfe")),
    ("lbfgs_no_search", dict(lr=0.5, max_iter=1)),
]


def trajectory(function, start, optimizer, options, steps=3):
    p = torch.tensor(start, requires_grad=True)
    opt = getattr(torch.optim, optimizer)([p], **options)

    def closure():
        opt.zero_grad()
        loss = function(p)
        loss.backward()
        return loss

    points = []
    for _ in range(steps):
        opt.step(closure)
        points.append([float(v) for v in p.detach()])
    return points


def main():
    print(f"// torch {torch.__version__}, float64")
    for name, optimizer, quadratic_options, rosenbrock_options in SETTINGS:
        for function_name, options in (("quadratic", quadratic_options),
                                       ("rosenbrock", rosenbrock_options)):
            function, start = FUNCTIONS[function_name]
            points = trajectory(function, start, optimizer, options)
            rows = ", ".join("{%r, %r}" % (a, b) for a, b in points)
            print(f'{{"{name}", "{function_name}", {{{rows}}}}},')
    for name, options in LBFGS_SETTINGS:
        for function_name, (function, start) in FUNCTIONS.items():
            points = trajectory(function, start, "LBFGS", options)
            rows = ", ".join("{%r, %r}" % (a, b) for a, b in points)
            print(f'{{"{name}", "{function_name}", {{{rows}}}}},')


def schedules():
    """Prints learning rates of the schedules in tests/schedule_test.cpp."""
    def rates(make, epochs, metrics=None):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        schedule = make(opt)
        out = [opt.param_groups[0]["lr"]]
        for k in range(epochs):
            opt.step()
            if metrics is None:
                schedule.step()
            else:
                schedule.step(metrics[k])
            out.append(opt.param_groups[0]["lr"])
        return out

    lr_scheduler = torch.optim.lr_scheduler
    print("// StepLR(step_size=3, gamma=0.5)",
          rates(lambda o: lr_scheduler.StepLR(o, 3, 0.5), 8))
    print("// ExponentialLR(gamma=0.9)",
          rates(lambda o: lr_scheduler.ExponentialLR(o, 0.9), 5))
    print("// CosineAnnealingLR(T_max=10, eta_min=0.001)",
          rates(lambda o: lr_scheduler.CosineAnnealingLR(o, 10, 0.001), 12))
    metrics = [5, 4, 4, 4, 4, 3.9999, 4, 4, 4, 4, 4, 4]
    print("// ReduceLROnPlateau(patience=2, cooldown=1), metrics", metrics,
          rates(lambda o: lr_scheduler.ReduceLROnPlateau(
              o, patience=2, cooldown=1), 12, metrics))


if __name__ == "__main__":
    main()
    schedules()

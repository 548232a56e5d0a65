// Lint fixture: one instance of each TorchDoctor analyzer rule (not compiled into the tests; read by LintCliTests).
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace LintFixture;

public sealed class Net : Module<Tensor, Tensor>
{
    private readonly Linear fc1 = Linear(784, 128);
    private readonly Linear fc2 = Linear(128, 10);
    private readonly List<Linear> extra = new();

    public Net() : base(nameof(Net))
    {
        extra.Add(Linear(10, 10));
    }

    public override Tensor forward(Tensor x) => fc2.call(functional.relu(fc1.forward(x)));
}

public static class Program
{
    public static Sequential Head() => Sequential(Linear(10, 20), ReLU(), Linear(30, 3));

    public static void Train(Tensor x, Tensor y)
    {
        var model = new Net();
        var opt = optim.SGD(model.parameters(), 0.01);
        Tensor total = zeros(1);
        for (int step = 0; step < 100; step++)
        {
            var loss = functional.cross_entropy(functional.softmax(model.call(x), 1), y);
            loss.backward();
            opt.step();
            total += loss;
        }
        var scores = x.matmul(y);
    }
}

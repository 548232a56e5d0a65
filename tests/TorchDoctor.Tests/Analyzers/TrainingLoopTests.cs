using TorchDoctor.Analyzers;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

public class TrainingLoopTests
{
    [Fact]
    public Task Loop_with_backward_and_step_but_no_zero_grad_is_flagged_and_fixed() => Verify.CodeFix<TrainingLoopAnalyzer, ZeroGradCodeFix>("""
        static class Program
        {
            static void Train(Linear model, Tensor x, Tensor y)
            {
                var opt = optim.SGD(model.parameters(), 0.1);
                using var scope = NewDisposeScope();
                {|TD5004:for|} (int i = 0; i < 10; i++)
                {
                    var loss = functional.mse_loss(model.call(x), y);
                    loss.backward();
                    opt.step();
                }
            }
        }
        """, """
        static class Program
        {
            static void Train(Linear model, Tensor x, Tensor y)
            {
                var opt = optim.SGD(model.parameters(), 0.1);
                using var scope = NewDisposeScope();
                for (int i = 0; i < 10; i++)
                {
                    opt.zero_grad();
                    var loss = functional.mse_loss(model.call(x), y);
                    loss.backward();
                    opt.step();
                }
            }
        }
        """);

    // Gradient accumulation (backward in an inner loop, step and zero_grad outside it) and model.zero_grad()
    // are correct; a scheduler's step() is not an optimizer step.
    [Fact]
    public Task Accumulation_model_zero_grad_and_scheduler_steps_are_not_flagged() => Verify.Analyzer<TrainingLoopAnalyzer>("""
        static class Program
        {
            static void Train(Linear model, Tensor x, Tensor y)
            {
                var opt = optim.Adam(model.parameters());
                var sched = optim.lr_scheduler.StepLR(opt, 10);
                for (int epoch = 0; epoch < 3; epoch++)
                {
                    using var scope = NewDisposeScope();
                    for (int k = 0; k < 4; k++) functional.mse_loss(model.call(x), y).backward();
                    opt.step();
                    opt.zero_grad();
                    sched.step();
                }
                for (int i = 0; i < 3; i++)
                {
                    using var scope = NewDisposeScope();
                    model.zero_grad();
                    functional.mse_loss(model.call(x), y).backward();
                    opt.step();
                }
                for (int i = 0; i < 3; i++)
                {
                    using var scope = NewDisposeScope();
                    functional.mse_loss(model.call(x), y).backward();
                    sched.step();
                }
            }
        }
        """);

    [Fact]
    public Task Loss_tensors_kept_across_iterations_are_flagged() => Verify.Analyzer<TrainingLoopAnalyzer>("""
        static class Program
        {
            static void Train(Linear model, Tensor x, Tensor y)
            {
                var opt = optim.SGD(model.parameters(), 0.1);
                Tensor total = zeros(1);
                Tensor sum = zeros(1);
                var history = new List<Tensor>();
                for (int i = 0; i < 10; i++)
                {
                    using var scope = NewDisposeScope();
                    opt.zero_grad();
                    var loss = functional.mse_loss(model.call(x), y);
                    loss.backward();
                    opt.step();
                    {|TD5005:total += loss|};
                    {|TD5005:sum = sum + loss * 2|};
                    {|TD5005:history.Add(loss)|};
                }
            }
        }
        """);

    [Fact]
    public Task Numbers_detached_tensors_per_iteration_locals_and_evaluation_loops_are_not_flagged() => Verify.Analyzer<TrainingLoopAnalyzer>("""
        static class Program
        {
            static void Train(Linear model, Tensor x, Tensor y)
            {
                var opt = optim.SGD(model.parameters(), 0.1);
                float total = 0;
                Tensor kept = zeros(1);
                var history = new List<Tensor>();
                var numbers = new List<float>();
                for (int i = 0; i < 10; i++)
                {
                    using var scope = NewDisposeScope();
                    opt.zero_grad();
                    var loss = functional.mse_loss(model.call(x), y);
                    loss.backward();
                    opt.step();
                    total += loss.item<float>();
                    kept = kept + loss.detach();
                    history.Add(loss.detach());
                    numbers.Add(loss.ToSingle());
                    var local = zeros(1);
                    local += loss;
                }
                Tensor correct = zeros(1);
                using (no_grad())
                    for (int i = 0; i < 10; i++) correct += (model.call(x).argmax(1) == y).sum();
            }
        }
        """);

    [Fact]
    public Task Training_loop_without_a_dispose_scope_is_information() => Verify.Analyzer<TrainingLoopAnalyzer>("""
        static class Program
        {
            static void Train(Linear model, Tensor x, Tensor y)
            {
                var opt = optim.SGD(model.parameters(), 0.1);
                for (int epoch = 0; epoch < 2; epoch++)
                {
                    {|TD5006:foreach|} (var batch in new[] { x, x })
                    {
                        opt.zero_grad();
                        functional.mse_loss(model.call(batch), y).backward();
                        opt.step();
                    }
                }
            }
        }
        """);

    // Met in TorchSharp's own tests: a loop over devices that calls backward() once per device is no training loop.
    [Fact]
    public Task Scopes_around_the_loop_and_loops_without_a_step_are_not_flagged() => Verify.Analyzer<TrainingLoopAnalyzer>("""
        static class Program
        {
            static void Train(Linear model, Tensor x, Tensor y)
            {
                var opt = optim.SGD(model.parameters(), 0.1);
                using (var d = NewDisposeScope())
                {
                    for (int i = 0; i < 3; i++) { opt.zero_grad(); functional.mse_loss(model.call(x), y).backward(); opt.step(); }
                }
                foreach (var device in new[] { CPU })
                {
                    var w = ones(2, requires_grad: true);
                    (w * w).sum().backward();
                }
            }
        }
        """);
}

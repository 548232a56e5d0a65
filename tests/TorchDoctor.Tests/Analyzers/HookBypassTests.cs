using TorchDoctor.Analyzers;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

public class HookBypassTests
{
    [Fact]
    public Task Child_forward_in_forward_is_flagged_and_fixed_to_call() => Verify.CodeFix<HookBypassAnalyzer, HookBypassCodeFix>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc = Linear(4, 2);
            public Net() : base("Net") { RegisterComponents(); }
            public override Tensor forward(Tensor x) => fc.{|TD1001:forward|}(x);
        }
        """, """
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc = Linear(4, 2);
            public Net() : base("Net") { RegisterComponents(); }
            public override Tensor forward(Tensor x) => fc.call(x);
        }
        """);

    [Fact]
    public Task Elements_of_a_ModuleList_and_this_members_are_children() => Verify.Analyzer<HookBypassAnalyzer>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly ModuleList<Module<Tensor, Tensor>> blocks = new ModuleList<Module<Tensor, Tensor>>(Linear(4, 4), ReLU());
            private readonly Sequential head = Sequential(Linear(4, 2));
            public Net() : base("Net") { RegisterComponents(); }
            public override Tensor forward(Tensor x)
            {
                foreach (var b in blocks) x = b.{|TD1001:forward|}(x);
                x = blocks[0].{|TD1001:forward|}(x);
                return this.head.{|TD1001:forward|}(x);
            }
        }
        """);

    [Fact]
    public Task Base_this_call_and_modules_outside_a_module_are_not_flagged() => Verify.Analyzer<HookBypassAnalyzer>("""
        class Block : Module<Tensor, Tensor>
        {
            public Block() : base("Block") { }
            public override Tensor forward(Tensor x) => x;
        }
        class Scaled : Block
        {
            public override Tensor forward(Tensor x) => base.forward(x) * 2;
        }
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc = Linear(4, 2);
            public Net() : base("Net") { RegisterComponents(); }
            public override Tensor forward(Tensor x) => fc.call(x);
            public Tensor Twice(Tensor x) => this.forward(this.forward(x));
        }
        static class Program
        {
            static Tensor Run(Tensor x)
            {
                var model = Linear(4, 2);
                return model.forward(x); // a script calling its own model: no parent whose hooks matter
            }
        }
        """);
}

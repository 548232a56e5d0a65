using TorchDoctor.Analyzers;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

public class RegistrationTests
{
    private const string Program = """

        static class Program { static void Main() { using var m = new Net(); } }
        """;

    [Fact]
    public Task Model_without_RegisterComponents_is_flagged_and_the_fix_adds_it_last() => Verify.CodeFix<ModuleRegistrationAnalyzer, RegisterComponentsCodeFix>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc1;
            private readonly ReLU act = ReLU();
            public {|TD5001:Net|}() : base("Net")
            {
                fc1 = Linear(4, 2);
            }
            public override Tensor forward(Tensor x) => act.call(fc1.call(x));
        }
        """ + Program, """
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc1;
            private readonly ReLU act = ReLU();
            public Net() : base("Net")
            {
                fc1 = Linear(4, 2);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => act.call(fc1.call(x));
        }
        """ + Program);

    [Fact]
    public Task Subclass_of_a_registering_base_is_flagged_and_fixed_with_register_module() => Verify.CodeFix<ModuleRegistrationAnalyzer, RegisterComponentsCodeFix>("""
        class Base : Module<Tensor, Tensor>
        {
            protected readonly Linear fc = Linear(4, 4);
            public Base() : base("Base") { RegisterComponents(); }
            public override Tensor forward(Tensor x) => fc.call(x);
        }
        class Net : Base
        {
            private readonly Linear head;
            public {|TD5001:Net|}()
            {
                head = Linear(4, 2);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => head.call(base.forward(x));
        }
        """ + Program, """
        class Base : Module<Tensor, Tensor>
        {
            protected readonly Linear fc = Linear(4, 4);
            public Base() : base("Base") { RegisterComponents(); }
            public override Tensor forward(Tensor x) => fc.call(x);
        }
        class Net : Base
        {
            private readonly Linear head;
            public Net()
            {
                head = Linear(4, 2);
                RegisterComponents();
                register_module("head", head);
            }
            public override Tensor forward(Tensor x) => head.call(base.forward(x));
        }
        """ + Program);

    [Fact]
    public Task Field_assigned_after_RegisterComponents_is_flagged_and_the_call_moved() => Verify.CodeFix<ModuleRegistrationAnalyzer, RegisterComponentsCodeFix>("""
        class Net : Module<Tensor, Tensor>
        {
            private Linear fc1;
            private Linear fc2;
            public Net() : base("Net")
            {
                fc1 = Linear(4, 4);
                RegisterComponents();
                {|TD5001:fc2 = Linear(4, 2)|};
            }
            public override Tensor forward(Tensor x) => fc2.call(fc1.call(x));
        }
        """ + Program, """
        class Net : Module<Tensor, Tensor>
        {
            private Linear fc1;
            private Linear fc2;
            public Net() : base("Net")
            {
                fc1 = Linear(4, 4);
                fc2 = Linear(4, 2);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => fc2.call(fc1.call(x));
        }
        """ + Program);

    // Met on public code (a transformer library): blocks without RegisterComponents() held by a parent that
    // registers them; register_module runs the child's RegisterComponents, so nothing is lost.
    [Fact]
    public Task Child_class_held_by_a_registering_parent_is_not_flagged() => Verify.Analyzer<ModuleRegistrationAnalyzer>("""
        class Block : Module<Tensor, Tensor>
        {
            private readonly Linear fc;
            public Block() : base("Block") { fc = Linear(4, 4); }
            public override Tensor forward(Tensor x) => fc.call(x);
        }
        class Net : Module<Tensor, Tensor>
        {
            private readonly Block block = new Block();
            private readonly ModuleList<Block> more = new ModuleList<Block>(new Block());
            public Net() : base("Net") { RegisterComponents(); }
            public override Tensor forward(Tensor x) => block.call(x);
        }
        """ + Program);

    // Met on public code: parameter-free helpers (activations, rotary tables typed as the Module base) assigned
    // after RegisterComponents() on purpose, to keep them out of the state_dict.
    [Fact]
    public Task Parameter_free_or_hand_registered_fields_are_not_flagged() => Verify.Analyzer<ModuleRegistrationAnalyzer>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear fc;
            private Module<Tensor, Tensor> act;
            private readonly Dropout drop;
            public Net() : base("Net")
            {
                fc = Linear(4, 2);
                register_module("fc", fc);
                drop = Dropout(0.1);
                act = ReLU();
            }
            public override Tensor forward(Tensor x) => drop.call(act.call(fc.call(x)));
        }
        """ + Program);

    [Fact]
    public Task Modules_in_a_List_are_flagged_and_fixed_to_ModuleList() => Verify.CodeFix<ModuleRegistrationAnalyzer, ModuleCollectionCodeFix>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly List<Linear> {|TD5002:layers|} = new();
            public Net() : base("Net")
            {
                for (int i = 0; i < 3; i++) layers.Add(Linear(4, 4));
                RegisterComponents();
            }
            public override Tensor forward(Tensor x)
            {
                for (int i = 0; i < layers.Count; i++) x = layers[i].call(x);
                return x;
            }
        }
        """ + Program, """
        class Net : Module<Tensor, Tensor>
        {
            private readonly ModuleList<Linear> layers = new();
            public Net() : base("Net")
            {
                for (int i = 0; i < 3; i++) layers.Add(Linear(4, 4));
                RegisterComponents();
            }
            public override Tensor forward(Tensor x)
            {
                for (int i = 0; i < layers.Count; i++) x = layers[i].call(x);
                return x;
            }
        }
        """ + Program);

    [Fact]
    public Task Arrays_and_dictionaries_of_modules_and_parameters_are_flagged() => Verify.Analyzer<ModuleRegistrationAnalyzer>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly Linear[] {|TD5002:stages|} = { Linear(4, 4), Linear(4, 4) };
            private readonly Dictionary<string, Conv2d> {|TD5002:heads|} = new() { ["a"] = Conv2d(1, 1, 1) };
            private readonly List<Parameter> {|TD5002:scales|} = new() { new Parameter(ones(1)) };
            public Net() : base("Net") { RegisterComponents(); }
            public override Tensor forward(Tensor x) => stages[1].call(stages[0].call(x)) * scales[0];
        }
        """ + Program);

    [Fact]
    public Task Collections_registered_by_hand_or_given_to_a_container_are_not_flagged() => Verify.Analyzer<ModuleRegistrationAnalyzer>("""
        class Net : Module<Tensor, Tensor>
        {
            private readonly List<Linear> layers = new();
            private readonly Module<Tensor, Tensor>[] parts;
            private readonly Sequential seq;
            private readonly ModuleList<Linear> registered = new ModuleList<Linear>();
            public Net() : base("Net")
            {
                for (int i = 0; i < 2; i++) { layers.Add(Linear(4, 4)); register_module($"layer{i}", layers[i]); }
                parts = new Module<Tensor, Tensor>[] { Linear(4, 4), ReLU() };
                seq = Sequential(parts);
                RegisterComponents();
            }
            public override Tensor forward(Tensor x) => seq.call(layers[1].call(layers[0].call(x)));
        }
        """ + Program);
}

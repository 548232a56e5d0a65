using TorchDoctor.Analyzers;
using Xunit;

namespace TorchDoctor.Tests.Analyzers;

public class LossInputTests
{
    [Fact]
    public Task Softmax_into_cross_entropy_is_flagged_and_fixed() => Verify.CodeFix<LossInputAnalyzer, LossInputCodeFix>("""
        static class Program
        {
            static Tensor Loss(Tensor logits, Tensor y) => functional.cross_entropy({|TD5003:functional.softmax(logits, 1)|}, y);
        }
        """, """
        static class Program
        {
            static Tensor Loss(Tensor logits, Tensor y) => functional.cross_entropy(logits, y);
        }
        """);

    [Fact]
    public Task Sigmoid_into_BCE_with_logits_is_flagged_and_fixed() => Verify.CodeFix<LossInputAnalyzer, LossInputCodeFix>("""
        static class Program
        {
            static Tensor Loss(Tensor logits, Tensor y) => BCEWithLogitsLoss().call({|TD5003:logits.sigmoid()|}, y);
        }
        """, """
        static class Program
        {
            static Tensor Loss(Tensor logits, Tensor y) => BCEWithLogitsLoss().call(logits, y);
        }
        """);

    [Fact]
    public Task Data_flow_through_a_local_and_a_Sequential_ending_in_Softmax_is_flagged() => Verify.Analyzer<LossInputAnalyzer>("""
        static class Program
        {
            static void Step(Tensor x, Tensor y)
            {
                var model = Sequential(Linear(4, 3), Softmax(1));
                var criterion = CrossEntropyLoss();
                var probs = torch.softmax(x, 1);
                var a = criterion.call({|TD5003:probs|}, y);
                var b = criterion.forward({|TD5003:model.call(x)|}, y);
            }
        }
        """);

    [Fact]
    public Task Logits_log_softmax_with_nll_and_reassigned_locals_are_not_flagged() => Verify.Analyzer<LossInputAnalyzer>("""
        static class Program
        {
            static void Step(Tensor x, Tensor y)
            {
                var criterion = CrossEntropyLoss();
                var a = criterion.call(x, y);
                var b = functional.nll_loss(functional.log_softmax(x, 1), y);
                var c = functional.binary_cross_entropy(x.sigmoid(), y);
                var p = torch.softmax(x, 1);
                p = x;
                var d = functional.cross_entropy(p, y);
            }
        }
        """);
}

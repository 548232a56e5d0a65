using TorchDoctor.Data;
using TorchDoctor.Demos;
using TorchDoctor.Findings;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Training;

/// <summary>Like <see cref="TheoryAttribute"/>, skipped (with the reason) when Fashion-MNIST is not installed.</summary>
public sealed class FashionMnistTheoryAttribute : TheoryAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> when the files are missing.</summary>
    public FashionMnistTheoryAttribute()
    {
        if (!FashionMnist.IsAvailable())
            Skip = $"Fashion-MNIST is not installed in {FashionMnist.DefaultDirectory}: install the Debian package {FashionMnist.Package} (bash scripts/setup.sh --with-data)";
    }
}

/// <summary>
/// Issue 11: at default options, one 32-step epoch (batch 64) names the fault. Each case is a faulty model; the test
/// asserts the finding and where it is, on generated data and on a Fashion-MNIST subset.
/// </summary>
public class FirstEpochTests
{
    internal const int Steps = 32;

    /// <summary>The faulty recipes: model, optimizer, expected finding code and module.</summary>
    internal static (Func<Module<Tensor, Tensor>> Model, Func<Module<Tensor, Tensor>, optim.Optimizer> Optimizer, string Code, string? Module) Case(string name) => name switch
    {
        // Twelve Linear → Sigmoid layers, SGD: the first layer's gradient is orders of magnitude below the last's.
        "vanishing" => (() => TrainingDemo.Mlp(Enumerable.Repeat(128, 12).ToArray(), () => Sigmoid(), "sigmoid"),
            m => optim.SGD(m.parameters(), 0.1), TrainingCodes.VanishingGradients.Code, "fc1"),
        // fc1's biases at −10: relu1 never fires.
        "dead-relu" => (() =>
        {
            var m = TrainingDemo.Mlp([256, 256], () => ReLU(), "relu");
            TrainingDemo.Init(m, (n, l) => { if (n == "fc1") init.constant_(l.bias!, -10.0); });
            return m;
        }, m => optim.SGD(m.parameters(), 0.05), TrainingCodes.DeadRelu.Code, "relu1"),
        // The exploding demo's recipe: N(0, 0.25) weights in a deep ReLU MLP, SGD 0.05.
        "exploding" => (() =>
        {
            var m = TrainingDemo.Mlp([256, 256, 256, 256], () => ReLU(), "relu");
            TrainingDemo.Init(m, (_, l) => { init.normal_(l.weight, 0, 0.25); init.zeros_(l.bias!); });
            return m;
        }, m => optim.SGD(m.parameters(), 0.05), TrainingCodes.ExplodingGradients.Code, null),
        // log() of ReLU features that reach 0: −inf in the forward pass, named at features.log.
        "nan-forward" => (() => Sequential(("flatten", Flatten()),
                ("features", Sequential(("fc", Linear(28 * 28, 64)), ("relu", ReLU()), ("log", new LogFeatures(0)))),
                ("classifier", Linear(64, 10))),
            m => optim.Adam(m.parameters(), 1e-3), TrainingCodes.NonFiniteForward.Code, "features.log"),
        // where(x > 0, sqrt(x), 0): a finite forward pass whose backward is NaN (sqrt's slope at x ≤ 0 times a zero gradient).
        "nan-backward" => (() => Sequential(("flatten", Flatten()), ("fc", Linear(28 * 28, 64)), ("root", new WhereSqrt()), ("head", Linear(64, 10))),
            m => optim.SGD(m.parameters(), 0.01), TrainingCodes.NonFiniteBackward.Code, "root"),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    internal sealed class WhereSqrt : Module<Tensor, Tensor>
    {
        public WhereSqrt() : base(nameof(WhereSqrt)) { }
        public override Tensor forward(Tensor x) => torch.where(x > 0, x.sqrt(), torch.zeros_like(x));
    }

    /// <summary>One epoch of <see cref="Steps"/> steps at default doctor options; returns the findings (warnings and errors).</summary>
    internal static List<Finding> FirstEpoch(string name, DemoData data, DoctorOptions? options = null)
    {
        var c = Case(name);
        torch.manual_seed(3);
        using var model = c.Model();
        var opt = c.Optimizer(model);
        using var doctor = Doctor.Attach(model, opt, options);
        int s = 0;
        foreach (var (x, y) in data.Batches(64, 1))
        {
            using (NewDisposeScope())
            {
                doctor.BeginStep();
                opt.zero_grad();
                var loss = functional.cross_entropy(model.call(x), y);
                loss.backward();
                doctor.AfterBackward(loss);
                opt.step();
                doctor.EndStep();
            }
            x.Dispose();
            y.Dispose();
            if (++s == Steps) break;
        }
        Assert.Equal(Steps, s);
        return doctor.Findings.Where(f => f.Severity != Severity.Info).ToList();
    }

    private static void AssertFinds(string name, List<Finding> findings)
    {
        var c = Case(name);
        var f = findings.FirstOrDefault(x => x.Code == c.Code);
        Assert.True(f is not null, $"{name}: no {c.Code} in {Steps} steps; found: {string.Join("; ", findings.Select(x => $"{x.Slug} at {x.Module} (step {x.Step})"))}");
        if (c.Module is not null) Assert.Equal(c.Module, f!.Module);
    }

    // One epoch of each data set, shared by the cases (read-only: batches are index_select copies).
    private static readonly Lazy<DemoData> Generated = new(() => DemoData.Generated(Steps * 64, 5));
    private static readonly Lazy<DemoData> Fashion = new(() => FashionSubset(Steps * 64));

    public static TheoryData<string> Cases => new() { "vanishing", "dead-relu", "exploding", "nan-forward", "nan-backward" };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Default_options_find_the_fault_in_one_32_step_epoch_of_generated_data(string name)
    {
        AssertFinds(name, FirstEpoch(name, Generated.Value));
    }

    [FashionMnistTheory]
    [MemberData(nameof(Cases))]
    public void Default_options_find_the_fault_in_one_32_step_epoch_of_fashion_mnist(string name)
    {
        AssertFinds(name, FirstEpoch(name, Fashion.Value));
    }

    [Fact]
    public void A_fixed_interval_of_100_sees_none_of_the_persistent_faults_in_the_same_epoch()
    {
        // The issue's starting point: step 0 is the only sampled step, so nothing persists for 3 sampled steps.
        Assert.DoesNotContain(FirstEpoch("dead-relu", Generated.Value, new DoctorOptions { Schedule = null }), f => f.Code == Case("dead-relu").Code);
    }

    /// <summary>The first <paramref name="count"/> Fashion-MNIST training images in [0, 1].</summary>
    internal static DemoData FashionSubset(int count)
    {
        using var ds = FashionMnist.Load(train: true);
        using var scope = NewDisposeScope();
        var img = ds.Images;
        var n = (int)(count * img.Dims[1] * img.Dims[2]);
        var images = tensor(img.Data.AsSpan(0, n).ToArray(), [count, 1, img.Dims[1], img.Dims[2]], ScalarType.Byte).to(ScalarType.Float32).div_(255f);
        var labels = tensor(ds.AllLabels.Take(count).ToArray(), ScalarType.Int64);
        return DemoData.FromTensors(images, labels, FashionMnist.ClassNames.Count, "fashion-mnist subset");
    }
}

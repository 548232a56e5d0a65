using TorchDoctor.Demos;
using TorchDoctor.Findings;
using TorchDoctor.Models;
using TorchDoctor.Probes;
using TorchDoctor.Training;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Training;

/// <summary>The doctor on real training loops.</summary>
public class DoctorTests
{
    private static List<float[]> Train(bool monitored, int steps, ProbeKinds kinds = ProbeKinds.All, int interval = 1)
    {
        using var data = DemoData.Generated(512, 3);
        torch.manual_seed(11);
        using var model = new SmallCnn();
        var opt = optim.Adam(model.parameters(), 1e-3);
        using var doctor = monitored ? Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = interval, Probes = kinds }) : null;
        int s = 0;
        foreach (var (x, y) in data.Forever(32, 5))
        {
            using (NewDisposeScope())
            {
                doctor?.BeginStep();
                opt.zero_grad();
                var loss = functional.cross_entropy(model.call(x), y);
                loss.backward();
                doctor?.AfterBackward(loss);
                opt.step();
                doctor?.EndStep();
            }
            x.Dispose();
            y.Dispose();
            if (++s == steps) break;
        }
        return model.parameters().Select(p => p.data<float>().ToArray()).ToList();
    }

    [Fact]
    public void Training_with_every_probe_every_step_is_bit_identical_to_plain_training()
    {
        var plain = Train(false, 200);
        var monitored = Train(true, 200);
        Assert.Equal(plain.Count, monitored.Count);
        for (int i = 0; i < plain.Count; i++)
            Assert.True(plain[i].AsSpan().SequenceEqual(monitored[i]), $"parameter {i} differs");
        // And the run really moved: not trivially equal.
        var init = Train(false, 1);
        Assert.False(init[0].AsSpan().SequenceEqual(plain[0]));
    }

    [Fact]
    public void Live_tensor_count_is_the_same_after_1000_monitored_steps_as_after_10()
    {
        using var data = DemoData.Generated(256, 1);
        torch.manual_seed(2);
        using var model = new Mlp();
        var opt = optim.SGD(model.parameters(), 0.01);
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 5 });
        static long Live() { GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect(); return torch.Tensor.TotalCount; }
        // A fixed cycle of batches, so the data pipeline holds the same tensors at step 10 and at step 1000.
        var batches = data.Batches(32, 1).ToList();
        long after10 = 0;
        int s = 0;
        while (true)
        {
            var (x, y) = batches[s % batches.Count];
            using (NewDisposeScope())
            {
                doctor.BeginStep();
                opt.zero_grad();
                var loss = functional.cross_entropy(model.call(x.flatten(1)), y);
                loss.backward();
                doctor.AfterBackward(loss);
                opt.step();
                doctor.EndStep();
            }
            if (++s == 10) after10 = Live();
            if (s == 1000) break;
        }
        Assert.Equal(after10, Live());
        foreach (var (x, y) in batches) { x.Dispose(); y.Dispose(); }
        Assert.True(doctor.History.GradientProfiles.Count <= doctor.History.Capacity);
    }

    [Fact]
    public void Dispose_removes_every_hook()
    {
        using var model = new SmallCnn();
        var doctor = Doctor.Attach(model);
        doctor.Dispose();
        var counter = new CountingObserver();
        using var x = torch.rand(2, 1, 28, 28);
        // With the doctor gone, a pass leaves its probe untouched: observed through LastStep staying null.
        using var y = model.call(x);
        Assert.Null(doctor.LastStep);
        Assert.Throws<ObjectDisposedException>(doctor.BeginStep);
    }

    private sealed class CountingObserver : IForwardObserver
    {
        public int Calls;
        public void OnEnter(Module module, object?[] inputs) => Calls++;
        public object? OnExit(Module module, object?[] inputs, object? output) => null;
    }

    private sealed class EncoderHead : Module<Tensor, Tensor>
    {
        public readonly Linear encoder = Linear(4, 4);
        public readonly Linear b = Linear(4, 2);
        public EncoderHead() : base(nameof(EncoderHead)) => RegisterComponents();
        public override Tensor forward(Tensor x) => b.call(encoder.call(x));
    }

    [Fact]
    public void Parameters_missing_from_the_optimizer_are_reported_at_attach()
    {
        using var model = new EncoderHead();
        var opt = optim.SGD(model.encoder.parameters(), 0.1);   // the head was forgotten
        using var doctor = Doctor.Attach(model, opt);
        var f = Assert.Single(doctor.Findings, x => x.Code == TrainingCodes.NotInOptimizer.Code);
        Assert.Equal("b", f.Module);
        Assert.Contains("b.weight", f.Message);
    }

    [Fact]
    public void A_handler_added_after_attach_sees_the_findings_raised_inside_attach()
    {
        using var model = new EncoderHead();
        var opt = optim.SGD(model.encoder.parameters(), 0.1);
        using var doctor = Doctor.Attach(model, opt);
        var seen = new List<Finding>();
        doctor.FindingRaised += (_, f) => seen.Add(f);
        Assert.Equal(TrainingCodes.NotInOptimizer.Code, Assert.Single(seen).Code);   // replayed on subscription
        var second = new List<Finding>();
        EventHandler<Finding> handler = (_, f) => second.Add(f);
        doctor.FindingRaised += handler;
        doctor.FindingRaised -= handler;
        Assert.Single(second);   // replayed once; removing it works
    }

    [Fact]
    public void Hook_bypass_is_reported_at_training_time()
    {
        using var model = new BypassNet();
        var opt = optim.SGD(model.parameters(), 0.01);
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 1 });
        using var x = torch.rand(8, 16);
        using var y = torch.randint(4, [8], dtype: ScalarType.Int64);
        MonitoredStep.Run(doctor, model, opt, x, y);
        Assert.Equal("block.proj", Assert.Single(doctor.Findings, f => f.Code == "TD1001").Module);
    }

    [Fact]
    public void Native_internals_are_announced_once()
    {
        using var model = new TextLstm();
        using var doctor = Doctor.Attach(model);
        var f = Assert.Single(doctor.Findings);
        Assert.Equal(("TD1007", "lstm", Severity.Info), (f.Code, f.Module, f.Severity));
    }

    private sealed class WhereSqrt : Module<Tensor, Tensor>
    {
        private readonly Linear fc = Linear(4, 4);
        private readonly Root root = new();
        private readonly Linear head = Linear(4, 1);
        public WhereSqrt() : base(nameof(WhereSqrt))
        {
            RegisterComponents();
            using (no_grad()) { fc.weight!.zero_(); fc.bias!.zero_(); }
        }
        public override Tensor forward(Tensor x) => head.call(root.call(fc.call(x)));
    }

    private sealed class Root : Module<Tensor, Tensor>
    {
        public Root() : base(nameof(Root)) { }
        // The where-trap: the forward is finite, but sqrt's infinite slope at 0 times a zero gradient is NaN.
        public override Tensor forward(Tensor x) => torch.where(x > 0, x.sqrt(), torch.zeros_like(x));
    }

    [Fact]
    public void Backward_nan_origin_and_anomaly_trace()
    {
        torch.manual_seed(0);
        using var model = new WhereSqrt();
        var opt = optim.SGD(model.parameters(), 0.01);
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 1000, Schedule = null, Anomaly = true });
        using var x = torch.rand(8, 4);
        NonFiniteGradientException? caught = null;
        for (int i = 0; i < 5; i++)
        {
            doctor.BeginStep();
            opt.zero_grad();
            var loss = model.call(x).sum();
            try { doctor.Backward(loss); }
            catch (NonFiniteGradientException e) { caught = e; }
            doctor.EndStep();
        }
        var origin = Assert.Single(doctor.Findings, f => f.Code == TrainingCodes.NonFiniteBackward.Code);
        Assert.Equal("root", origin.Module);
        Assert.NotNull(caught);
        Assert.Contains("SqrtBackward0", caught!.Finding.Evidence["backward function"]);
        Assert.Single(doctor.Findings, f => f.Code == TrainingCodes.AnomalyTrace.Code);
        Assert.False(AnomalyMode.IsEnabled);
    }

    [Fact]
    public void Gradient_clipper_reports_how_often_it_clips()
    {
        using var model = new Mlp();
        var clipper = new GradientClipper(model.parameters(), maxNorm: 0.5);
        using var x = torch.rand(16, 784);
        using var y = torch.randint(10, [16], dtype: ScalarType.Int64);
        var norms = new List<double>();
        for (int i = 0; i < 10; i++)
        {
            model.zero_grad();
            using var loss = functional.cross_entropy(model.call(x * (i + 1)), y);
            loss.backward();
            norms.Add(clipper.Clip());
            var after = Math.Sqrt(model.parameters().Sum(p => p.grad!.square().sum().item<float>()));
            Assert.True(after <= 0.5 + 1e-4);
        }
        Assert.Equal(norms.Count(n => n > 0.5), clipper.Clipped);
        Assert.Equal(norms.Max(), clipper.Quantile(1), 6);
        Assert.Contains("clipped", clipper.ToString());
    }
}

public class NonFiniteEscalationTests
{
    [Fact]
    public void Default_probes_find_the_nan_origin_one_step_after_the_first_nan_loss()
    {
        torch.manual_seed(0);
        using var model = Sequential(("fc", Linear(8, 8)), ("relu", ReLU()), ("log", new LogFeatures(0)), ("head", Linear(8, 2)));
        var opt = optim.SGD(model.parameters(), 0.01);
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 1000, Schedule = null });
        doctor.BeginStep();   // step 0 (sampled) without data: the NaN steps below are unsampled
        doctor.EndStep();
        using var x = torch.rand(16, 8);
        using var y = torch.randint(2, [16], dtype: ScalarType.Int64);
        for (int i = 0; i < 3; i++)
        {
            doctor.BeginStep();
            opt.zero_grad();
            var loss = functional.cross_entropy(model.call(x), y);
            loss.backward();
            doctor.AfterBackward(loss);
            doctor.EndStep();   // no optimizer step: keep the weights finite so the NaN recurs from the same place
        }
        Assert.Equal(1, doctor.DivergedAt);
        var loss0 = Assert.Single(doctor.Findings, f => f.Code == TrainingCodes.NonFiniteLoss.Code);
        Assert.Equal(1, loss0.Step);
        var origin = Assert.Single(doctor.Findings, f => f.Code == TrainingCodes.NonFiniteForward.Code);
        Assert.Equal(("log", 2L), (origin.Module, origin.Step));
        Assert.Contains("log of 0", origin.Message);
    }
}

public class TorchVisionTrainingTests
{
    [Fact]
    public void Resnet18_training_is_observed_layer_by_layer()
    {
        torch.manual_seed(4);
        using var model = torchvision.models.resnet18(num_classes: 10);
        var opt = optim.SGD(model.parameters(), 0.01);
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 1 });
        using var x = torch.rand(4, 3, 32, 32);
        using var y = torch.randint(10, [4], dtype: ScalarType.Int64);
        for (int i = 0; i < 2; i++) MonitoredStep.Run(doctor, model, opt, x, y);
        var step = doctor.LastStep!;
        Assert.Contains(step.Activations, a => a.Module == "layer1.0.conv1" && a.ModuleType == "Conv2d" && a.Std > 0);
        var relu = step.Activations.First(a => a.Module == "layer1.0.relu1");
        Assert.InRange(relu.ZeroFraction!.Value, 0.01, 0.99);
        Assert.Contains(step.ActivationGradients, g => g.Module == "fc" && g.Norm > 0);
        Assert.Equal(62, step.Parameters.Count);
        Assert.All(step.Parameters, p => Assert.True(p.HasGradient && double.IsFinite(p.GradNorm)));
        Assert.Contains(step.Updates, u => u.Name == "conv1.weight" && u.Ratio > 0);
        Assert.Equal(0, step.Parameters.Single(p => p.Name == "conv1.weight").ExecutionOrder == int.MaxValue ? 1 : 0);
    }
}

public class RecurrentTrainingTests
{
    [Fact]
    public void Lstm_output_is_observed_through_its_first_tensor()
    {
        torch.manual_seed(5);
        using var model = new TextLstm();
        var opt = optim.Adam(model.parameters(), 1e-3);
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 1 });
        using var x = torch.randint(1000, [4, 12], dtype: ScalarType.Int64);
        using var y = torch.randint(5, [4], dtype: ScalarType.Int64);
        MonitoredStep.Run(doctor, model, opt, x, y);
        var lstm = Assert.Single(doctor.LastStep!.Activations, a => a.Module == "lstm");
        Assert.Equal(4L * 12 * 128, lstm.Elements);
        Assert.InRange(lstm.Max, -1, 1);   // LSTM outputs are tanh-bounded
        Assert.Contains(doctor.LastStep.Parameters, p => p.Name == "lstm.weight_ih_l0" && p.HasGradient && p.GradNorm > 0);
    }
}

/// <summary>One monitored training step, as a user's loop would write it.</summary>
internal static class MonitoredStep
{
    public static void Run(Doctor doctor, Module<Tensor, Tensor> model, optim.Optimizer opt, Tensor x, Tensor y)
    {
        using var scope = NewDisposeScope();
        doctor.BeginStep();
        opt.zero_grad();
        var loss = functional.cross_entropy(model.call(x), y);
        loss.backward();
        doctor.AfterBackward(loss);
        opt.step();
        doctor.EndStep();
    }
}

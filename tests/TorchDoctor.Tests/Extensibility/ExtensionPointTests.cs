using TorchDoctor.Findings;
using TorchDoctor.Observations;
using TorchDoctor.Sinks;
using TorchDoctor.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Tests.Extensibility;

/// <summary>A new sink and a new monitor are each one new file plus one registration line.</summary>
public class ExtensionPointTests
{
    private sealed class ThrowingSink : IDoctorSink
    {
        public int Calls;
        public void Emit(DoctorEvent e)
        {
            Calls++;
            throw new InvalidOperationException("sink is broken");
        }
    }

    private static (Module<Tensor, Tensor> Model, optim.Optimizer Opt) Model()
    {
        torch.manual_seed(3);
        var model = Sequential(("fc1", Linear(4, 8)), ("act", ReLU()), ("fc2", Linear(8, 3)));
        // fc1 is left out of the optimizer: a finding (TD2012) at attach, before the first step.
        var opt = optim.SGD(model.named_parameters().Where(p => p.name.StartsWith("fc2", StringComparison.Ordinal)).Select(p => p.parameter), 0.1);
        return (model, opt);
    }

    private static void Train(Doctor doctor, Module<Tensor, Tensor> model, optim.Optimizer opt, int steps)
    {
        torch.manual_seed(5);
        using var x = torch.randn(16, 4);
        using var y = torch.randint(0, 3, [16]);
        for (int s = 0; s < steps; s++) Training.MonitoredStep.Run(doctor, model, opt, x, y);
    }

    [Fact]
    public void A_collecting_sink_and_a_counting_monitor_plug_in_with_one_line_each()
    {
        var (model, opt) = Model();
        var sink = new CollectingSink();
        var counter = new CountingMonitor();
        using (var doctor = Doctor.Attach(model, opt, new DoctorOptions
               {
                   SampleInterval = 2,
                   Schedule = null,         // a fixed interval: steps 0, 2, 4 sampled
                   Sinks = [sink],          // the sink's registration line
                   Monitors = [counter],    // the monitor's registration line
               }))
        {
            Train(doctor, model, opt, 4);
            doctor.EndEpoch(trainLoss: 1.5, valLoss: 1.25);
            Train(doctor, model, opt, 2);

            // Findings reach the sink as they happen, the first one at attach (step null).
            var findings = sink.Events.OfType<FindingEvent>().Select(e => e.Finding).ToList();
            Assert.Equal(doctor.Findings, findings);
            Assert.Equal(TrainingCodes.NotInOptimizer.Code, findings[0].Code);
            Assert.Null(sink.Events[0].Step);

            // Every completed step's observations reach the sink, sampled or not, in order.
            var steps = sink.Events.OfType<ObservationEvent>().Select(e => e.Observation).OfType<StepObservations>().ToList();
            Assert.Equal([0L, 1, 2, 3, 4, 5], steps.Select(s => s.Step));
            Assert.Equal([true, false, true, false, true, false], steps.Select(s => s.Sampled));
            Assert.All(steps.Where(s => s.Sampled), s => Assert.NotEmpty(s.Activations));

            // The monitor saw every moment; its observations went to the sink live and into the step's Extra.
            var counts = sink.Events.OfType<ObservationEvent>().Select(e => e.Observation).OfType<MomentCount>().ToList();
            Assert.Equal(6, counts.Count);
            Assert.Equal(new MomentCount(5, 6, 6, 6, 1, 4), counts[^1]);
            Assert.Equal(counts[^1], Assert.Single(doctor.LastStep!.Extra));
            var epoch = sink.Events.OfType<ObservationEvent>().Select(e => e.Observation).OfType<EpochObservation>().Single();
            Assert.Equal((3L, 0, (double?)1.25), (epoch.Step, epoch.Record.Epoch, epoch.Record.ValLoss));
            Assert.Equal(1, doctor.Epoch);
        }
    }

    [Fact]
    public void A_failing_sink_never_breaks_training_or_the_other_sinks()
    {
        var (model, opt) = Model();
        // fc1 (not in the optimizer) with biases of −10: every unit of act is dead, a finding once the run spans 20 steps.
        using (torch.no_grad())
            foreach (var (name, p) in model.named_parameters().Where(p => p.name == "fc1.bias")) p.fill_(-10);
        var broken = new ThrowingSink();
        var sink = new CollectingSink();
        int handled = 0;
        using var doctor = Doctor.Attach(model, opt, new DoctorOptions { SampleInterval = 1, Schedule = null, Sinks = [broken, sink] });
        bool armed = false;   // the handler first receives the findings so far (replayed on subscription), then the new ones
        doctor.FindingRaised += (_, _) => { if (!armed) return; handled++; throw new InvalidOperationException("handler is broken"); };
        armed = true;
        // 20 steps: a dead ReLU must stay off over 20 training steps.
        Train(doctor, model, opt, 20);
        Assert.Equal(20, sink.Events.OfType<ObservationEvent>().Count());
        Assert.Equal(broken.Calls, sink.Events.Count);
        Assert.Equal(broken.Calls, doctor.SinkErrors.Count(e => e.Sink == broken));
        // A finding raised during training (after attach's TD2012) reaches the throwing handler, which is isolated.
        Assert.Contains(doctor.Findings, f => f.Step is not null);
        Assert.True(handled >= 1);
        Assert.Equal(handled, doctor.SinkErrors.Count(e => e.Exception.Message == "handler is broken"));
    }
}

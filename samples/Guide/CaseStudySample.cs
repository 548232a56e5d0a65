using TorchDoctor.Findings;
using TorchDoctor.Training;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Guide;

/// <summary>Chapter 9, the overfitting case study: watch validation loss per epoch; stop at the best epoch.</summary>
internal static class CaseStudySample
{
    public static bool Run(TextWriter o)
    {
        // 48 training samples whose labels carry little signal: a wide MLP can only memorise them.
        var (x, y) = Data.Blobs(48, features: 20, classes: 4, spread: 6.0, seed: 1);
        var (vx, vy) = Data.Blobs(256, features: 20, classes: 4, spread: 6.0, seed: 1);
        var model = Sequential(("fc1", Linear(20, 256)), ("relu", ReLU()), ("fc2", Linear(256, 256)), ("relu2", ReLU()), ("fc3", Linear(256, 4)));
        var optimizer = optim.Adam(model.parameters(), 1e-3);
        using var doctor = model.AttachDoctor(optimizer);
        using var stopping = new EarlyStopping(model, patience: 3);
        for (int epoch = 0; epoch < 12; epoch++)
        {
            double trainLoss = 0;
            model.train();
            for (int b = 0; b < 3; b++)
            {
                using var scope = NewDisposeScope();
                var (xb, yb) = Data.Batch(x, y, b, 16);
                doctor.BeginStep();
                optimizer.zero_grad();
                var loss = functional.cross_entropy(model.call(xb), yb);
                loss.backward();
                doctor.AfterBackward(loss);
                optimizer.step();
                doctor.EndStep();
                trainLoss += loss.item<float>() / 3;
            }
            model.eval();
            double valLoss;
            using (no_grad()) valLoss = functional.cross_entropy(model.call(vx), vy).item<float>();
            doctor.EndEpoch(trainLoss, valLoss);
            stopping.Update(valLoss);
            if (epoch % 3 == 2) o.WriteLine($"epoch {epoch + 1,2}: train {trainLoss:0.000}  val {valLoss:0.000}");
        }
        var overfit = doctor.Findings.FirstOrDefault(f => f.Code == ConvergenceCodes.Overfitting.Code);
        o.WriteLine(overfit?.ToString() ?? "no overfitting finding");
        o.WriteLine($"EarlyStopping: best validation loss {stopping.Best:0.000} (BestEpoch {stopping.BestEpoch}, counted from 1); RestoreBest() puts those weights back.");
        stopping.RestoreBest();
        return overfit is not null;
    }
}

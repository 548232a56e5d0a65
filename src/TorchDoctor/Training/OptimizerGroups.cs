using System.Collections.Concurrent;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;

namespace TorchDoctor.Training;

/// <summary>
/// What TorchSharp keeps in an optimizer's param groups beyond the learning rate: the parameters of a group, and its
/// <c>weight_decay</c> (a public field of each built-in optimizer's own options type, not of <see cref="OptimizerOptions"/>;
/// its <see cref="FieldInfo"/> is looked up once per options type).
/// </summary>
internal static class OptimizerGroups
{
    private static readonly ConcurrentDictionary<Type, FieldInfo?> DecayFields = new();

    /// <summary>The parameters of <paramref name="group"/>; empty when the group is not a TorchSharp <see cref="ParamGroup"/>.</summary>
    public static IEnumerable<Parameter> Parameters(torch.optim.ILearningRateController group)
        => group is ParamGroup pg ? pg.Parameters : [];

    /// <summary>The <c>weight_decay</c> of <paramref name="group"/>, or null when its options have none.</summary>
    public static double? WeightDecay(torch.optim.ILearningRateController group)
    {
        if (group is not ParamGroup { Options: { } options }) return null;
        return DecayFields.GetOrAdd(options.GetType(), t => t.GetField("weight_decay"))?.GetValue(options) is double wd ? wd : null;
    }
}

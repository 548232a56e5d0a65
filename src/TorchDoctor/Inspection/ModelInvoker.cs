using TorchDoctor.Probes;
using System.Reflection;
using System.Runtime.ExceptionServices;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Inspection;

/// <summary>Calls a module's <c>call(...)</c> (so hooks fire) whatever its forward signature.</summary>
public static class ModelInvoker
{
    /// <summary>
    /// Invokes <c>model.call(inputs...)</c>. Trailing optional arguments that were not given (e.g. an
    /// LSTM's initial state) are passed as null. Exceptions thrown by the model propagate unwrapped.
    /// </summary>
    public static object? Call(Module model, IReadOnlyList<object?> inputs)
    {
        var methods = model.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance)
            .Where(m => m.Name == "call").ToList();
        MethodInfo? chosen = null;
        object?[]? args = null;
        foreach (var m in methods.OrderBy(m => Math.Abs(m.GetParameters().Length - inputs.Count)))
        {
            var ps = m.GetParameters();
            if (ps.Length == 1 && ps[0].ParameterType.IsArray && ps[0].IsDefined(typeof(ParamArrayAttribute)))
            {
                var elem = ps[0].ParameterType.GetElementType()!;
                if (!inputs.All(i => i is null || elem.IsInstanceOfType(i))) continue;
                var arr = Array.CreateInstance(elem, inputs.Count);
                for (int i = 0; i < inputs.Count; i++) arr.SetValue(inputs[i], i);
                chosen = m; args = [arr];
                break;
            }
            if (ps.Length < inputs.Count) continue;
            bool ok = true;
            var a = new object?[ps.Length];
            for (int i = 0; i < ps.Length && ok; i++)
            {
                if (i < inputs.Count)
                {
                    ok = inputs[i] is null ? !ps[i].ParameterType.IsValueType || Nullable.GetUnderlyingType(ps[i].ParameterType) is not null
                                           : ps[i].ParameterType.IsInstanceOfType(inputs[i]);
                    a[i] = inputs[i];
                }
                else
                {
                    ok = !ps[i].ParameterType.IsValueType || Nullable.GetUnderlyingType(ps[i].ParameterType) is not null;
                    a[i] = ps[i].HasDefaultValue ? ps[i].DefaultValue : null;
                }
            }
            if (ok) { chosen = m; args = a; break; }
        }
        if (chosen is null)
            throw new ArgumentException(
                $"{ModuleNode.TypeNameOf(model)} has no call(...) that accepts {inputs.Count} tensor argument(s); " +
                $"its call signatures are: {string.Join("; ", methods.Select(m => "(" + string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name)) + ")"))}.");
        try
        {
            return chosen.Invoke(model, args);
        }
        catch (TargetInvocationException tie) when (tie.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(tie.InnerException).Throw();
            throw;
        }
    }
}

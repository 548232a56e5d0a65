using System.Collections.Concurrent;
using System.Linq.Expressions;
using System.Reflection;
using Module = TorchSharp.torch.nn.Module;
using TorchSharp;
using static TorchSharp.torch.nn;

namespace TorchDoctor.Probes;

/// <summary>Receives forward calls of hooked modules. Implementations must not keep tensors alive.</summary>
public interface IForwardObserver
{
    /// <summary>Called before a module's <c>forward</c> runs. <paramref name="inputs"/> are the call's arguments.</summary>
    void OnEnter(Module module, object?[] inputs);

    /// <summary>
    /// Called after a module's <c>forward</c> returned (not when it threw). Returns null to keep the
    /// output, or a replacement of the same type that must hold the same values (e.g. an identity
    /// autograd node that observes the gradient flowing back).
    /// </summary>
    object? OnExit(Module module, object?[] inputs, object? output);
}

/// <summary>
/// Attaches a forward pre-hook and a forward hook to every hookable module it is given, whatever its
/// <c>forward</c> signature (<c>Module&lt;T,TResult&gt;</c> up to six arguments, TorchScript modules
/// included). Pre-hooks return the module's own inputs; post-hooks return its output, or the
/// observer's value-identical replacement, so values flowing through the model never change.
/// Dispose to remove every hook.
/// </summary>
public sealed class ModuleHooks : IDisposable
{
    private readonly List<Action> _removers = [];
    private readonly List<Module> _unhookable = [];

    private ModuleHooks() { }

    /// <summary>Modules that expose no typed hook (their calls cannot be observed).</summary>
    public IReadOnlyList<Module> Unhookable => _unhookable;

    /// <summary>Hooks every module in <paramref name="modules"/>, reporting to <paramref name="observer"/>.</summary>
    public static ModuleHooks Attach(IEnumerable<Module> modules, IForwardObserver observer)
    {
        var hooks = new ModuleHooks();
        foreach (var m in modules)
        {
            var binder = Binders.GetOrAdd(m.GetType(), HookBinder.Create);
            if (binder is null) { hooks._unhookable.Add(m); continue; }
            hooks._removers.Add(binder.Register(m, observer));
        }
        return hooks;
    }

    /// <summary>Removes every hook this instance added.</summary>
    public void Dispose()
    {
        foreach (var remove in _removers) remove();
        _removers.Clear();
    }

    private static readonly ConcurrentDictionary<Type, HookBinder?> Binders = new();

    /// <summary>Compiled, per-module-type glue between TorchSharp's typed hooks and <see cref="IForwardObserver"/>.</summary>
    private sealed class HookBinder
    {
        private MethodInfo _registerPre = null!, _registerPost = null!;
        private Func<IForwardObserver, Delegate> _makePre = null!, _makePost = null!;

        public Action Register(Module module, IForwardObserver observer)
        {
            var pre = _registerPre.Invoke(module, [_makePre(observer)]);
            var post = _registerPost.Invoke(module, [_makePost(observer)]);
            return () =>
            {
                Remove(pre);
                Remove(post);
            };
        }

        private static void Remove(object? remover)
            => remover?.GetType().GetMethod("remove", Type.EmptyTypes)?.Invoke(remover, null);

        public static HookBinder? Create(Type moduleType)
        {
            var pre = FindTypedRegister(moduleType, "register_forward_pre_hook");
            var post = FindTypedRegister(moduleType, "register_forward_hook");
            if (pre is null || post is null) return null;
            return new HookBinder
            {
                _registerPre = pre,
                _registerPost = post,
                _makePre = CompileFactory(pre.GetParameters()[0].ParameterType, isPre: true),
                _makePost = CompileFactory(post.GetParameters()[0].ParameterType, isPre: false),
            };
        }

        private static MethodInfo? FindTypedRegister(Type moduleType, string name)
            => moduleType.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(mi => mi.Name == name && mi.GetParameters().Length == 1)
                .FirstOrDefault(mi =>
                {
                    var p = mi.GetParameters()[0].ParameterType;
                    return typeof(Delegate).IsAssignableFrom(p) && p != typeof(Action<Module>) &&
                           p.GetMethod("Invoke")!.GetParameters().Length >= 2;
                });

        /// <summary>
        /// Builds <c>observer =&gt; (m, x1..xn[, result]) =&gt; ...</c>. A pre-hook calls OnEnter and returns its
        /// single input (or null for several inputs: "no change"); a post-hook returns
        /// <c>(TResult)(observer.OnExit(...) ?? result)</c>.
        /// </summary>
        private static Func<IForwardObserver, Delegate> CompileFactory(Type delegateType, bool isPre)
        {
            var invoke = delegateType.GetMethod("Invoke")!;
            var ps = invoke.GetParameters().Select(p => Expression.Parameter(p.ParameterType, p.Name)).ToArray();
            var observer = Expression.Parameter(typeof(IForwardObserver), "observer");
            int inputCount = isPre ? ps.Length - 1 : ps.Length - 2;
            var inputs = Expression.NewArrayInit(typeof(object),
                ps.Skip(1).Take(inputCount).Select(p => (Expression)Expression.Convert(p, typeof(object))));
            var module = Expression.Convert(ps[0], typeof(Module));
            Expression call, result;
            if (isPre)
            {
                call = Expression.Call(observer, typeof(IForwardObserver).GetMethod(nameof(IForwardObserver.OnEnter))!, module, inputs);
                result = inputCount == 1 && ps[1].Type == invoke.ReturnType
                    ? ps[1]
                    : Expression.Default(invoke.ReturnType);
            }
            else
            {
                var output = ps[^1];
                var boxed = Expression.Convert(output, typeof(object));
                var replacement = Expression.Call(observer, typeof(IForwardObserver).GetMethod(nameof(IForwardObserver.OnExit))!,
                    module, inputs, boxed);
                call = Expression.Empty();
                result = Expression.Convert(Expression.Coalesce(replacement, boxed), output.Type);
            }
            var hook = Expression.Lambda(delegateType, Expression.Block(call, result), ps);
            var factory = Expression.Lambda<Func<IForwardObserver, Delegate>>(hook, observer);
            return factory.Compile();
        }
    }
}

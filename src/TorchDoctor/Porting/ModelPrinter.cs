using TorchDoctor.Probes;
using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Module = TorchSharp.torch.nn.Module;

namespace TorchDoctor.Porting;

/// <summary>
/// Prints a TorchSharp model exactly the way PyTorch's <c>print(model)</c> does: nested
/// <c>(name): Type(arguments)</c> lines, two-space indentation, PyTorch's own <c>extra_repr</c> text for
/// the common layers. A faithful port prints the same text as its original, so <c>diff</c> shows only
/// real differences. Custom modules print their registered children (and no arguments, as PyTorch does
/// for a module without <c>extra_repr</c>); TorchSharp layers TorchDoctor does not know print their type
/// and a note.
/// </summary>
public static class ModelPrinter
{
    /// <summary>PyTorch's <c>print(model)</c> text for <paramref name="model"/>.</summary>
    public static string Print(Module model, PrintOptions? options = null)
        => Describe(model).ToText(options ?? new PrintOptions());

    /// <summary>The printed tree of <paramref name="model"/> (type, arguments, children).</summary>
    public static PrintedModule Describe(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Runtime.TorchRuntime.EnsureLoaded();
        return Build(model, "", "", ScriptTypeNames.For(model));
    }

    private static PrintedModule Build(Module module, string name, string path, IReadOnlyDictionary<string, string>? scriptNames)
    {
        // A loaded TorchScript module prints as PyTorch prints torch.jit.load's result: RecursiveScriptModule with the
        // original class name (its extra_repr), read from the archive.
        var (type, args, note) = module is jit.ScriptModule && scriptNames is not null && scriptNames.TryGetValue(path, out var original)
            ? ("RecursiveScriptModule", $"original_name={original}", null)
            : Describe1(module);
        var node = new PrintedModule(name, type, args, note);
        var children = module.named_children().ToList();
        foreach (var (childName, child) in children)
            node.Add(Build(child, childName, path.Length == 0 ? childName : path + "." + childName, scriptNames));
        if (children.Count == 0 && module is MultiheadAttention)
        {
            // TorchSharp's MultiheadAttention is native: it has out_proj's parameters but no child module.
            var w = Param(module, "out_proj.weight");
            if (w is not null)
                node.Add(new PrintedModule("out_proj", "NonDynamicallyQuantizableLinear",
                    $"in_features={w.shape[1]}, out_features={w.shape[0]}, bias={PyRepr.Bool(Param(module, "out_proj.bias") is not null)}"));
        }
        return node;
    }

    private static Tensor? Param(Module m, string name)
        => m.named_parameters().FirstOrDefault(p => p.name == name).parameter;

    /// <summary>Type name as PyTorch prints it, arguments, and a note when the layer is unknown.</summary>
    private static (string Type, string Args, string? Note) Describe1(Module m)
    {
        var type = ModuleNode.TypeNameOf(m);
        string B(bool v) => PyRepr.Bool(v);
        string F(double v) => PyRepr.Float(v);
        string I(long v) => PyRepr.Int(v);
        string T(long[] v) => PyRepr.Tuple(v);
        string C(long[] v) => PyRepr.Compact(v);
        string Inplace(bool inplace) => inplace ? ", inplace=True" : "";
        switch (m)
        {
            case Convolution c:
                {
                    var s = $"{I(c.in_channels)}, {I(c.out_channels)}, kernel_size={T(c.kernel_size)}, stride={T(c.stride)}";
                    if (c.padding_type is { } pt) s += ", padding=" + pt.ToString().ToLowerInvariant();
                    else if (c.padding is { } p && p.Any(x => x != 0)) s += ", padding=" + T(p);
                    if (c.dilation.Any(x => x != 1)) s += ", dilation=" + T(c.dilation);
                    if (c.output_padding is { } op && op.Any(x => x != 0)) s += ", output_padding=" + T(op);
                    if (c.groups != 1) s += ", groups=" + I(c.groups);
                    if (c.bias is null) s += ", bias=False";
                    if (c.padding_mode != PaddingModes.Zeros) s += ", padding_mode=" + c.padding_mode.ToString().ToLowerInvariant();
                    return (type, s, null);
                }
            case Linear l:
                return (type, $"in_features={I(l.in_features)}, out_features={I(l.out_features)}, bias={B(l.bias is not null)}", null);
            case Bilinear bl:
                return (type, $"in1_features={I(bl.in1_features)}, in2_features={I(bl.in2_features)}, out_features={I(bl.out_features)}, bias={B(bl.bias is not null)}", null);
            case NormBase n:
                return (type, $"{I(n.num_features)}, eps={F(n.eps)}, momentum={(n.momentum is { } mo ? F(mo) : "None")}, affine={B(n.affine)}, track_running_stats={B(n.track_running_stats)}", null);
            case LayerNorm ln:
                return (type, $"{T(ln.normalized_shape)}, eps={F(ln.eps)}, elementwise_affine={B(ln.elementwise_affine)}", null);
            case GroupNorm gn:
                {
                    var channels = gn.weight is { } w ? I(w.shape[0]) : "?";
                    return (type, $"{I(gn.num_groups)}, {channels}, eps={F(gn.eps)}, affine={B(gn.affine)}",
                        gn.weight is null ? "num_channels is not stored by TorchSharp when affine=False" : null);
                }
            case LocalResponseNorm lrn:
                return (type, $"{I(lrn.size)}, alpha={F(lrn.alpha)}, beta={F(lrn.beta)}, k={F(lrn.k)}", null);
            case ReLU r: return (type, r.inplace ? "inplace=True" : "", null);
            case ReLU6 r6: return (type, r6.inplace ? "inplace=True" : "", null);
            case SELU se: return (type, se.inplace ? "inplace=True" : "", null);
            case SiLU si: return (type, si.inplace ? "inplace=True" : "", null);
            case Mish mi: return (type, mi.inplace ? "inplace=True" : "", null);
            case LeakyReLU lr: return (type, $"negative_slope={F(lr.negative_slope)}{Inplace(lr.inplace)}", null);
            case ELU elu: return (type, $"alpha={F(elu.alpha)}{Inplace(elu.inplace)}", null);
            case CELU celu: return (type, $"alpha={F(celu.alpha)}{Inplace(celu.inplace)}", null);
            case Hardtanh ht: return (type, $"min_val={F(ht.min_val)}, max_val={F(ht.max_val)}{Inplace(ht.inplace)}", null);
            case Threshold th: return (type, $"threshold={F(th.threshold)}, value={F(th.value)}{Inplace(th.inplace)}", null);
            case RReLU rr: return (type, $"lower={F(rr.lower)}, upper={F(rr.upper)}{Inplace(rr.inplace)}", null);
            case GELU g: return (type, "approximate=" + PyRepr.Str(g.approximate.ToString().ToLowerInvariant()), null);
            case Softmax sm: return (type, $"dim={I(sm.dim)}", null);
            case LogSoftmax lsm: return (type, $"dim={I(lsm.dim)}", null);
            case Softmin smin: return (type, $"dim={I(smin.dim)}", null);
            case GLU glu: return (type, $"dim={I(glu.dim)}", null);
            case Hardshrink hs: return (type, F(hs.lambda), null);
            case Softshrink ss: return (type, F(ss.lambda), null);
            case Softplus sp: return (type, $"beta={F(sp.beta)}, threshold={F(sp.threshold)}", null);
            case PReLU pr: return (type, $"num_parameters={I(pr.num_parameters)}", null);
            case Sigmoid or Tanh or Hardswish or Hardsigmoid or LogSigmoid or Softsign or Tanhshrink or Softmax2d or Identity:
                return (type, "", null);
            case Dropout d: return (type, $"p={F(d.p)}, inplace={B(d.inplace)}", null);
            case Dropout1d d1: return (type, $"p={F(d1.p)}, inplace={B(d1.inplace)}", null);
            case Dropout2d d2: return (type, $"p={F(d2.p)}, inplace={B(d2.inplace)}", null);
            case Dropout3d d3: return (type, $"p={F(d3.p)}, inplace={B(d3.inplace)}", null);
            case AlphaDropout ad: return (type, $"p={F(ad.p)}, inplace={B(ad.inplace)}", null);
            case FeatureAlphaDropout fad: return (type, $"p={F(fad.p)}, inplace={B(fad.inplace)}", null);
            case MaxPool1d mp1:
                return (type, $"kernel_size={I(mp1.kernel_size)}, stride={I(mp1.stride ?? mp1.kernel_size)}, padding={I(mp1.padding ?? 0)}, dilation={I(mp1.dilation ?? 1)}, ceil_mode={B(mp1.ceil_mode)}", null);
            case MaxPool2d mp2:
                return (type, $"kernel_size={C(mp2.kernel_size)}, stride={C(mp2.stride ?? mp2.kernel_size)}, padding={C(mp2.padding ?? [0])}, dilation={C(mp2.dilation ?? [1])}, ceil_mode={B(mp2.ceil_mode)}", null);
            case MaxPool3d mp3:
                return (type, $"kernel_size={C(mp3.kernel_size)}, stride={C(mp3.stride ?? mp3.kernel_size)}, padding={C(mp3.padding ?? [0])}, dilation={C(mp3.dilation ?? [1])}, ceil_mode={B(mp3.ceil_mode)}", null);
            case AvgPool1d ap1:
                return (type, $"kernel_size={T([ap1.kernel_size])}, stride={T([ap1.stride ?? ap1.kernel_size])}, padding={T([ap1.padding ?? 0])}", null);
            case AvgPool2d ap2:
                return (type, $"kernel_size={C(ap2.kernel_size)}, stride={C(ap2.stride ?? ap2.kernel_size)}, padding={C(ap2.padding ?? [0])}", null);
            case AvgPool3d ap3:
                return (type, $"kernel_size={C(ap3.kernel_size)}, stride={C(ap3.stride ?? ap3.kernel_size)}, padding={C(ap3.padding ?? [0])}", null);
            case AdaptiveAvgPool1d aa1: return (type, $"output_size={I(aa1.output_size)}", null);
            case AdaptiveMaxPool1d am1: return (type, $"output_size={I(am1.output_size)}", null);
            case AdaptiveAvgPool2d aa2: return (type, $"output_size={T(aa2.output_size)}", null);
            case AdaptiveAvgPool3d aa3: return (type, $"output_size={T(aa3.output_size)}", null);
            case AdaptiveMaxPool2d am2: return (type, $"output_size={T(am2.output_size)}", null);
            case AdaptiveMaxPool3d am3: return (type, $"output_size={T(am3.output_size)}", null);
            case Flatten fl: return (type, $"start_dim={I(fl.start_dim)}, end_dim={I(fl.end_dim)}", null);
            case Unflatten uf: return (type, $"dim={I(uf.dim)}, unflattened_size={T(uf.unflattened_size)}", null);
            case Embedding emb when emb.weight is { } ew:
                return (type, $"{I(ew.shape[0])}, {I(ew.shape[1])}", null);
            case LSTM or GRU or RNN:
                return (type, RnnArgs(m), null);
            case MultiheadAttention: return (type, "", null);
            case PixelShuffle ps: return (type, $"upscale_factor={I(ps.upscale_factor)}", null);
            case PixelUnshuffle pu: return (type, $"downscale_factor={I(pu.downscale_factor)}", null);
            case ChannelShuffle cs: return (type, $"groups={I(cs.groups)}", null);
            case ConstantPad1d or ConstantPad2d or ConstantPad3d:
                {
                    var pb = (PadBase)m;
                    return (type, $"padding={T(pb.padding)}, value={F(pb.value)}", null);
                }
            case PadBase pad: return (type, T(pad.padding), null);
            case Upsample up: return (type, UpsampleArgs(up), null);
            case CosineSimilarity or PairwiseDistance: return (type, "", null);
            case Sequential: return (type, "", null);
            case jit.ScriptModule sm:
                {
                    var own = sm.named_parameters(recurse: false).Where(p => !p.name.Contains('.')).Select(p => $"{p.name} [{string.Join(", ", p.parameter.shape)}]").ToList();
                    return ("ScriptModule", "", "TorchScript: type and arguments not available" + (own.Count > 0 ? "; " + string.Join(", ", own) : ""));
                }
        }
        if (type.EndsWith("Loss", StringComparison.Ordinal)) return (type, "", null);   // PyTorch prints losses without arguments
        var t = m.GetType();
        if (t.Assembly == typeof(Module).Assembly && !(t.IsGenericType && t.Name.StartsWith("Module", StringComparison.Ordinal)))
            return (type, "", "not in TorchDoctor's table: arguments not shown");
        return (type, "", null);   // ModuleList, ModuleDict and custom modules: children only, like PyTorch
    }

    private static string RnnArgs(Module m)
    {
        long Field(string name) => Convert.ToInt64(m.GetType().GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(m) ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
        bool Flag(string name) => m.GetType().GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(m) is true;
        var ps = m.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        long input = ps.TryGetValue("weight_ih_l0", out var wih) ? wih.shape[1] : 0;
        var s = $"{input}, {Field("_hidden_size")}";
        if (ps.TryGetValue("weight_hr_l0", out var whr)) s += $", proj_size={whr.shape[0]}";
        var layers = Field("_num_layers");
        if (layers != 1) s += $", num_layers={layers}";
        if (!ps.ContainsKey("bias_ih_l0")) s += ", bias=False";
        if (Flag("_batch_first")) s += ", batch_first=True";
        if (Flag("_bidirectional")) s += ", bidirectional=True";
        return s;
    }

    private static string UpsampleArgs(Upsample up)
    {
        var f = typeof(Upsample).GetField("_scale_factor", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(up) as double[];
        var size = typeof(Upsample).GetField("_size", BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(up) as long[];
        string info = f is { Length: > 0 }
            ? "scale_factor=" + (f.Length == 1 ? PyRepr.Float(f[0]) : PyRepr.Tuple(f))
            : "size=" + (size is null ? "None" : size.Length == 1 ? PyRepr.Int(size[0]) : PyRepr.Tuple(size));
        return info + ", mode=" + PyRepr.Str(up.mode.ToString().ToLowerInvariant());
    }

    /// <summary>PyTorch's <c>print(model)</c> text for this model (an extension for <c>Module</c>).</summary>
    public static string ToPyTorchString(this Module model, PrintOptions? options = null) => Print(model, options);
}

using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace TorchDoctor.Analyzers
{
    /// <summary>
    /// TD1003, the static twin of the shape explainer: layers with literal sizes applied one after the other that
    /// cannot fit: <c>Linear(10, 20)</c> then <c>Linear(30, 3)</c>, <c>Conv2d(1, 16, 3)</c> then
    /// <c>Conv2d(32, ...)</c> or <c>BatchNorm2d(32)</c>. Chains are the arguments of <c>nn.Sequential(...)</c>, and the
    /// straight-line data flow of a module's <c>forward</c> through its fields (<c>x = fc1.call(x); x = relu(x);
    /// x = fc2.call(x)</c>). Activations and dropout keep both sizes; pooling, upsampling and padding keep the channels;
    /// anything else (view, flatten, cat, an unknown module, a branch) ends the chain.
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class LayerChainAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Rules.ShapeMismatch);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var types = TorchTypes.Create(start.Compilation);
                if (types is null) return;
                start.RegisterSyntaxNodeAction(c => AnalyzeSequential(c), SyntaxKind.InvocationExpression);
                start.RegisterSyntaxNodeAction(c => AnalyzeForward(c, types), SyntaxKind.MethodDeclaration);
            });
        }

        private static readonly HashSet<string> KeepsAll = new HashSet<string>
        {
            "ReLU", "ReLU6", "LeakyReLU", "RReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Mish", "ELU", "SELU", "CELU", "Softmax",
            "LogSoftmax", "Softmin", "Softplus", "Softsign", "Hardtanh", "Hardswish", "Hardsigmoid", "LogSigmoid", "Threshold",
            "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Identity",
            "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "mish", "elu", "selu", "celu", "softmax",
            "log_softmax", "softplus", "hardtanh", "hardswish", "hardsigmoid", "logsigmoid", "dropout", "dropout2d", "relu_", "sigmoid_", "tanh_",
        };

        private static readonly HashSet<string> KeepsChannels = new HashSet<string>
        {
            "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
            "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "Upsample", "ZeroPad2d",
            "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
        };

        /// <summary>What a tensor is known to be: its channels (dim 1 after a conv), its last dimension (after a Linear).</summary>
        private sealed class State
        {
            public long? Channels;
            public long? Last;
            public string From = "";
        }

        /// <summary>A layer with literal sizes.</summary>
        private sealed class Layer
        {
            public string Kind = "";       // linear, conv, norm-channels, norm-last, keep-all, keep-channels
            public long In;
            public long Out;
            public ArgumentSyntax? InArgument;
            public string Text = "";
        }

        private static Layer? Describe(ExpressionSyntax e, SemanticModel model, System.Threading.CancellationToken ct)
        {
            if (e is TupleExpressionSyntax t && t.Arguments.Count == 2) e = t.Arguments[1].Expression;
            if (!(e is InvocationExpressionSyntax inv)) return null;
            if (!(model.GetSymbolInfo(inv, ct).Symbol is IMethodSymbol m) || !TorchTypes.IsTorchSharp(m) || m.ContainingType.Name != "nn") return null;
            var text = (inv.Expression is MemberAccessExpressionSyntax ma ? ma.Name.ToString() : inv.Expression.ToString()) + inv.ArgumentList;
            if (KeepsAll.Contains(m.Name)) return new Layer { Kind = "keep-all", Text = text };
            if (KeepsChannels.Contains(m.Name)) return new Layer { Kind = "keep-channels", Text = text };
            ArgumentSyntax? Arg(int ordinal)
            {
                if (ordinal >= m.Parameters.Length) return null;
                var p = m.Parameters[ordinal];
                foreach (var a in inv.ArgumentList.Arguments.Select((a, i) => (a, i)))
                {
                    if (a.a.NameColon != null) { if (a.a.NameColon.Name.Identifier.ValueText == p.Name) return a.a; }
                    else if (a.i == ordinal) return a.a;
                }
                return null;
            }
            long? Value(ArgumentSyntax? a) => a is null ? null : TorchTypes.ConstantLong(model, a.Expression);
            switch (m.Name)
            {
                case "Linear":
                case "Conv1d": case "Conv2d": case "Conv3d":
                case "ConvTranspose1d": case "ConvTranspose2d": case "ConvTranspose3d":
                {
                    if (m.Parameters.Length < 2 || m.Parameters[0].Type.SpecialType != SpecialType.System_Int64) return null;
                    var inArg = Arg(0);
                    var i = Value(inArg);
                    var o = Value(Arg(1));
                    if (i is null || o is null) return null;
                    return new Layer { Kind = m.Name == "Linear" ? "linear" : "conv", In = i.Value, Out = o.Value, InArgument = inArg, Text = text };
                }
                case "BatchNorm1d": case "BatchNorm2d": case "BatchNorm3d": case "InstanceNorm1d": case "InstanceNorm2d": case "InstanceNorm3d":
                {
                    var a = Arg(0);
                    var n = Value(a);
                    return n is null ? null : new Layer { Kind = "norm-channels", In = n.Value, Out = n.Value, InArgument = a, Text = text };
                }
                case "LayerNorm":
                {
                    if (m.Parameters.Length == 0 || m.Parameters[0].Type.SpecialType != SpecialType.System_Int64) return null;
                    var a = Arg(0);
                    var n = Value(a);
                    return n is null ? null : new Layer { Kind = "norm-last", In = n.Value, Out = n.Value, InArgument = a, Text = text };
                }
            }
            return null;
        }

        /// <summary>Applies <paramref name="layer"/> to <paramref name="s"/>; reports a mismatch; returns the output state (null: unknown).</summary>
        private static State? Apply(State? s, Layer layer, System.Action<Diagnostic> report)
        {
            switch (layer.Kind)
            {
                case "keep-all": return s;
                case "keep-channels": return s is null ? null : new State { Channels = s.Channels, From = s.From };
                case "linear":
                    if (s?.Last != null && s.Last != layer.In) Report(report, layer, "input features", s.Last.Value, s.From, "in_features");
                    return new State { Last = layer.Out, From = layer.Text };
                case "conv":
                    if (s?.Channels != null && s.Channels != layer.In) Report(report, layer, "input channels", s.Channels.Value, s.From, "in_channels");
                    return new State { Channels = layer.Out, From = layer.Text };
                case "norm-channels":
                    if (s?.Channels != null && s.Channels != layer.In) Report(report, layer, "channels", s.Channels.Value, s.From, "num_features");
                    return new State { Channels = layer.In, Last = s?.Last, From = layer.Text };
                case "norm-last":
                    if (s?.Last != null && s.Last != layer.In) Report(report, layer, "features in the last dimension", s.Last.Value, s.From, "normalized_shape");
                    return new State { Last = layer.In, Channels = s?.Channels, From = layer.Text };
            }
            return null;
        }

        private static void Report(System.Action<Diagnostic> report, Layer layer, string what, long produced, string from, string parameter)
        {
            var fix = $"set {parameter} of {layer.Text} to {produced} (or change {from} to produce {layer.In})";
            var unit = what.StartsWith("input ") ? what.Substring(6) : what;
            report(Diagnostic.Create(Rules.ShapeMismatch, layer.InArgument!.GetLocation(),
                ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix).Add(DiagnosticIds.ExpectedSizeProperty, produced.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                layer.Text, layer.In, what, from, $"{produced} {unit}", fix));
        }

        private static void AnalyzeSequential(SyntaxNodeAnalysisContext context)
        {
            var inv = (InvocationExpressionSyntax)context.Node;
            if (TorchTypes.InvokedName(inv) != "Sequential" || inv.ArgumentList.Arguments.Count < 2) return;
            if (!(context.SemanticModel.GetSymbolInfo(inv, context.CancellationToken).Symbol is IMethodSymbol m) || !TorchTypes.IsTorchSharp(m)) return;
            State? s = null;
            foreach (var a in inv.ArgumentList.Arguments)
            {
                var layer = Describe(a.Expression, context.SemanticModel, context.CancellationToken);
                s = layer is null ? null : Apply(s, layer, context.ReportDiagnostic);
            }
        }

        private static void AnalyzeForward(SyntaxNodeAnalysisContext context, TorchTypes types)
        {
            var method = (MethodDeclarationSyntax)context.Node;
            if (method.Identifier.ValueText != "forward" || method.Body is null) return;
            var model = context.SemanticModel;
            var ct = context.CancellationToken;
            var owner = model.GetDeclaredSymbol(method, ct)?.ContainingType;
            if (owner is null || !types.IsModule(owner)) return;

            var layers = new Dictionary<ISymbol, Layer?>(SymbolEqualityComparer.Default);
            Layer? FieldLayer(ISymbol field)
            {
                if (layers.TryGetValue(field, out var known)) return known;
                Layer? layer = null;
                var decl = field.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(ct);
                var typeDecl = decl?.FirstAncestorOrSelf<TypeDeclarationSyntax>();
                if (decl != null && typeDecl != null && typeDecl.SyntaxTree == model.SyntaxTree)
                {
                    var values = new List<ExpressionSyntax>();
                    if (decl is VariableDeclaratorSyntax v && v.Initializer != null) values.Add(v.Initializer.Value);
                    if (decl is PropertyDeclarationSyntax pd && pd.Initializer != null) values.Add(pd.Initializer.Value);
                    foreach (var a in typeDecl.DescendantNodes().OfType<AssignmentExpressionSyntax>())
                    {
                        var left = a.Left is MemberAccessExpressionSyntax ma && ma.Expression is ThisExpressionSyntax ? ma.Name : a.Left;
                        if (left is IdentifierNameSyntax id && id.Identifier.ValueText == field.Name
                            && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(left, ct).Symbol, field)) values.Add(a.Right);
                    }
                    if (values.Count == 1) layer = Describe(values[0], model, ct);
                }
                layers[field] = layer;
                return layer;
            }

            var env = new Dictionary<ISymbol, State?>(SymbolEqualityComparer.Default);
            var reported = new HashSet<Location>();
            void ReportOnce(Diagnostic d) { if (reported.Add(d.Location)) context.ReportDiagnostic(d); }

            State? Eval(ExpressionSyntax e)
            {
                while (e is ParenthesizedExpressionSyntax p) e = p.Expression;
                if (e is IdentifierNameSyntax id)
                    return model.GetSymbolInfo(id, ct).Symbol is ISymbol s && env.TryGetValue(s, out var st) ? st : null;
                if (!(e is InvocationExpressionSyntax inv)) return null;
                var name = TorchTypes.InvokedName(inv);
                var receiver = TorchTypes.Receiver(inv);
                if ((name == "call" || name == "forward") && receiver != null && inv.ArgumentList.Arguments.Count == 1)
                {
                    var r = receiver is MemberAccessExpressionSyntax rm && rm.Expression is ThisExpressionSyntax ? rm.Name : receiver;
                    var field = model.GetSymbolInfo(r, ct).Symbol;
                    if (!(field is IFieldSymbol) && !(field is IPropertySymbol)) return null;
                    var layer = FieldLayer(field);
                    var input = Eval(inv.ArgumentList.Arguments[0].Expression);
                    return layer is null ? null : Apply(input, layer, ReportOnce);
                }
                if (name is null || !(model.GetSymbolInfo(inv, ct).Symbol is IMethodSymbol m) || !TorchTypes.IsTorchSharp(m)) return null;
                ExpressionSyntax? source = m.IsStatic ? inv.ArgumentList.Arguments.FirstOrDefault()?.Expression : receiver;
                if (source is null) return null;
                if (KeepsAll.Contains(name)) return Eval(source);
                if (KeepsChannels.Contains(name)) { var s = Eval(source); return s is null ? null : new State { Channels = s.Channels, From = s.From }; }
                return null;
            }

            foreach (var statement in method.Body.Statements)
            {
                switch (statement)
                {
                    case LocalDeclarationStatementSyntax local:
                        foreach (var v in local.Declaration.Variables)
                            if (v.Initializer != null && model.GetDeclaredSymbol(v, ct) is ISymbol s) env[s] = Eval(v.Initializer.Value);
                        break;
                    case ExpressionStatementSyntax es when es.Expression is AssignmentExpressionSyntax a && a.IsKind(SyntaxKind.SimpleAssignmentExpression):
                        var state = Eval(a.Right);
                        if (model.GetSymbolInfo(a.Left, ct).Symbol is ISymbol target) env[target] = state;
                        break;
                    case ReturnStatementSyntax ret when ret.Expression != null:
                        Eval(ret.Expression);
                        break;
                    default:
                        env.Clear();
                        break;
                }
            }
        }
    }
}

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
    /// TD5001 (module/parameter fields never registered: no RegisterComponents(), fields assigned after it, or a
    /// subclass whose base constructor already ran it, TorchSharp #1485) and TD5002 (modules in arrays, lists,
    /// dictionaries, TorchSharp #532).
    /// </summary>
    [DiagnosticAnalyzer(LanguageNames.CSharp)]
    public sealed class ModuleRegistrationAnalyzer : DiagnosticAnalyzer
    {
        /// <inheritdoc />
        public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
            ImmutableArray.Create(Rules.MissingRegisterComponents, Rules.ModuleCollection);

        /// <inheritdoc />
        public override void Initialize(AnalysisContext context)
        {
            context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
            context.EnableConcurrentExecution();
            context.RegisterCompilationStartAction(start =>
            {
                var types = TorchTypes.Create(start.Compilation);
                if (types is null) return;
                var index = new System.Lazy<UsageIndex>(() => BuildIndex(start.Compilation, types, start.CancellationToken));
                start.RegisterSymbolAction(c => AnalyzeType(c, types, index), SymbolKind.NamedType);
            });
        }

        // TorchSharp modules without parameters or buffers: leaving them unregistered changes nothing.
        private static readonly HashSet<string> ParameterFree = new HashSet<string>
        {
            "ReLU", "ReLU6", "LeakyReLU", "RReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Mish", "ELU", "SELU", "CELU", "GLU",
            "Softmax", "Softmax2d", "LogSoftmax", "Softmin", "Softplus", "Softsign", "Softshrink", "Hardshrink", "Tanhshrink",
            "Hardtanh", "Hardswish", "Hardsigmoid", "LogSigmoid", "Threshold", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
            "AlphaDropout", "FeatureAlphaDropout", "Flatten", "Unflatten", "Identity", "MaxPool1d", "MaxPool2d", "MaxPool3d",
            "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
            "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "Upsample", "PixelShuffle",
            "PixelUnshuffle", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d",
            "ReplicationPad1d", "ReplicationPad2d", "ChannelShuffle", "CosineSimilarity", "PairwiseDistance",
        };

        /// <summary>
        /// True when a field of this type holds trainable state: a Parameter, a TorchSharp layer with parameters, or a
        /// module class of the compilation with such fields. A field typed as the abstract Module base is unknown: false.
        /// </summary>
        internal static bool HoldsParameters(TorchTypes types, ITypeSymbol t, int depth = 0)
        {
            if (types.IsParameter(t)) return true;
            if (t is IArrayTypeSymbol a) return HoldsParameters(types, a.ElementType, depth + 1);
            if (!types.IsModule(t)) return false;
            if (TorchTypes.IsTorchSharpType(t))
            {
                if (t.Name == "Module" || ParameterFree.Contains(t.Name)) return false;
                for (var b = t; b != null; b = b.BaseType)
                    if (TorchTypes.IsTorchSharpType(b) && b.Name.EndsWith("Loss")) return false;
                return true;
            }
            if (depth > 4) return false;
            foreach (var f in t.GetMembers().OfType<IFieldSymbol>())
            {
                if (f.IsStatic || f.IsConst) continue;
                if (HoldsParameters(types, f.Type, depth + 1)) return true;
                if (f.Type is INamedTypeSymbol n && n.IsGenericType && n.TypeArguments.Any(x => HoldsParameters(types, x, depth + 1))) return true;
            }
            return t.BaseType != null && !TorchTypes.IsTorchSharpType(t.BaseType) && HoldsParameters(types, t.BaseType, depth + 1);
        }

        /// <summary>How the compilation uses module classes: created on their own (outside any module) or held by a module.</summary>
        private sealed class UsageIndex
        {
            public readonly HashSet<ITypeSymbol> CreatedOnTheirOwn = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default);
            public readonly HashSet<ITypeSymbol> HeldByModules = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default);
        }

#pragma warning disable RS1030 // one pass over the compilation's trees, built once and only when a class lacks RegisterComponents()
        private static UsageIndex BuildIndex(Compilation compilation, TorchTypes types, System.Threading.CancellationToken ct)
        {
            var index = new UsageIndex();
            void Held(ITypeSymbol? t)
            {
                if (t is null) return;
                if (t is IArrayTypeSymbol a) { Held(a.ElementType); return; }
                index.HeldByModules.Add(t.OriginalDefinition);
                if (t is INamedTypeSymbol n) foreach (var x in n.TypeArguments) Held(x);
            }
            foreach (var tree in compilation.SyntaxTrees)
            {
                var model = compilation.GetSemanticModel(tree);
                foreach (var node in tree.GetRoot(ct).DescendantNodes())
                {
                    if (node is BaseObjectCreationExpressionSyntax creation)
                    {
                        var created = model.GetTypeInfo(creation, ct).Type;
                        if (created is null || !types.IsModule(created)) continue;
                        var owner = creation.FirstAncestorOrSelf<TypeDeclarationSyntax>();
                        var ownerSymbol = owner is null ? null : model.GetDeclaredSymbol(owner, ct);
                        if (ownerSymbol != null && types.IsModule(ownerSymbol)) index.HeldByModules.Add(created.OriginalDefinition);
                        else index.CreatedOnTheirOwn.Add(created.OriginalDefinition);
                    }
                    else if (node is TypeDeclarationSyntax td && model.GetDeclaredSymbol(td, ct) is INamedTypeSymbol declared && types.IsModule(declared))
                    {
                        foreach (var m in declared.GetMembers())
                            if (m is IFieldSymbol f && !f.IsStatic) Held(f.Type);
                            else if (m is IPropertySymbol p && !p.IsStatic) Held(p.Type);
                    }
                }
            }
            return index;
        }
#pragma warning restore RS1030

        // A module class may be partial, its declarations in several files: the rule reads each declaration with its
        // own tree's semantic model (RS1030 warns about that cost; a symbol action has no other way to them).
#pragma warning disable RS1030
        private static void AnalyzeType(SymbolAnalysisContext context, TorchTypes types, System.Lazy<UsageIndex> index)
        {
            var type = (INamedTypeSymbol)context.Symbol;
            if (type.TypeKind != TypeKind.Class || !types.IsModule(type) || TorchTypes.IsTorchSharpType(type)) return;
            var declarations = type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(context.CancellationToken)).OfType<ClassDeclarationSyntax>().ToList();
            if (declarations.Count == 0) return;
            var compilation = context.Compilation;

            // Every name mentioned in register_module/register_parameter/register_buffer arguments, or handed to a
            // TorchSharp container (Sequential(list), new ModuleList<T>(array)), counts as registered by hand.
            var registeredByHand = new HashSet<string>();
            var containerArguments = new HashSet<string>();
            foreach (var decl in declarations)
            {
                var model = compilation.GetSemanticModel(decl.SyntaxTree);
                foreach (var inv in decl.DescendantNodes().OfType<InvocationExpressionSyntax>())
                {
                    var name = TorchTypes.InvokedName(inv);
                    if (name == "register_module" || name == "register_parameter" || name == "register_buffer")
                        foreach (var id in inv.ArgumentList.DescendantNodes().OfType<IdentifierNameSyntax>()) registeredByHand.Add(id.Identifier.ValueText);
                    else if (TorchTypes.ContainerName(model.GetTypeInfo(inv, context.CancellationToken).Type) != null)
                        foreach (var id in inv.ArgumentList.DescendantNodes().OfType<IdentifierNameSyntax>()) containerArguments.Add(id.Identifier.ValueText);
                }
                foreach (var creation in decl.DescendantNodes().OfType<BaseObjectCreationExpressionSyntax>())
                {
                    if (creation.ArgumentList is null) continue;
                    if (TorchTypes.ContainerName(model.GetTypeInfo(creation, context.CancellationToken).Type) != null)
                        foreach (var id in creation.ArgumentList.DescendantNodes().OfType<IdentifierNameSyntax>()) containerArguments.Add(id.Identifier.ValueText);
                }
            }

            var stateFields = new List<(IFieldSymbol Field, string Name, string Kind)>();
            foreach (var f in type.GetMembers().OfType<IFieldSymbol>())
            {
                if (f.IsStatic || f.IsConst) continue;
                var name = f.AssociatedSymbol?.Name ?? f.Name;
                CheckCollection(context, types, f, name, registeredByHand, containerArguments);
                if (!HoldsParameters(types, f.Type) || registeredByHand.Contains(name)) continue;
                stateFields.Add((f, name, types.IsParameter(f.Type) ? "parameter" : "module"));
            }
            if (stateFields.Count == 0) return;

            var ctors = type.InstanceConstructors.Where(c => !c.IsImplicitlyDeclared)
                .Select(c => c.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(context.CancellationToken) as ConstructorDeclarationSyntax)
                .Where(c => c != null).Cast<ConstructorDeclarationSyntax>().ToList();

            var baseName = BaseThatRegisters(type.BaseType, types, compilation, context);
            var fieldList = string.Join(",", stateFields.Select(s => s.Name + ":" + s.Kind));
            var fieldNames = string.Join(", ", stateFields.Select(s => s.Name));
            if (baseName != null)
            {
                var calls = string.Join(" ", stateFields.Select(s => $"register_{s.Kind}(\"{s.Name}\", {s.Name});"));
                var fix = $"register them at the end of the constructor: {calls}";
                var props = ImmutableDictionary<string, string?>.Empty
                    .Add(DiagnosticIds.FixProperty, fix).Add(DiagnosticIds.RegistrationKindProperty, "register").Add(DiagnosticIds.FieldsProperty, fieldList);
                var message = $"RegisterComponents() already ran in the constructor of the base class {baseName}, so here it returns early (TorchSharp #1485): {Plural(stateFields.Count, "field")} {fieldNames} of {type.Name} {(stateFields.Count == 1 ? "is" : "are")} never registered (missing from parameters() and state_dict()).";
                foreach (var loc in ctors.Count > 0 ? ctors.Select(c => c.Identifier.GetLocation()) : new[] { declarations[0].Identifier.GetLocation() })
                    context.ReportDiagnostic(Diagnostic.Create(Rules.MissingRegisterComponents, loc, props, message, fix));
                return;
            }

            var registering = new HashSet<ConstructorDeclarationSyntax>(ctors.Where(c => CallsRegisterComponents(c)));
            // this(...) chains to a registering constructor count as registering.
            bool changed = true;
            while (changed)
            {
                changed = false;
                foreach (var c in ctors)
                {
                    if (registering.Contains(c) || c.Initializer is null || !c.Initializer.ThisOrBaseKeyword.IsKind(SyntaxKind.ThisKeyword)) continue;
                    var target = compilation.GetSemanticModel(c.SyntaxTree).GetSymbolInfo(c.Initializer, context.CancellationToken).Symbol;
                    var targetSyntax = target?.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(context.CancellationToken) as ConstructorDeclarationSyntax;
                    if (targetSyntax != null && registering.Contains(targetSyntax)) { registering.Add(c); changed = true; }
                }
            }

            var addFix = "call RegisterComponents() as the constructor's last statement";
            var addProps = ImmutableDictionary<string, string?>.Empty
                .Add(DiagnosticIds.FixProperty, addFix).Add(DiagnosticIds.RegistrationKindProperty, "add").Add(DiagnosticIds.FieldsProperty, fieldList);
            var missing = $"The constructor of {type.Name} never calls RegisterComponents(): {Plural(stateFields.Count, "field")} {fieldNames} {(stateFields.Count == 1 ? "is" : "are")} registered only if a parent module registers this one; used on its own (as the model given to the optimizer), parameters() and state_dict() miss {(stateFields.Count == 1 ? "it" : "them")}.";
            // Without RegisterComponents() the fields are still registered when a parent module registers this one
            // (register_module runs the child's RegisterComponents): only a class used on its own, or not held by any
            // module of the compilation, loses them.
            var definition = type.OriginalDefinition;
            bool usedAlone = index.Value.CreatedOnTheirOwn.Contains(definition) || !index.Value.HeldByModules.Contains(definition);
            if (ctors.Count == 0)
            {
                if (!usedAlone) return;
                context.ReportDiagnostic(Diagnostic.Create(Rules.MissingRegisterComponents, declarations[0].Identifier.GetLocation(), addProps, missing, "add a constructor that calls RegisterComponents()"));
                return;
            }
            foreach (var c in ctors)
            {
                if (!registering.Contains(c))
                {
                    if (!usedAlone) continue;
                    context.ReportDiagnostic(Diagnostic.Create(Rules.MissingRegisterComponents, c.Identifier.GetLocation(), addProps, missing, addFix));
                    continue;
                }
                ReportAssignedAfterRegistration(context, c, stateFields);
            }
        }

#pragma warning restore RS1030

        private static void ReportAssignedAfterRegistration(SymbolAnalysisContext context, ConstructorDeclarationSyntax ctor, List<(IFieldSymbol Field, string Name, string Kind)> fields)
        {
            if (ctor.Body is null) return;
            var call = ctor.Body.Statements.FirstOrDefault(s => s is ExpressionStatementSyntax es && es.Expression is InvocationExpressionSyntax inv && TorchTypes.InvokedName(inv) == "RegisterComponents");
            if (call is null) return;
            var names = new HashSet<string>(fields.Select(f => f.Name));
            var index = ctor.Body.Statements.IndexOf(call);
            foreach (var later in ctor.Body.Statements.Skip(index + 1))
            {
                foreach (var assign in later.DescendantNodesAndSelf().OfType<AssignmentExpressionSyntax>())
                {
                    if (TorchTypes.InNestedFunction(assign, later)) continue;
                    var target = assign.Left is MemberAccessExpressionSyntax ma && ma.Expression is ThisExpressionSyntax ? ma.Name.Identifier.ValueText
                        : assign.Left is IdentifierNameSyntax id ? id.Identifier.ValueText : null;
                    if (target is null || !names.Contains(target)) continue;
                    var fix = "move RegisterComponents() to the end of the constructor";
                    var props = ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix).Add(DiagnosticIds.RegistrationKindProperty, "move");
                    context.ReportDiagnostic(Diagnostic.Create(Rules.MissingRegisterComponents, assign.GetLocation(), props,
                        $"'{target}' is assigned after RegisterComponents() ran, so it is never registered (missing from parameters() and state_dict()).", fix));
                }
            }
        }

        private static string Plural(int n, string word) => n == 1 ? word : word + "s";

        internal static bool CallsRegisterComponents(ConstructorDeclarationSyntax c)
        {
            SyntaxNode? body = (SyntaxNode?)c.Body ?? c.ExpressionBody;
            if (body is null) return false;
            return body.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>()
                .Any(inv => TorchTypes.InvokedName(inv) == "RegisterComponents" && !TorchTypes.InNestedFunction(inv, body));
        }

        /// <summary>The name of the nearest source base class whose constructors call RegisterComponents(), or null.</summary>
        private static string? BaseThatRegisters(INamedTypeSymbol? b, TorchTypes types, Compilation compilation, SymbolAnalysisContext context)
        {
            for (; b != null && types.IsModule(b) && !TorchTypes.IsTorchSharpType(b); b = b.BaseType)
            {
                var ctors = b.InstanceConstructors
                    .Select(c => c.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(context.CancellationToken) as ConstructorDeclarationSyntax)
                    .Where(c => c != null).Cast<ConstructorDeclarationSyntax>().ToList();
                if (ctors.Count > 0 && ctors.All(CallsRegisterComponents)) return b.Name;
            }
            return null;
        }

        private static void CheckCollection(SymbolAnalysisContext context, TorchTypes types, IFieldSymbol f, string name,
            HashSet<string> registeredByHand, HashSet<string> containerArguments)
        {
            ITypeSymbol? element = null;
            string shape;
            if (f.Type is IArrayTypeSymbol array) { element = array.ElementType; shape = "array"; }
            else if (f.Type is INamedTypeSymbol named && named.IsGenericType && named.ContainingNamespace?.ToDisplayString().StartsWith("System.Collections") == true)
            {
                element = named.TypeArguments.LastOrDefault(a => types.IsModule(a) || types.IsParameter(a));
                shape = named.Name + "<>";
                if (element is null) return;
            }
            else return;
            bool isParameter = types.IsParameter(element);
            if (!isParameter && !types.IsModule(element)) return;
            if (registeredByHand.Contains(name) || containerArguments.Contains(name)) return;
            var loc = f.Locations.FirstOrDefault();
            if (f.AssociatedSymbol != null) loc = f.AssociatedSymbol.Locations.FirstOrDefault();
            if (loc is null || !loc.IsInSource) return;
            var elementName = element.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            var isDictionary = f.Type is INamedTypeSymbol n2 && n2.TypeArguments.Length == 2;
            var container = isParameter ? (isDictionary ? "ParameterDict" : "ParameterList") : (isDictionary ? $"ModuleDict<{elementName}>" : $"ModuleList<{elementName}>");
            var fix = $"declare '{name}' as {container} (TorchSharp.Modules), or call {(isParameter ? "register_parameter" : "register_module")}(name, element) for each element";
            var what = isParameter ? "parameters" : "modules";
            var shapeText = f.Type is IArrayTypeSymbol ? "plain array" : ((INamedTypeSymbol)f.Type).Name + "<...>";
            context.ReportDiagnostic(Diagnostic.Create(Rules.ModuleCollection, loc,
                ImmutableDictionary<string, string?>.Empty.Add(DiagnosticIds.FixProperty, fix), name, what, shapeText, fix));
        }
    }
}

using System.Reflection;

namespace TorchDoctor.Findings;

/// <summary>
/// The finding catalogue: every <see cref="FindingCode"/> of the library's <c>*Codes</c> classes (one per range:
/// <see cref="StructureCodes"/> TD1xxx, <see cref="TrainingCodes"/> TD2xxx, <see cref="DataCodes"/> TD3xxx,
/// <see cref="PortingCodes"/> TD4xxx) plus codes registered by other assemblies (<see cref="Register(Type)"/>).
/// docs/findings.md documents each built-in code (a test keeps the two in step, descriptions included).
/// </summary>
public static class FindingCatalogue
{
    private static readonly Lock Gate = new();
    private static readonly List<FindingCode> BuiltIn = CodesOf(typeof(FindingCatalogue).Assembly.GetTypes()
        .Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("Codes", StringComparison.Ordinal)));
    private static IReadOnlyList<FindingCode> _all = Sorted(BuiltIn);

    /// <summary>Every code, built-in and registered, in code order.</summary>
    public static IReadOnlyList<FindingCode> All => _all;

    /// <summary>The entry with this code or slug, or null.</summary>
    public static FindingCode? Find(string codeOrSlug)
        => All.FirstOrDefault(c => c.Code.Equals(codeOrSlug, StringComparison.OrdinalIgnoreCase) || c.Slug.Equals(codeOrSlug, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Registers codes defined outside the library: the public static <see cref="FindingCode"/> fields of
    /// <paramref name="codesClass"/>. Registering the same code twice is a no-op; a code or slug already taken by
    /// another entry throws.
    /// </summary>
    public static void Register(Type codesClass) => Register(CodesOf([codesClass]).ToArray());

    /// <summary>Registers individual codes (see <see cref="Register(Type)"/>).</summary>
    public static void Register(params FindingCode[] codes)
    {
        lock (Gate)
        {
            var list = _all.ToList();
            foreach (var c in codes)
            {
                if (list.Contains(c)) continue;
                if (list.Any(x => x.Code == c.Code || x.Slug == c.Slug))
                    throw new ArgumentException($"Finding code {c.Code} `{c.Slug}` clashes with an entry of the catalogue.", nameof(codes));
                list.Add(c);
            }
            _all = Sorted(list);
        }
    }

    private static List<FindingCode> CodesOf(IEnumerable<Type> types) => types
        .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
        .Where(f => f.FieldType == typeof(FindingCode))
        .Select(f => (FindingCode)f.GetValue(null)!)
        .ToList();

    private static IReadOnlyList<FindingCode> Sorted(IEnumerable<FindingCode> codes) => codes.OrderBy(c => c.Code, StringComparer.Ordinal).ToList();
}

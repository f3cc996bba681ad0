using ArchUnitNET.Domain;
using ArchUnitNET.Loader;

using ArchitectureModel = ArchUnitNET.Domain.Architecture;

namespace SafeSql.Tests;

/// <summary>
/// The namespaces of SafeSql depend one way (docs/architecture.md): ConnectionStrings → Classification → Leases →
/// Resilience → the data source (root namespace) → dependency injection (<c>AddSafeSql</c>, in
/// Microsoft.Extensions.DependencyInjection), with Diagnostics (the meter and event ids) under them all. The dependencies are read from the compiled assembly (every type reference in signatures, fields and IL)
/// by ArchUnitNET, so a new cycle fails here with the types that close it.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly ArchitectureModel Model = new ArchLoader().LoadAssemblies(typeof(SafeSqlDataSource).Assembly).Build();

    [Fact]
    public void Namespaces_OfTheSafeSqlAssembly_HaveNoDependencyCycle()
    {
        var edges = NamespaceEdges();
        var cycles = StronglyConnectedComponents(edges).Where(component => component.Count > 1).ToList();

        var explanation = string.Join(Environment.NewLine, cycles.Select(component =>
            "cycle: " + string.Join(" ↔ ", component.Order(StringComparer.Ordinal)) + Environment.NewLine +
            string.Join(Environment.NewLine, edges
                .Where(edge => component.Contains(edge.Key.From) && component.Contains(edge.Key.To))
                .OrderBy(edge => edge.Key.From, StringComparer.Ordinal).ThenBy(edge => edge.Key.To, StringComparer.Ordinal)
                .Select(edge => $"  {edge.Key.From} → {edge.Key.To}: {edge.Value}"))));
        Assert.True(cycles.Count == 0, explanation);
    }

    /// <summary>Lower index = lower layer; a namespace may depend only on namespaces below it.</summary>
    private static readonly string[] Layers =
    [
        "SafeSql.Shared.Tds", // the TDS codec compiled in from src/Shared/Tds; it uses nothing of SafeSql
        "SafeSql.Diagnostics",
        "SafeSql.ConnectionStrings",
        "SafeSql",
        "Microsoft.Extensions.DependencyInjection", // AddSafeSql and AddSafeSqlHealthCheck, in the namespace DI users already import
    ];

    [Fact]
    public void Namespaces_OfTheSafeSqlAssembly_FollowTheDocumentedLayers()
    {
        string[] layers = Layers;
        var edges = NamespaceEdges();
        var unknown = edges.Keys.SelectMany(edge => new[] { edge.From, edge.To }).Distinct()
            .Where(ns => Array.IndexOf(layers, ns) < 0).ToList();
        var upward = edges.Where(edge => Array.IndexOf(layers, edge.Key.From) < Array.IndexOf(layers, edge.Key.To))
            .Select(edge => $"{edge.Key.From} → {edge.Key.To}: {edge.Value}").ToList();

        Assert.True(unknown.Count == 0, "namespaces missing from the layer list (add them to docs/architecture.md and here): " + string.Join(", ", unknown));
        Assert.True(upward.Count == 0, "dependencies against the layers:" + Environment.NewLine + string.Join(Environment.NewLine, upward));
    }

    /// <summary>
    /// What the compiled assembly cannot show: a constant (inlined by the compiler) or a <c>cref</c> used from a layer above.
    /// Every <c>using SafeSql.*;</c> in src/SafeSql must point down.
    /// </summary>
    [Fact]
    public void UsingDirectives_InTheSafeSqlSources_PointDownTheLayers()
    {
        var root = Path.Combine(RepositoryRoot(), "src", "SafeSql");
        var upward = new List<string>();
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var lines = File.ReadAllLines(file);
            var own = lines.FirstOrDefault(l => l.StartsWith("namespace ", StringComparison.Ordinal))?["namespace ".Length..].TrimEnd(';', ' ');
            if (own is null)
            {
                continue;
            }

            foreach (var used in lines.Where(l => l.StartsWith("using SafeSql", StringComparison.Ordinal)).Select(l => l["using ".Length..].TrimEnd(';', ' ')))
            {
                if (Array.IndexOf(Layers, own) < Array.IndexOf(Layers, used))
                {
                    upward.Add($"{Path.GetRelativePath(root, file)}: {own} uses {used}");
                }
            }
        }

        Assert.True(upward.Count == 0, "using directives against the layers:" + Environment.NewLine + string.Join(Environment.NewLine, upward));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "SafeSql.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"SafeSql.sln not found above {AppContext.BaseDirectory}.");
    }

    /// <summary>Namespace → namespace edges inside SafeSql, each with one example type pair that makes it.</summary>
    private static Dictionary<(string From, string To), string> NamespaceEdges()
    {
        var edges = new Dictionary<(string From, string To), string>();
        foreach (var type in Model.Types)
        {
            var from = OwnNamespace(type);
            foreach (var dependency in type.Dependencies)
            {
                var target = dependency.Target;
                if (target.Assembly != type.Assembly)
                {
                    continue;
                }

                var to = OwnNamespace(target);
                if (from != to)
                {
                    edges.TryAdd((from, to), $"{type.FullName} uses {target.FullName}");
                }
            }
        }

        return edges;
    }

    /// <summary>The namespace a type is declared in (a nested or compiler-generated type counts as its outermost type's).</summary>
    private static string OwnNamespace(IType type) => type.Namespace.FullName;

    private static List<HashSet<string>> StronglyConnectedComponents(Dictionary<(string From, string To), string> edges)
    {
        var nodes = edges.Keys.SelectMany(edge => new[] { edge.From, edge.To }).Distinct().ToList();
        var reaches = nodes.ToDictionary(node => node, node => Reachable(node, edges));
        var components = new List<HashSet<string>>();
        foreach (var node in nodes)
        {
            if (components.Any(component => component.Contains(node)))
            {
                continue;
            }

            components.Add([node, .. nodes.Where(other => other != node && reaches[node].Contains(other) && reaches[other].Contains(node))]);
        }

        return components;
    }

    private static HashSet<string> Reachable(string start, Dictionary<(string From, string To), string> edges)
    {
        var seen = new HashSet<string>();
        var pending = new Stack<string>([start]);
        while (pending.TryPop(out var node))
        {
            foreach (var next in edges.Keys.Where(edge => edge.From == node).Select(edge => edge.To))
            {
                if (seen.Add(next))
                {
                    pending.Push(next);
                }
            }
        }

        return seen;
    }
}

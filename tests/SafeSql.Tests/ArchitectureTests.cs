using ArchUnitNET.Domain;
using ArchUnitNET.Loader;

using SafeSql.Tests.TestUtilities;

using ArchitectureModel = ArchUnitNET.Domain.Architecture;

namespace SafeSql.Tests;

/// <summary>
/// The layers of SafeSql depend one way (docs/architecture.md), and a type's layer is the folder of its source file, not its
/// namespace (what an application touches is in namespace <c>SafeSql</c> whatever folder holds it): Shared/Tds →
/// Diagnostics → ConnectionStrings → Classification → Leases → Resilience → the data source (src/SafeSql itself) →
/// DependencyInjection (<c>AddSafeSql</c>). Two readings, because each sees what the other cannot: the compiled assembly
/// (every type reference in signatures, fields and IL, read by ArchUnitNET) and the sources (<c>cref</c>s, <c>nameof</c>,
/// inlined constants, and names a child namespace resolves through its parent without a <c>using</c>; <see cref="SourceLayers"/>).
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly ArchitectureModel Model = new ArchLoader().LoadAssemblies(typeof(SafeSqlDataSource).Assembly).Build();

    private static readonly List<SourceLayers.SourceFile> Sources = SourceLayers.ReadAssemblySources(RepositoryRoot());

    [Fact]
    public void Folders_OfTheSafeSqlSources_AreAllInTheLayerList()
    {
        var unknown = Sources.Select(file => file.Folder).Distinct().Where(folder => SourceLayers.IndexOf(folder) < 0).ToList();

        Assert.True(unknown.Count == 0, "folders missing from the layer list (add them to docs/architecture.md and SourceLayers.Folders): " + string.Join(", ", unknown));
    }

    [Fact]
    public void Types_OfTheSafeSqlSources_AreEachDeclaredInOneFolder()
    {
        var split = SourceLayers.DeclaredTypes(Sources).Where(type => type.Value.Count > 1)
            .Select(type => $"{type.Key}: {string.Join(", ", type.Value.Select(SourceLayers.Display))}").ToList();

        Assert.True(split.Count == 0, "types split across layer folders (keep a partial type's files in one folder):" + Environment.NewLine + string.Join(Environment.NewLine, split));
    }

    [Fact]
    public void CompiledReferences_OfTheSafeSqlAssembly_PointDownTheFolders()
    {
        var folderOf = SourceLayers.DeclaredTypes(Sources).ToDictionary(type => type.Key, type => type.Value.First(), StringComparer.Ordinal);
        var upward = new SortedSet<string>(StringComparer.Ordinal);
        var mapped = 0;
        foreach (var type in Model.Types)
        {
            if (!folderOf.TryGetValue(OuterName(type), out var from))
            {
                continue; // compiler-generated (source generators, <PrivateImplementationDetails>): no source file of ours
            }

            mapped++;
            foreach (var dependency in type.Dependencies)
            {
                if (dependency.Target.Assembly == type.Assembly
                    && folderOf.TryGetValue(OuterName(dependency.Target), out var to)
                    && SourceLayers.IndexOf(to) > SourceLayers.IndexOf(from))
                {
                    upward.Add($"{type.FullName} ({SourceLayers.Display(from)}) uses {dependency.Target.FullName} ({SourceLayers.Display(to)})");
                }
            }
        }

        Assert.True(mapped > 100, $"only {mapped} compiled types were matched to a source file: the mapping of names is broken");
        Assert.True(upward.Count == 0, "compiled references against the layers:" + Environment.NewLine + string.Join(Environment.NewLine, upward));
    }

    [Fact]
    public void SourceReferences_OfTheSafeSqlSources_PointDownTheFolders()
    {
        var upward = SourceLayers.UpwardReferences(Sources);

        Assert.True(upward.Count == 0, "source references against the layers (code, nameof, constants, crefs):" + Environment.NewLine + string.Join(Environment.NewLine, upward));
    }

    /// <summary>The source check fails on each kind of upward reference the compiled assembly cannot show, planted in a lower folder.</summary>
    [Fact]
    public void SourceReferences_PlantedUpwardReferenceOfEachKind_AreEachReported()
    {
        // Arrange: a Resilience type, and a Leases file that names it in each way the compiler hides or resolves silently.
        SourceLayers.SourceFile[] files =
        [
            new("Resilience", "Resilience/Upper.cs", """
                namespace SafeSql;

                internal static class Upper
                {
                    internal const int Limit = 3;
                }

                internal sealed class UpperOptions;
                """),
            new("Leases", "Leases/Planted.cs", """
                using static SafeSql.Upper;
                using Alias = SafeSql.UpperOptions;

                namespace SafeSql.Leases.Child;

                /// <summary>Documented with <see cref="Upper"/>.</summary>
                internal static class Planted
                {
                    internal const int Inlined = Upper.Limit;

                    internal static string Named => nameof(UpperOptions);

                    internal static object Resolved() => new UpperOptions();
                }
                """),
        ];

        // Act
        var upward = SourceLayers.UpwardReferences(files);

        // Assert: using static, alias, cref, constant, nameof, and the parent namespace's type without a using.
        Assert.Equal(
            [(1, "Upper"), (2, "UpperOptions"), (6, "Upper"), (9, "Upper"), (11, "UpperOptions"), (13, "UpperOptions")],
            upward.Select(v => (v.Line, v.Name)).OrderBy(v => v.Line).ToArray());
        Assert.All(upward, v => Assert.Equal(("Leases", "Resilience"), (v.FromFolder, v.ToFolder)));
    }

    [Fact]
    public void SourceReferences_DownwardAndMemberNames_AreNotReported()
    {
        // Arrange: a Resilience file using a Leases type, and a Leases file whose member names equal a Resilience type's name.
        SourceLayers.SourceFile[] files =
        [
            new("Leases", "Leases/Lower.cs", """
                namespace SafeSql;

                internal sealed class Lower
                {
                    internal int Upper { get; init; }

                    internal static Lower Make(int value) => new() { Upper = value };

                    internal static int Read(Lower lower) => lower.Upper + Make(Upper: 1)?.Upper ?? 0;
                }
                """),
            new("Resilience", "Resilience/Upper.cs", """
                namespace SafeSql;

                /// <summary>Uses <see cref="Lower.Upper"/>.</summary>
                internal sealed class Upper(Lower lower);
                """),
        ];

        // Act
        var upward = SourceLayers.UpwardReferences(files);

        // Assert
        Assert.Empty(upward);
    }

    private static string OuterName(IType type)
    {
        var name = type.FullName;
        var end = name.IndexOfAny(['+', '/', '`', '<']);
        return end < 0 ? name : name[..end];
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
}

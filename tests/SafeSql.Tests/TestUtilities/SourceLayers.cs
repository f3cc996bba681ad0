using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeSql.Tests.TestUtilities;

/// <summary>
/// The layers of the SafeSql assembly by folder (docs/architecture.md): a type's layer is the folder of its source file,
/// whatever its namespace. Read from the sources with Roslyn's parser (no compilation), so it sees what the compiled assembly
/// hides: <c>cref</c>s, <c>nameof</c>, constants the compiler inlines, and names a child namespace resolves through its
/// parent without a <c>using</c>.
/// </summary>
internal static class SourceLayers
{
    /// <summary>The folders of src/SafeSql, lowest first (<c>""</c> is the folder of the project itself); a folder may use only itself and those before it.</summary>
    internal static readonly string[] Folders =
    [
        "Shared/Tds", // src/Shared/Tds, the TDS codec compiled in (also into SafeSql.Testing and the tool); it uses nothing of SafeSql
        "Diagnostics",
        "Contracts", // what several layers share: the pool-exhausted exception and the snapshot and lease records it carries
        "ConnectionStrings",
        "Classification",
        "Leases",
        "Resilience",
        "",
        "DependencyInjection",
    ];

    private static readonly CSharpParseOptions s_parseOptions = new(LanguageVersion.Preview, DocumentationMode.Parse);

    /// <summary>One source file of the assembly: its layer folder, its path for messages, its text.</summary>
    internal sealed record SourceFile(string Folder, string Path, string Text);

    /// <summary>A name used in <see cref="SourceFile.Path"/> that is declared in a higher folder.</summary>
    internal sealed record Violation(string FromFolder, string Path, int Line, string Name, string ToFolder)
    {
        public override string ToString() => $"{Path}:{Line} ({Display(FromFolder)}) uses {Name} ({Display(ToFolder)})";
    }

    /// <summary>The folder shown in messages: the project's own folder is "root".</summary>
    internal static string Display(string folder) => folder.Length == 0 ? "root" : folder;

    /// <summary>The index of <paramref name="folder"/> in <see cref="Folders"/>, or -1 for a folder missing from the list.</summary>
    internal static int IndexOf(string folder) => Array.IndexOf(Folders, folder);

    /// <summary>The source files of the SafeSql assembly (src/SafeSql and the shared sources it compiles in), with their folders.</summary>
    internal static List<SourceFile> ReadAssemblySources(string repositoryRoot)
    {
        var project = Path.Combine(repositoryRoot, "src", "SafeSql");
        var files = Read(project, folder => folder);
        files.AddRange(Read(Path.Combine(repositoryRoot, "src", "Shared", "Tds"), _ => "Shared/Tds"));
        return files;

        static List<SourceFile> Read(string directory, Func<string, string> folderOf) =>
            Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
                .Select(path => (Path: path, Relative: Path.GetRelativePath(directory, path).Replace('\\', '/')))
                .Where(file => !file.Relative.StartsWith("obj/", StringComparison.Ordinal) && !file.Relative.StartsWith("bin/", StringComparison.Ordinal))
                .Select(file => new SourceFile(
                    folderOf(file.Relative.Contains('/', StringComparison.Ordinal) ? file.Relative[..file.Relative.LastIndexOf('/')] : ""),
                    file.Path,
                    File.ReadAllText(file.Path)))
                .ToList();
    }

    /// <summary>
    /// The folder of every type declared at namespace level, keyed by its full name without generic arity
    /// (<c>SafeSql.SingleFlight</c>). A type declared in two folders (a partial class split across layers) maps to each.
    /// </summary>
    internal static Dictionary<string, HashSet<string>> DeclaredTypes(IEnumerable<SourceFile> files)
    {
        var declared = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var (ns, name) in Declarations(Parse(file)))
            {
                var key = ns.Length == 0 ? name : ns + "." + name;
                if (!declared.TryGetValue(key, out var folders))
                {
                    declared[key] = folders = [];
                }

                folders.Add(file.Folder);
            }
        }

        return declared;
    }

    /// <summary>
    /// Every name in code, <c>nameof</c>, attributes and documentation <c>cref</c>s that is the simple name of a type declared
    /// only in a higher folder. Member names (<c>x.Name</c>, named arguments, initializer targets) are not type references and are skipped.
    /// </summary>
    internal static List<Violation> UpwardReferences(IReadOnlyCollection<SourceFile> files)
    {
        var typeFolders = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var (_, name) in Declarations(Parse(file)))
            {
                if (!typeFolders.TryGetValue(name, out var folders))
                {
                    typeFolders[name] = folders = [];
                }

                folders.Add(file.Folder);
            }
        }

        var violations = new List<Violation>();
        foreach (var file in files)
        {
            var from = IndexOf(file.Folder);
            var root = Parse(file).GetRoot();
            foreach (var name in root.DescendantNodes(descendIntoTrivia: true).OfType<SimpleNameSyntax>())
            {
                if (IsMemberName(name) || !typeFolders.TryGetValue(name.Identifier.ValueText, out var folders))
                {
                    continue;
                }

                // A name declared in this folder or a lower one is allowed even if a higher folder declares it too.
                if (folders.Any(folder => IndexOf(folder) <= from))
                {
                    continue;
                }

                var to = folders.OrderBy(IndexOf).First();
                var line = name.GetLocation().GetLineSpan().StartLinePosition.Line + 1;
                violations.Add(new Violation(file.Folder, file.Path, line, name.Identifier.ValueText, to));
            }
        }

        return violations;
    }

    private static SyntaxTree Parse(SourceFile file) => CSharpSyntaxTree.ParseText(file.Text, s_parseOptions, file.Path);

    private static IEnumerable<(string Namespace, string Name)> Declarations(SyntaxTree tree) =>
        tree.GetRoot().DescendantNodes()
            .Where(node => node is BaseTypeDeclarationSyntax or DelegateDeclarationSyntax
                && node.Parent is BaseNamespaceDeclarationSyntax or CompilationUnitSyntax)
            .Select(node => (
                (node.Parent as BaseNamespaceDeclarationSyntax)?.Name.ToString() ?? "",
                node switch
                {
                    BaseTypeDeclarationSyntax type => type.Identifier.ValueText,
                    DelegateDeclarationSyntax d => d.Identifier.ValueText,
                    _ => throw new InvalidOperationException(),
                }));

    /// <summary>Whether the name is a member's rather than a type's: the right of <c>x.Name</c>, <c>?.Name</c>, <c>Name:</c> or <c>{ Name = ... }</c>.</summary>
    private static bool IsMemberName(SimpleNameSyntax name) => name.Parent switch
    {
        MemberAccessExpressionSyntax access => access.Name == name,
        MemberBindingExpressionSyntax => true,
        NameColonSyntax => true,
        NameEqualsSyntax => true,
        AssignmentExpressionSyntax assignment => assignment.Left == name && assignment.Parent is InitializerExpressionSyntax,
        NameMemberCrefSyntax => name.Parent.Parent is QualifiedCrefSyntax,
        _ => false,
    };
}

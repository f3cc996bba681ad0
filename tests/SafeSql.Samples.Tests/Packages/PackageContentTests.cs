using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;

namespace SafeSql.Samples.Tests.Packages;

/// <summary>
/// Opens the packages a release would publish (.nupkg and .snupkg are zip files) and checks what a user and a debugger
/// get: the README, the XML docs, the repository information, and a PDB that matches the assembly, maps its sources to
/// the repository (SourceLink) and embeds them.
/// Runs alone (<see cref="PackageTestGroup"/>): packing loads the machine, and the sample tests beside it use 1 s connect
/// timeouts.
/// </summary>
[Collection(PackageTestGroup.Name)]
public sealed class PackageContentTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    private const string RepositoryUrl = "https://github.com/safesql/safesql";

    // https://github.com/dotnet/runtime/blob/main/docs/design/specs/PortablePdb-Metadata.md#sourcelink-c-and-vb-compilers
    private static readonly Guid s_sourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    // https://github.com/dotnet/runtime/blob/main/docs/design/specs/PortablePdb-Metadata.md#embedded-source-c-and-vb-compilers
    private static readonly Guid s_embeddedSourceKind = new("0E8A571B-6926-466E-B4AD-8AB04611F5FE");

    [Theory]
    [InlineData("SafeSql", "T:SafeSql.ISqlConnectionFactory")]
    [InlineData("SafeSql.Testing", "T:SafeSql.Testing.LoopbackSqlServer")]
    [InlineData("SafeSql.EntityFrameworkCore", "T:SafeSql.EntityFrameworkCore.SafeSqlExecutionStrategy")]
    [InlineData("SafeSql.AspNetCore", "T:SafeSql.AspNetCore.SafeSqlDiagnosticsOptions")]
    public void Nupkg_Packed_HoldsTheReadmeTheXmlDocsAndTheRepositoryInformation(string id, string documentedType)
    {
        // Arrange
        using var nupkg = ZipFile.OpenRead(packages.PathOf(id, "nupkg"));

        // Act
        var nuspec = XDocument.Parse(Read(nupkg, $"{id}.nuspec"));
        var readme = Read(nupkg, "README.md");
        var docs = Read(nupkg, $"lib/net10.0/{id}.xml");

        // Assert: the nuspec points at the README and the repository (with the commit), names the license and the changes.
        var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string? Value(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;
        Assert.Equal("README.md", Value("readme"));
        Assert.Equal("MIT", Value("license"));
        Assert.Equal(RepositoryUrl, Value("projectUrl"));
        Assert.Equal($"Changes in every release: {RepositoryUrl}/blob/main/CHANGELOG.md", Value("releaseNotes"));
        Assert.Contains("safesql", Value("tags")!.Split(' '));
        var repository = metadata.Elements().Single(e => e.Name.LocalName == "repository");
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.Equal(RepositoryUrl, (string?)repository.Attribute("url"));
        Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit"));

        // The README a user sees on the package page: what it is, how to install it.
        Assert.StartsWith($"# {id}\n", readme.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains($"dotnet add package {id}", readme, StringComparison.Ordinal);

        // The XML docs beside the assembly, for IntelliSense.
        Assert.Contains($"<member name=\"{documentedType}\">", docs, StringComparison.Ordinal);
        Assert.Contains($"lib/net10.0/{id}.dll", nupkg.Entries.Select(e => e.FullName));
        Assert.DoesNotContain(nupkg.Entries, e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("SafeSql", "SafeSqlDataSource.cs", "public sealed partial class SafeSqlDataSource")]
    [InlineData("SafeSql.Testing", "LoopbackSqlServer.cs", "public sealed class LoopbackSqlServer")]
    [InlineData("SafeSql.EntityFrameworkCore", "SafeSqlExecutionStrategy.cs", "public sealed class SafeSqlExecutionStrategy")]
    [InlineData("SafeSql.AspNetCore", "SafeSqlDiagnosticsOptions.cs", "public sealed class SafeSqlDiagnosticsOptions")]
    public void Snupkg_Packed_HoldsThePdbOfTheAssemblyWithSourceLinkAndEmbeddedSources(string id, string sourceFile, string sourceText)
    {
        // Arrange
        using var nupkg = ZipFile.OpenRead(packages.PathOf(id, "nupkg"));
        using var snupkg = ZipFile.OpenRead(packages.PathOf(id, "snupkg"));
        var commit = (string?)XDocument.Parse(Read(nupkg, $"{id}.nuspec")).Descendants().Single(e => e.Name.LocalName == "repository").Attribute("commit");

        // Act
        using var pe = new PEReader(new MemoryStream(ReadBytes(nupkg, $"lib/net10.0/{id}.dll")));
        using var pdbProvider = MetadataReaderProvider.FromPortablePdbStream(new MemoryStream(ReadBytes(snupkg, $"lib/net10.0/{id}.pdb")));
        var pdb = pdbProvider.GetMetadataReader();

        // Assert: the debugger pairs this PDB with the packed assembly (same id in the assembly's CodeView entry).
        var codeView = pe.ReadDebugDirectory().Single(entry => entry.Type == DebugDirectoryEntryType.CodeView);
        Assert.Equal(pe.ReadCodeViewDebugDirectoryData(codeView).Guid, new BlobContentId(pdb.DebugMetadataHeader!.Id).Guid);

        // SourceLink: the sources map to raw files of the repository at the packed commit.
        var sourceLink = pdb.CustomDebugInformation
            .Select(pdb.GetCustomDebugInformation)
            .Single(info => pdb.GetGuid(info.Kind) == s_sourceLinkKind);
        using var map = JsonDocument.Parse(pdb.GetBlobBytes(sourceLink.Value));
        var target = Assert.Single(map.RootElement.GetProperty("documents").EnumerateObject()).Value.GetString();
        Assert.Equal($"https://raw.githubusercontent.com/safesql/safesql/{commit}/*", target);

        // Embedded sources: every C# document of the assembly is inside the PDB, readable without the repository.
        var documents = pdb.Documents.Select(handle => (Handle: handle, Name: pdb.GetString(pdb.GetDocument(handle).Name))).ToList();
        Assert.NotEmpty(documents);
        var embedded = documents.ToDictionary(d => d.Name, d => EmbeddedSource(pdb, d.Handle));
        Assert.All(embedded, pair => Assert.True(pair.Value is not null, $"{pair.Key} is not embedded in {id}.pdb."));
        var source = Assert.Single(embedded, pair => pair.Key.EndsWith("/" + sourceFile, StringComparison.Ordinal)).Value;
        Assert.Contains(sourceText, source, StringComparison.Ordinal);
    }

    /// <summary>The embedded text of a document: a 4-byte format (0 = stored, else the size before deflate) and the bytes.</summary>
    private static string? EmbeddedSource(MetadataReader pdb, DocumentHandle document)
    {
        foreach (var handle in pdb.GetCustomDebugInformation(document))
        {
            var info = pdb.GetCustomDebugInformation(handle);
            if (pdb.GetGuid(info.Kind) != s_embeddedSourceKind)
            {
                continue;
            }

            var blob = pdb.GetBlobBytes(info.Value);
            var format = BitConverter.ToInt32(blob, 0);
            if (format == 0)
            {
                return Encoding.UTF8.GetString(blob, 4, blob.Length - 4);
            }

            using var inflated = new DeflateStream(new MemoryStream(blob, 4, blob.Length - 4), CompressionMode.Decompress);
            using var reader = new StreamReader(inflated, Encoding.UTF8);
            return reader.ReadToEnd();
        }

        return null;
    }

    /// <summary>An entry's text (a byte order mark, as NuGet writes one in the nuspec, is dropped).</summary>
    private static string Read(ZipArchive archive, string entry)
    {
        using var reader = new StreamReader(new MemoryStream(ReadBytes(archive, entry)), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return reader.ReadToEnd();
    }

    private static byte[] ReadBytes(ZipArchive archive, string entry)
    {
        var found = archive.GetEntry(entry) ?? throw new Xunit.Sdk.XunitException($"The package has no {entry}; it has: {string.Join(", ", archive.Entries.Select(e => e.FullName))}.");
        using var stream = found.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}

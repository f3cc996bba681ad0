using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

using SafeSql.ConnectionStrings;
using SafeSql.Testing;

using Xunit.Abstractions;

namespace SafeSql.Tests.PublicApi;

/// <summary>
/// The public API of each shipped assembly is rendered by reflection and compared with a committed snapshot
/// (<c>tests/SafeSql.Tests/PublicApi/*.api.txt</c>), so every public change is reviewed as a diff.
/// To accept a change: <c>SAFESQL_UPDATE_API=1 dotnet test tests/SafeSql.Tests -c Release --filter "FullyQualifiedName~SafeSql.Tests.PublicApi"</c>,
/// then review and commit the snapshot (see docs/contributing.md).
/// </summary>
public sealed class PublicApiTests(ITestOutputHelper output)
{
    internal const string UpdateVariable = "SAFESQL_UPDATE_API";

    [Fact]
    public void SafeSql_PublicApi_MatchesTheCommittedSnapshot()
        => AssertMatchesSnapshot(typeof(SqlConnectionStringPolicy).Assembly, "SafeSql.api.txt");

    [Fact]
    public void SafeSqlTesting_PublicApi_MatchesTheCommittedSnapshot()
        => AssertMatchesSnapshot(typeof(LoopbackSqlServer).Assembly, "SafeSql.Testing.api.txt");

    [Fact]
    public void Render_SampleTypes_ShowsSignaturesNullabilityAndDefaults()
    {
        // Act
        var rendered = PublicApiRenderer.Render(typeof(SqlConnectionStringPolicy).Assembly);

        // Assert: a few lines whose exact form the snapshot relies on.
        Assert.Contains(
            "    public static SafeSql.ConnectionStrings.SqlConnectionStringPolicyResult Validate(string connectionString, SafeSql.ConnectionStrings.SqlConnectionStringPolicyOptions? options = null)\n",
            rendered,
            StringComparison.Ordinal);
        Assert.Contains("    public string? NormalizedConnectionString { get; }\n", rendered, StringComparison.Ordinal);
        Assert.Contains("  public enum SqlConnectionStringFindingSeverity\n    Error = 2\n    Warning = 1\n", rendered, StringComparison.Ordinal);
        Assert.Contains("  public class SqlConnectionStringPolicyOptions\n    public SqlConnectionStringPolicyOptions()\n    public bool AllowConnectionLifetime { get; set; }\n", rendered, StringComparison.Ordinal);
        Assert.Contains("    public override string ToString()\n", rendered, StringComparison.Ordinal);
        Assert.Contains(
            "    public static SafeSql.ISafeSqlBuilder AddSafeSql(this Microsoft.Extensions.DependencyInjection.IServiceCollection services, string connectionString, string? name = null)\n",
            rendered,
            StringComparison.Ordinal);
        Assert.DoesNotMatch(@"class UnscopedSqlConnectionFactory[ \n]", rendered);
        Assert.DoesNotContain("SqlConnectionStringEvaluation", rendered, StringComparison.Ordinal);
    }

    private void AssertMatchesSnapshot(Assembly assembly, string fileName)
    {
        var actual = PublicApiRenderer.Render(assembly);
        var path = Path.Combine(SnapshotDirectory(), fileName);
        var expected = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : null;
        if (expected == actual)
        {
            return;
        }

        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllText(path, actual);
            output.WriteLine($"{UpdateVariable}=1: wrote {path}. Review it with `git diff` and commit it with the change.");
            return;
        }

        var message = new StringBuilder()
            .Append(expected is null ? $"There is no public API snapshot {path} yet." : $"The public API of {assembly.GetName().Name} differs from the committed snapshot {path}.")
            .Append('\n')
            .Append("If the change is intended, update the snapshot and commit it with the change:\n")
            .Append($"  {UpdateVariable}=1 dotnet test tests/SafeSql.Tests -c Release --filter \"FullyQualifiedName~SafeSql.Tests.PublicApi\"\n")
            .Append("Lines starting with '-' are in the snapshot only, '+' in the build only (with their type for context):\n")
            .Append(LineDiff.Render(expected ?? string.Empty, actual));
        Assert.Fail(message.ToString());
    }

    /// <summary>The folder of this source file (where the snapshots live), or, when the build mapped source paths, the same
    /// folder found from the test binaries upwards.</summary>
    private static string SnapshotDirectory([CallerFilePath] string sourceFile = "")
    {
        var here = Path.GetDirectoryName(sourceFile);
        if (here is not null && Directory.Exists(here))
        {
            return here;
        }

        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "tests", "SafeSql.Tests", "PublicApi");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("Cannot find tests/SafeSql.Tests/PublicApi from " + AppContext.BaseDirectory);
    }
}

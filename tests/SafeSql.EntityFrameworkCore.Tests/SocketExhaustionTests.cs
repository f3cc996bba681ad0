using System.Text.Json;

using SafeSql.Testing.Network;

using Xunit.Abstractions;

namespace SafeSql.EntityFrameworkCore.Tests;

/// <summary>
/// Real ephemeral port exhaustion under EF Core: SafeSql.EntityFrameworkCore.NetworkLab uses up the 50 ephemeral ports of a
/// private network namespace with Pooling=false opens, then runs one EF query with UseSafeSql and one with
/// EnableRetryOnFailure. Needs root (CI runs as root); skipped with the reason otherwise.
/// </summary>
public sealed class SocketExhaustionTests(ITestOutputHelper output)
{
    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Query_PortsExhaustedInPrivateNamespace_IsNotReplayedByTheStrategy(bool async)
    {
        Skip.IfNot(PrivateNetworkNamespace.IsSupported, PrivateNetworkNamespace.UnsupportedReason);

        // Arrange / Act
        string[] arguments = async ? ["--async"] : [];
        var result = await PrivateNetworkNamespace.RunDotNetAsync(LabAssemblyPath(), arguments, new PrivateNetworkNamespaceOptions());
        Assert.False(result.TimedOut, "The lab timed out. stderr: " + result.StandardError);
        Assert.True(result.ExitCode == 0, $"The lab exited with {result.ExitCode}. stdout: {result.StandardOutput} stderr: {result.StandardError}");
        output.WriteLine(result.StandardOutput);
        using var report = JsonDocument.Parse(result.StandardOutput);
        var root = report.RootElement;

        // Assert: the ports ran out after 50 unpooled opens.
        Assert.Equal(50, root.GetProperty("opensBeforeFailure").GetInt32());

        // UseSafeSql: the open is the data source's (its open retry, within the open's budget), so the strategy does not replay
        // the query; SqlClient's own exception (10049, EADDRNOTAVAIL) is rethrown.
        var safeSql = root.GetProperty("useSafeSql");
        Assert.Equal(1, safeSql.GetProperty("attempts").GetInt32());
        Assert.Equal("SqlException", safeSql.GetProperty("outcome").GetString());
        Assert.Equal(10049, safeSql.GetProperty("number").GetInt32());

        // EnableRetryOnFailure: 10049 is not in EF Core's list of transient numbers, so EF gives up at once.
        var ef = root.GetProperty("enableRetryOnFailure");
        Assert.Equal("SqlException", ef.GetProperty("outcome").GetString());
        Assert.Equal(10049, ef.GetProperty("number").GetInt32());
        Assert.Equal(1, ef.GetProperty("attempts").GetInt32());
    }

    /// <summary>The lab is built with the tests (a project reference) to the same layout: tests/&lt;project&gt;/bin/&lt;configuration&gt;/&lt;tfm&gt;.</summary>
    private static string LabAssemblyPath()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var testsDirectory = testOutput.Parent!.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(testsDirectory, "SafeSql.EntityFrameworkCore.NetworkLab", "bin", testOutput.Parent.Name, testOutput.Name, "SafeSql.EntityFrameworkCore.NetworkLab.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"The EF Core network lab is not built at {path}.", path);
    }
}

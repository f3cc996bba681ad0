using System.Text.Json;

using SafeSql.Testing;

namespace SafeSql.Tool.Tests;

/// <summary>
/// The tool as a user gets it: packed (<c>dotnet pack</c> of this build), installed with <c>dotnet tool install --add-source
/// &lt;folder&gt; --tool-path &lt;dir&gt; SafeSql.Tool</c>, and run as <c>&lt;dir&gt;/safesql</c>. Everything lives in a temporary
/// folder deleted afterwards.
/// </summary>
public sealed class InstalledToolTests
{
    [Fact]
    public async Task Safesql_InstalledFromPackage_DoctorsTheLoopbackServer()
    {
        // Arrange: pack and install.
        var work = Directory.CreateTempSubdirectory("safesql-tool-install-");
        try
        {
            var packages = Path.Combine(work.FullName, "packages");
            var tools = Path.Combine(work.FullName, "tools");
            var pack = await ToolProcess.RunProgramAsync(
                "dotnet",
                ["pack", Path.Combine(ToolProcess.RepositoryRoot, "src", "SafeSql.Tool", "SafeSql.Tool.csproj"), "-c", ToolProcess.Configuration, "--no-build", "-o", packages, "-nologo", "-v:q", $"-p:SqlClientVersion={ToolProcess.SqlClientVersion}"],
                null);
            Assert.True(pack.ExitCode == 0, $"dotnet pack failed: {pack.AllOutput}");
            Assert.True(File.Exists(Path.Combine(packages, $"SafeSql.Tool.{ToolProcess.PackageVersion}.nupkg")), string.Join(", ", Directory.GetFiles(packages)));
            var install = await ToolProcess.RunProgramAsync(
                "dotnet",
                ["tool", "install", "--add-source", packages, "--tool-path", tools, "--version", ToolProcess.PackageVersion, "SafeSql.Tool"],
                new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" });
            Assert.True(install.ExitCode == 0, $"dotnet tool install failed: {install.AllOutput}");
            await using var server = await LoopbackSqlServer.StartAsync();

            // Act
            var run = await ToolProcess.RunProgramAsync(Path.Combine(tools, "safesql"), ["doctor", server.ConnectionString, "--json"], null);

            // Assert: the installed command runs the doctor, on the SqlClient this build packed.
            Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}: {run.StandardOutput} {run.StandardError}");
            using var report = JsonDocument.Parse(run.StandardOutput);
            Assert.Equal("ok", report.RootElement.GetProperty("status").GetString());
            Assert.Equal(ToolProcess.SqlClientVersion, report.RootElement.GetProperty("sqlClientVersion").GetString());
            Assert.Equal(1, server.Counters.Logins);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }
}

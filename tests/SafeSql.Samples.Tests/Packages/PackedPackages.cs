using System.Diagnostics;
using System.Reflection;

using SafeSql.Samples.Tests.Demo;

namespace SafeSql.Samples.Tests.Packages;

/// <summary>
/// SafeSql, SafeSql.Testing, SafeSql.EntityFrameworkCore and SafeSql.AspNetCore packed once per test class (<c>dotnet pack --no-build</c> of the libraries this test run
/// built, for the same configuration and SqlClient version) into a temporary folder that is deleted afterwards.
/// </summary>
public sealed class PackedPackages : IAsyncLifetime
{
    private static readonly TimeSpan s_packTimeout = TimeSpan.FromMinutes(3);

    /// <summary>Gets the folder holding the .nupkg and .snupkg files.</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("safesql-packages-").FullName;

    public async Task InitializeAsync()
    {
        var assembly = typeof(PackedPackages).Assembly;
        var configuration = assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var sqlClientVersion = assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SqlClientVersion").Value;
        foreach (var project in new[] { "src/SafeSql/SafeSql.csproj", "src/SafeSql.Testing/SafeSql.Testing.csproj", "src/SafeSql.EntityFrameworkCore/SafeSql.EntityFrameworkCore.csproj", "src/SafeSql.AspNetCore/SafeSql.AspNetCore.csproj" })
        {
            await PackAsync(Path.Combine(DemoProcess.RepositoryRoot, project), configuration, sqlClientVersion!);
        }
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Gets the path of <paramref name="id"/>'s package with the given extension (<c>nupkg</c> or <c>snupkg</c>).</summary>
    public string PathOf(string id, string extension) =>
        Directory.GetFiles(Folder, $"{id}.*.{extension}").Single(path => Path.GetFileName(path).StartsWith(id + ".", StringComparison.Ordinal) && char.IsAsciiDigit(Path.GetFileName(path)[id.Length + 1]));

    private async Task PackAsync(string project, string configuration, string sqlClientVersion)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "pack", project, "-c", configuration, "--no-build", "-o", Folder, "-nologo", "-v:q", $"-p:SqlClientVersion={sqlClientVersion}" })
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(s_packTimeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet pack {project} ran longer than {s_packTimeout}.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet pack {project} exited with {process.ExitCode}:\n{await output}\n{await error}");
        }
    }
}

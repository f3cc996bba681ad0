using System.Diagnostics;

namespace SafeSql.Samples.Tests.Benchmarks;

/// <summary>
/// Runs the built benchmark program (benchmarks/SafeSql.Benchmarks) as a process, the way CI and developers run it. Uses the
/// build of the same configuration as this test assembly (the solution build makes it); builds it once if it is missing.
/// </summary>
internal static class BenchmarkProgram
{
    private static readonly SemaphoreSlim s_buildLock = new(1, 1);

    public static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var assembly = await FindOrBuildAsync();
        var startInfo = new ProcessStartInfo(DotNetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
        };
        startInfo.ArgumentList.Add(assembly);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        return await RunProcessAsync(startInfo, timeout);
    }

    private static async Task<string> FindOrBuildAsync()
    {
        var root = RepositoryRoot();
        var configuration = BuildOutput.Configuration;
        var project = Path.Combine(root, "benchmarks", "SafeSql.Benchmarks", "SafeSql.Benchmarks.csproj");
        var assembly = BuildOutput.AssemblyOf(Path.Combine("benchmarks", "SafeSql.Benchmarks"), "SafeSql.Benchmarks");
        await s_buildLock.WaitAsync();
        try
        {
            if (!File.Exists(assembly))
            {
                var build = new ProcessStartInfo(DotNetHost())
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                    WorkingDirectory = root,
                };
                foreach (var argument in new[] { "build", project, "-c", configuration, "-nologo", "-v:q", $"-p:SqlClientVersion={BuildOutput.SqlClientVersion}" })
                {
                    build.ArgumentList.Add(argument);
                }

                var (exitCode, output) = await RunProcessAsync(build, TimeSpan.FromMinutes(5));
                Assert.True(exitCode == 0 && File.Exists(assembly), $"Building {project} ({configuration}) failed with exit code {exitCode}:\n{output}");
            }
        }
        finally
        {
            s_buildLock.Release();
        }

        return assembly;
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

        throw new InvalidOperationException($"No SafeSql.sln above {AppContext.BaseDirectory}; the benchmark tests run from a repository checkout.");
    }

    private static string DotNetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static async Task<(int ExitCode, string Output)> RunProcessAsync(ProcessStartInfo startInfo, TimeSpan timeout)
    {
        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"'{startInfo.FileName} {string.Join(' ', startInfo.ArgumentList)}' did not finish within {timeout}:\n{await output}\n{await error}");
        }

        return (process.ExitCode, await output + await error);
    }
}

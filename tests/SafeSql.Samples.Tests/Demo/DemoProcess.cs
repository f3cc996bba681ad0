using System.Diagnostics;
using System.Reflection;

namespace SafeSql.Samples.Tests.Demo;

/// <summary>Runs the built demo (samples/SafeSql.Demo) as a process, the way users run it: <c>dotnet SafeSql.Demo.dll ...</c>.</summary>
internal static class DemoProcess
{
    /// <summary>Gets the demo's main assembly, built with the same configuration and SqlClient as this test assembly.</summary>
    public static string AssemblyPath
    {
        get
        {
            var path = BuildOutput.AssemblyOf(Path.Combine("samples", "SafeSql.Demo"), "SafeSql.Demo");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException($"The demo is not built: {path}. Build tests/SafeSql.Samples.Tests (it builds the demo) with -c {BuildOutput.Configuration}.", path);
        }
    }

    /// <summary>Gets the repository root (the directory holding SafeSql.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "SafeSql.sln")))
                {
                    return directory.FullName;
                }
            }

            throw new DirectoryNotFoundException($"SafeSql.sln not found above {AppContext.BaseDirectory}.");
        }
    }

    /// <summary>Runs the demo with <paramref name="arguments"/> and waits for it to exit (killed after <paramref name="timeout"/>).</summary>
    public static async Task<DemoRun> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(AssemblyPath);
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"The demo ({string.Join(' ', arguments)}) ran longer than {timeout}. Standard error: {await error}");
        }

        return new DemoRun(process.ExitCode, await output, await error, clock.Elapsed);
    }
}

/// <summary>How a demo process ended.</summary>
internal sealed record DemoRun(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed);

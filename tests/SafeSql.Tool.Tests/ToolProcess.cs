using System.Diagnostics;
using System.Reflection;

namespace SafeSql.Tool.Tests;

/// <summary>
/// Runs the built tool (src/SafeSql.Tool) as a process, <c>dotnet SafeSql.Tool.dll ...</c>, built with the same configuration
/// and Microsoft.Data.SqlClient as this test assembly. The default build writes to each project's bin/; a build for another
/// SqlClient version mirrors the repository's folders under artifacts/sqlclient-&lt;version&gt;/ (Directory.Build.props), so
/// both are found the same way from this assembly's folder, &lt;root&gt;/tests/SafeSql.Tool.Tests/bin/&lt;configuration&gt;/&lt;tfm&gt;/.
/// </summary>
internal static class ToolProcess
{
    private static readonly DirectoryInfo s_testOutput = new(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));

    /// <summary>Gets the configuration of this test build (the folder above the target framework).</summary>
    public static string Configuration { get; } = s_testOutput.Parent!.Name;

    /// <summary>Gets the Microsoft.Data.SqlClient version this build runs on (<c>7.1.1</c>, or <c>6.1.8</c> for the floor build).</summary>
    public static string SqlClientVersion { get; } = Metadata("SqlClientVersion");

    /// <summary>Gets the tool's main assembly.</summary>
    public static string AssemblyPath
    {
        get
        {
            var root = s_testOutput.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            var path = Path.Combine(root, "src", "SafeSql.Tool", "bin", Configuration, s_testOutput.Name, "SafeSql.Tool.dll");
            return File.Exists(path)
                ? path
                : throw new FileNotFoundException($"The tool is not built: {path}. Build tests/SafeSql.Tool.Tests (it builds the tool) with -c {Configuration}.", path);
        }
    }

    /// <summary>Runs <c>dotnet SafeSql.Tool.dll</c> with <paramref name="arguments"/> and waits for it to exit.</summary>
    public static Task<ToolRun> RunAsync(params string[] arguments) => RunProgramAsync("dotnet", [AssemblyPath, .. arguments], null);

    /// <summary>Runs a program, output redirected, and waits for it to exit (killed with its children after 2 minutes).</summary>
    public static async Task<ToolRun> RunProgramAsync(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment)
    {
        var startInfo = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            startInfo.Environment[name] = value;
        }

        using var process = Process.Start(startInfo)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new TimeoutException($"{fileName} ran longer than 2 minutes. Standard error: {await error}");
        }

        return new ToolRun(process.ExitCode, await output, await error);
    }

    private static string Metadata(string key) =>
        typeof(ToolProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}

/// <summary>How a tool process ended.</summary>
internal sealed record ToolRun(int ExitCode, string StandardOutput, string StandardError)
{
    /// <summary>Gets both outputs, for "never printed" assertions.</summary>
    public string AllOutput => StandardOutput + StandardError;
}

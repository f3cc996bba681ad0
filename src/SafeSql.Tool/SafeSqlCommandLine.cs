using System.Reflection;

using SafeSql.Tool.Commands;

namespace SafeSql.Tool;

/// <summary>
/// The <c>safesql</c> command line: check, doctor, serve. Public so the demo (samples/SafeSql.Demo) runs the same commands in
/// process without access to the tool's internals; <see cref="RunAsync"/> is its only member.
/// </summary>
public static class SafeSqlCommandLine
{
    /// <summary>The exit code of a command line the tool cannot read (EX_USAGE, sysexits.h); 1 and 2 are the doctor's.</summary>
    internal const int UsageError = 64;

    // Before Usage: static initializers run in declaration order.
    private static string Version { get; } =
        typeof(SafeSqlCommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    internal static string Usage { get; } = $"""
        safesql {Version}: checks SQL Server connection strings and the machine that uses them (SafeSql).
        Usage: safesql check "<connection string>"    the policy's verdict: exit 0 accepted, 2 refused
               safesql {DoctorCommand.Usage}
                   DNS, TCP, PRELOGIN, TLS, login, ephemeral ports, TIME_WAIT, listen queue, pool: exit 0 ok, 1 warnings, 2 problems
               safesql {DoctorCommand.UrlUsage}
                   a running application's holders and failures (MapSafeSqlDiagnostics): exit 0 ok, 1 leases past the leak threshold, 2 pool exhausted, 3 unreadable
               safesql {ServeCommand.Usage}
                   a loopback SQL Server for local development, until Ctrl+C
        The password of a connection string is never printed.
        """;

    /// <summary>Runs one command and returns its exit code.</summary>
    /// <param name="args">The command line: <c>check "&lt;connection string&gt;"</c>, <c>doctor ...</c> or <c>serve ...</c>.</param>
    /// <param name="output">Where the command writes its result.</param>
    /// <param name="error">Where usage errors and diagnostics go.</param>
    /// <param name="outputRedirected">Whether <paramref name="output"/> is not a terminal (tables are drawn without colour).</param>
    /// <returns>The exit code: 0 accepted or ok; check 2 refused; doctor 1 warnings, 2 problems, 3 unreadable; 64 a command line the tool cannot read.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool outputRedirected) => args switch
    {
        ["check", var connectionString] => CheckCommand.Run(connectionString, output),
        ["doctor", .. var rest] => await DoctorCommand.RunAsync(rest, output, error, outputRedirected).ConfigureAwait(false),
        ["serve", .. var rest] => await ServeCommand.RunAsync(rest, output, error).ConfigureAwait(false),
        ["--version"] => await WriteAsync(output, Version, 0).ConfigureAwait(false),
        ["--help" or "-h" or "help"] => await WriteAsync(output, Usage, 0).ConfigureAwait(false),
        _ => await WriteAsync(error, Usage, UsageError).ConfigureAwait(false),
    };

    private static async Task<int> WriteAsync(TextWriter writer, string text, int exitCode)
    {
        await writer.WriteLineAsync(text).ConfigureAwait(false);
        return exitCode;
    }
}

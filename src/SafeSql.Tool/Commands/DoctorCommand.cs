using SafeSql.Tool.Doctor;
using SafeSql.Tool.Output;

namespace SafeSql.Tool.Commands;

/// <summary>
/// <c>doctor "&lt;connection string&gt;" [--json] [--server-side]</c>: one report of checks, each ok, warning or problem with the
/// figure it rests on, why it matters and the fix. Exit code 0 all ok, 1 warnings, 2 problems. The password is never printed.
/// <c>doctor --url &lt;endpoint&gt; [--header "Name: value"]...</c>: the holders and recent failures of a running application's
/// SafeSql diagnostics endpoint; exit code 0 ok, 1 a lease older than the leak threshold, 2 a pool exhausted, 3 unreadable.
/// </summary>
internal static class DoctorCommand
{
    public const string Usage = "doctor \"<connection string>\" [--json] [--server-side]";

    public const string UrlUsage = "doctor --url <endpoint> [--header \"Name: value\"]...";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool outputRedirected)
    {
        string? connectionString = null;
        string? url = null;
        var headers = new List<KeyValuePair<string, string>>();
        var json = false;
        var serverSide = false;
        for (var i = 0; i < args.Length; i++)
        {
            var argument = args[i];
            switch (argument)
            {
                case "--url" when i + 1 < args.Length && url is null:
                    url = args[++i];
                    break;
                case "--header" when i + 1 < args.Length:
                    // Never echo a header: it carries the credentials.
                    var header = args[++i];
                    var colon = header.IndexOf(':', StringComparison.Ordinal);
                    if (colon <= 0)
                    {
                        await error.WriteLineAsync($"doctor: a --header is \"Name: value\". Usage: safesql {UrlUsage}").ConfigureAwait(false);
                        return SafeSqlCommandLine.UsageError;
                    }

                    headers.Add(new(header[..colon].Trim(), header[(colon + 1)..].Trim()));
                    break;
                case "--json":
                    json = true;
                    break;
                case "--server-side":
                    serverSide = true;
                    break;
                case var value when connectionString is null && !value.StartsWith("--", StringComparison.Ordinal):
                    connectionString = value;
                    break;
                default:
                    // Never echo the argument: it may be a connection string with a password.
                    await error.WriteLineAsync($"doctor: unexpected argument{(argument.StartsWith("--", StringComparison.Ordinal) && !argument.Contains('=', StringComparison.Ordinal) ? $" '{argument}'" : string.Empty)}. Usage: safesql {Usage}").ConfigureAwait(false);
                    return SafeSqlCommandLine.UsageError;
            }
        }

        if (url is not null)
        {
            return await RunUrlAsync(url, headers, connectionString is not null || json || serverSide, output, error, outputRedirected).ConfigureAwait(false);
        }

        if (connectionString is null)
        {
            await error.WriteLineAsync($"doctor: no connection string. Usage: safesql {Usage}").ConfigureAwait(false);
            return SafeSqlCommandLine.UsageError;
        }

        var report = await DoctorRunner.RunAsync(connectionString, serverSide).ConfigureAwait(false);
        if (json)
        {
            await output.WriteLineAsync(DoctorJson.Serialize(report)).ConfigureAwait(false);
        }
        else
        {
            DoctorConsole.Write(report, output, outputRedirected);
        }

        await output.FlushAsync().ConfigureAwait(false);
        return report.ExitCode;
    }

    private static async Task<int> RunUrlAsync(string url, List<KeyValuePair<string, string>> headers, bool mixed, TextWriter output, TextWriter error, bool outputRedirected)
    {
        if (mixed || !Uri.TryCreate(url, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            await error.WriteLineAsync($"doctor: --url takes the http(s) address of a MapSafeSqlDiagnostics endpoint, alone (no connection string, --json or --server-side). Usage: safesql {UrlUsage}").ConfigureAwait(false);
            return SafeSqlCommandLine.UsageError;
        }

        var read = await DiagnosticsEndpointReader.ReadAsync(endpoint, headers).ConfigureAwait(false);
        if (read.Error is not null)
        {
            await error.WriteLineAsync($"doctor: {DiagnosticsEndpointReader.Display(endpoint)}: {read.Error}").ConfigureAwait(false);
            return read.ExitCode;
        }

        DiagnosticsEndpointConsole.Write(DiagnosticsEndpointReader.Display(endpoint), read, output, outputRedirected);
        await output.FlushAsync().ConfigureAwait(false);
        return read.ExitCode;
    }
}

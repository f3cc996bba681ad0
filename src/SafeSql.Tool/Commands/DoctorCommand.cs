using SafeSql.Tool.Doctor;
using SafeSql.Tool.Output;

namespace SafeSql.Tool.Commands;

/// <summary>
/// <c>doctor "&lt;connection string&gt;" [--json] [--server-side]</c>: one report of checks, each ok, warning or problem with the
/// figure it rests on, why it matters and the fix. Exit code 0 all ok, 1 warnings, 2 problems. The password is never printed.
/// </summary>
internal static class DoctorCommand
{
    public const string Usage = "doctor \"<connection string>\" [--json] [--server-side]";

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool outputRedirected)
    {
        string? connectionString = null;
        var json = false;
        var serverSide = false;
        foreach (var argument in args)
        {
            switch (argument)
            {
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
}

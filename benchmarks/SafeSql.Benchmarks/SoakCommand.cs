using System.Globalization;
using System.Reflection;

using Microsoft.Data.SqlClient;

using SafeSql.Tests.Leases;

namespace SafeSql.Benchmarks;

/// <summary>
/// <c>soak</c>: the long lease soak (<c>LeaseSoak</c>, shared with the CI test <c>LeaseSoakTests</c>, which runs a short
/// one): N pooled opens (default 10,000,000) by 64 asynchronous workers through the data source and its scopes against the
/// loopback server, one in 1,000 leaked on purpose, the managed heap measured after a full collection at every tenth. Prints
/// the figures; the exit code is 0 when the heap stayed within 1 MB, every planted leak was reported once, nothing is left
/// leased and nothing threw. A measurement, not a timing benchmark.
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- soak [--opens N] [--workers N] [--output FILE]</c>.
/// </remarks>
internal static class SoakCommand
{
    public const string Name = "soak";

    private const long DefaultOpens = 10_000_000;
    private const long MaxHeapDrift = 1_000_000;

    public static async Task<int> RunAsync(string[] args)
    {
        var opens = DefaultOpens;
        var workers = 64;
        string? output = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--opens" when i + 1 < args.Length && long.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out opens) && opens >= 10_000:
                    i++;
                    break;
                case "--workers" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out workers) && workers is >= 1 and <= 100:
                    i++;
                    break;
                case "--output" when i + 1 < args.Length:
                    output = Path.GetFullPath(args[++i]);
                    break;
                default:
                    Console.Error.WriteLine($"soak: unknown or invalid argument '{args[i]}'. Usage: soak [--opens N (>= 10000)] [--workers N (1-100)] [--output FILE]");
                    return 2;
            }
        }

        var started = DateTimeOffset.UtcNow;
        var result = await LeaseSoak.RunAsync(new LeaseSoakOptions { Opens = opens, Workers = workers }, Console.WriteLine);
        var ok = result.Exceptions == 0
            && result.EveryLeakReportedOnce
            && result.LeasedAtEnd == 0
            && Math.Abs(result.HeapDrift) <= MaxHeapDrift
            && result.HeapSpread <= MaxHeapDrift;
        var sqlClient = typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
        var text = string.Join(
            Environment.NewLine,
            $"# Lease soak, {started:yyyy-MM-dd HH:mm} UTC",
            string.Empty,
            $"Command: `dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- soak --opens {opens} --workers {workers}`; Microsoft.Data.SqlClient {sqlClient}; .NET {Environment.Version}; {Environment.ProcessorCount} logical cores; {(ok ? "PASS" : "FAIL")}",
            string.Empty,
            "```",
            result.Describe(),
            "```",
            string.Empty);
        Console.WriteLine(text);
        if (output is not null)
        {
            await File.WriteAllTextAsync(output, text);
        }

        return ok ? 0 : 1;
    }
}

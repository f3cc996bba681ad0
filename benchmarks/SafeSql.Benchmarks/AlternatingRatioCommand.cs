using System.Diagnostics;
using System.Globalization;

using Microsoft.Data.SqlClient;

namespace SafeSql.Benchmarks;

/// <summary>
/// <c>alternating</c>: SafeSql's pooled open + dispose against raw SqlClient's, measured the way a shared machine allows: in
/// one process, in short alternating rounds (raw, SafeSql, raw, SafeSql...), each pair's ratio taken, and the median of the
/// ratios reported, so load that comes and goes over seconds weighs on both sides alike. It complements BenchmarkDotNet
/// (whose record runs each method in its own process, minutes apart, and on this 2-core machine shared with other builds
/// saw the same method vary by 30 %); the allocation per open is exact (this thread's allocated bytes).
/// </summary>
/// <remarks>
/// Usage: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- alternating [--rounds N] [--opens N]</c>
/// (default 61 rounds of 20,000 opens per side).
/// </remarks>
internal static class AlternatingRatioCommand
{
    public const string Name = "alternating";

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = 61;
        var opens = 20_000;
        var ablation = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out rounds) && rounds >= 1:
                case "--opens" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out opens) && opens >= 1:
                    i++;
                    break;
                case "--ablation":
                    ablation = true;
                    break;
                default:
                    Console.Error.WriteLine($"alternating: unknown or invalid argument '{args[i]}'. Usage: alternating [--rounds N] [--opens N]");
                    return 2;
            }
        }

        using var environment = LoopbackBenchmarkEnvironment.Start("SafeSql.Benchmarks.Alternating");
        var dataSource = environment.CreateFactory(SqlConnectionStackCaptureMode.CallSite);
        var connectionString = dataSource.ConnectionStringWithPassword;
        await using var scope = dataSource.CreateScope();
        Console.WriteLine($"alternating: {rounds} rounds x {opens:N0} opens per side, SqlClient {typeof(SqlConnection).Assembly.GetName().Version}, {Environment.ProcessorCount} cores");

        Measure("open + dispose, sync", rounds, opens, () =>
        {
            using var connection = new SqlConnection(connectionString);
            connection.Open();
        }, () =>
        {
            using var connection = dataSource.OpenConnection();
        });
        Measure("open + dispose, sync, in a scope", rounds, opens, () =>
        {
            using var connection = new SqlConnection(connectionString);
            connection.Open();
        }, () =>
        {
            using var connection = scope.OpenConnection();
        });
        if (ablation)
        {
            var tracker = dataSource.Tracker;
            System.Data.StateChangeEventHandler empty = static (_, _) => { };
            Measure("ablation: raw + an empty StateChange handler", rounds, opens, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
            }, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
                connection.StateChange += empty;
            });
            Measure("ablation: raw + LeaseTracker.Track (the lease alone)", rounds, opens, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
            }, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
                tracker.Track(connection, null, "Member", "File.cs", 1, null);
            });
            Measure("ablation: raw + sentinel only (rent, attach; close returns it)", rounds, opens, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
            }, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
                tracker.RentSentinel().Attach(connection, s_ended);
            });
            Measure("ablation: raw + Begin only (clock, record, registry)", rounds, opens, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
            }, () =>
            {
                using var connection = new SqlConnection(connectionString);
                connection.Open();
                tracker.Begin("Member", "File.cs", 1, null).TryEnd(out _);
            });
        }

        // One round trip per operation is ~50 times an open + dispose here, so these rounds are 50 times shorter.
        var queries = Math.Max(1, opens / 50);
        Measure("open + SELECT 1 + close, sync", rounds, queries, () =>
        {
            using var connection = new SqlConnection(connectionString);
            connection.Open();
            SelectOne(connection);
        }, () =>
        {
            using var connection = dataSource.OpenConnection();
            SelectOne(connection);
        });
        await MeasureAsync("open + dispose, async", rounds, opens, async () =>
        {
            await using var connection = new SqlConnection(connectionString);
            await connection.OpenAsync();
        }, async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync();
        });
        return 0;
    }

    private static readonly LeaseRecord s_ended = CreateEnded();

    private static LeaseRecord CreateEnded()
    {
        using var environment = LoopbackBenchmarkEnvironment.Start("SafeSql.Benchmarks.Alternating.Ended");
        var record = environment.CreateFactory().Tracker.Begin(null, null, 0, null);
        record.TryEnd(out _);
        return record;
    }

    private static void SelectOne(SqlConnection connection)
    {
        using var command = new SqlCommand("SELECT 1", connection);
        _ = command.ExecuteScalar();
    }

    private static void Measure(string what, int rounds, int opens, Action raw, Action safeSql)
    {
        for (var i = 0; i < opens; i++)
        {
            raw();
            safeSql();
        }

        var rawNs = new double[rounds];
        var safeNs = new double[rounds];
        long rawBytes = 0, safeBytes = 0;
        for (var round = 0; round < rounds; round++)
        {
            (rawNs[round], var rb) = Time(raw, opens);
            (safeNs[round], var sb) = Time(safeSql, opens);
            rawBytes += rb;
            safeBytes += sb;
        }

        Report(what, rawNs, safeNs, (double)rawBytes / rounds / opens, (double)safeBytes / rounds / opens);

        static (double Ns, long Bytes) Time(Action action, int opens)
        {
            var bytes = GC.GetAllocatedBytesForCurrentThread();
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < opens; i++)
            {
                action();
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            return (elapsed.TotalNanoseconds / opens, GC.GetAllocatedBytesForCurrentThread() - bytes);
        }
    }

    private static async Task MeasureAsync(string what, int rounds, int opens, Func<Task> raw, Func<Task> safeSql)
    {
        for (var i = 0; i < opens; i++)
        {
            await raw();
            await safeSql();
        }

        var rawNs = new double[rounds];
        var safeNs = new double[rounds];
        long rawBytes = 0, safeBytes = 0;
        for (var round = 0; round < rounds; round++)
        {
            (rawNs[round], var rb) = await TimeAsync(raw, opens);
            (safeNs[round], var sb) = await TimeAsync(safeSql, opens);
            rawBytes += rb;
            safeBytes += sb;
        }

        Report(what, rawNs, safeNs, (double)rawBytes / rounds / opens, (double)safeBytes / rounds / opens);

        static async Task<(double Ns, long Bytes)> TimeAsync(Func<Task> action, int opens)
        {
            var bytes = GC.GetTotalAllocatedBytes(precise: true);
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < opens; i++)
            {
                await action();
            }

            var elapsed = Stopwatch.GetElapsedTime(start);
            return (elapsed.TotalNanoseconds / opens, GC.GetTotalAllocatedBytes(precise: true) - bytes);
        }
    }

    private static void Report(string what, double[] rawNs, double[] safeNs, double rawBytes, double safeBytes)
    {
        var ratios = rawNs.Zip(safeNs, (r, s) => s / r).Order().ToArray();
        var median = ratios[ratios.Length / 2];
        var q1 = ratios[ratios.Length / 4];
        var q3 = ratios[ratios.Length * 3 / 4];
        Console.WriteLine(
            $"{what}: raw {Median(rawNs):F0} ns, SafeSql {Median(safeNs):F0} ns (medians); median of ratios {median:F3} (quartiles {q1:F3}-{q3:F3}); allocated {rawBytes:F0} B raw, {safeBytes:F0} B SafeSql (+{safeBytes - rawBytes:F0} B)");

        static double Median(double[] values) => values.Order().ElementAt(values.Length / 2);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Reflection;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.SqlClient;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using SafeSql.Testing;

namespace SafeSql.Benchmarks;

/// <summary>
/// <c>diagnostics</c>: what the diagnostics endpoint (SafeSql.AspNetCore) costs the open path under a busy pool. Two ASP.NET
/// Core applications on Kestrel, each with its own pool of 50 held leases (5 call sites), one without the diagnostics and
/// one with them mapped; one thread opens and disposes pooled connections through each in alternating rounds: without
/// the diagnostics, with them and no request, with a client reading <c>/safesql.json</c> 10 times a second, and with a
/// client reading it back to back. Reported: the median time per open of each, the median of the per-round ratios against
/// the application without the diagnostics, the exact bytes the open thread allocates per open, and the requests served.
/// </summary>
/// <remarks>Usage: <c>dotnet run -c Release --project benchmarks/SafeSql.Benchmarks -- diagnostics [--rounds N] [--opens N]</c>
/// (default 21 rounds of 200,000 opens per side: a round lasts long enough for the 10 requests/s side to send a few).</remarks>
internal static class DiagnosticsLoadCommand
{
    public const string Name = "diagnostics";

    private const int HeldLeases = 50;

    public static async Task<int> RunAsync(string[] args)
    {
        var rounds = 21;
        var opens = 200_000;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out rounds) && rounds >= 1:
                case "--opens" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out opens) && opens >= 1:
                    i++;
                    break;
                default:
                    Console.Error.WriteLine($"diagnostics: unknown or invalid argument '{args[i]}'. Usage: diagnostics [--rounds N] [--opens N]");
                    return 2;
            }
        }

        await using var server = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { ListenBacklog = 1024 });
        await using var plain = await StartAsync(server, diagnostics: false);
        await using var mapped = await StartAsync(server, diagnostics: true);
        using var client = new HttpClient { BaseAddress = mapped.Address };
        Console.WriteLine($"diagnostics: {rounds} rounds x {opens:N0} opens per side, {HeldLeases} leases held per pool (5 call sites), SqlClient {typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]}, {Environment.ProcessorCount} cores");

        var sides = new (string What, SafeSqlDataSource DataSource, int RequestsPerSecond)[]
        {
            ("no diagnostics", plain.DataSource, 0),
            ("diagnostics mapped, no request", mapped.DataSource, 0),
            ("diagnostics, 10 requests/s", mapped.DataSource, 10),
            ("diagnostics, requests back to back", mapped.DataSource, int.MaxValue),
        };
        var ns = sides.Select(_ => new double[rounds]).ToArray();
        var bytes = new long[sides.Length];
        var requests = new long[sides.Length];
        var requestSeconds = new double[sides.Length];
        foreach (var side in sides)
        {
            Time(side.DataSource, opens); // warm up: the pool's idle connections exist, the JIT is done
        }

        _ = await client.GetStringAsync("/safesql.json");
        for (var round = 0; round < rounds; round++)
        {
            for (var s = 0; s < sides.Length; s++)
            {
                using var stop = new CancellationTokenSource();
                var reader = sides[s].RequestsPerSecond > 0 ? ReadAsync(client, sides[s].RequestsPerSecond, stop.Token) : Task.FromResult(0L);
                var start = Stopwatch.GetTimestamp();
                (ns[s][round], var b) = Time(sides[s].DataSource, opens);
                await stop.CancelAsync();
                requests[s] += await reader;
                requestSeconds[s] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                bytes[s] += b;
            }
        }

        for (var s = 0; s < sides.Length; s++)
        {
            var ratios = ns[0].Zip(ns[s], static (baseline, side) => side / baseline).Order().ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sides[s].What}: {Median(ns[s]):F0} ns per open + dispose (median); median of ratios to no diagnostics {ratios[ratios.Length / 2]:F3} (quartiles {ratios[ratios.Length / 4]:F3}-{ratios[ratios.Length * 3 / 4]:F3}); {(double)bytes[s] / rounds / opens:F0} B allocated per open; {requests[s] / requestSeconds[s]:F0} requests/s served"));
        }

        return 0;
    }

    private static (double Ns, long Bytes) Time(SafeSqlDataSource dataSource, int opens)
    {
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < opens; i++)
        {
            using var connection = dataSource.OpenConnection();
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        return (elapsed.TotalNanoseconds / opens, GC.GetAllocatedBytesForCurrentThread() - bytes);
    }

    private static async Task<long> ReadAsync(HttpClient client, int perSecond, CancellationToken cancellationToken)
    {
        var count = 0L;
        var interval = perSecond == int.MaxValue ? TimeSpan.Zero : TimeSpan.FromSeconds(1.0 / perSecond);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                _ = await client.GetStringAsync("/safesql.json", cancellationToken);
                count++;
                if (interval > TimeSpan.Zero)
                {
                    await Task.Delay(interval, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        return count;
    }

    private static double Median(double[] values) => values.Order().ElementAt(values.Length / 2);

    private static async Task<App> StartAsync(LoopbackSqlServer server, bool diagnostics)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var connectionString = new SqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = "SafeSql.Benchmarks.Diagnostics." + diagnostics }.ConnectionString;
        builder.Services.AddSafeSql(connectionString);
        if (diagnostics)
        {
            builder.Services.AddSafeSqlDiagnostics();
        }

        var app = builder.Build();
        if (diagnostics)
        {
            app.MapSafeSqlDiagnostics().AllowAnonymous();
        }

        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var dataSource = app.Services.GetRequiredService<SafeSqlDataSource>();
        var held = new List<SqlConnection>();
        for (var i = 0; i < HeldLeases; i++)
        {
            held.Add((i % 5) switch // five call sites, one per line, as five pieces of code would hold them
            {
                0 => dataSource.OpenConnection(),
                1 => dataSource.OpenConnection(),
                2 => dataSource.OpenConnection(),
                3 => dataSource.OpenConnection(),
                _ => dataSource.OpenConnection(),
            });
        }

        return new App(app, address, dataSource, held);
    }

    private sealed record App(WebApplication Application, Uri Address, SafeSqlDataSource DataSource, List<SqlConnection> Held) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            foreach (var connection in Held)
            {
                await connection.DisposeAsync();
            }

            await Application.StopAsync();
            await Application.DisposeAsync();
        }
    }
}

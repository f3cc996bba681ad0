using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Logging.Abstractions;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;
using SafeSql.Testing;

namespace SafeSql.Benchmarks;

/// <summary>
/// What the side-by-side benchmarks share: one loopback TDS server in the benchmark process and the three ways to
/// reach it, all with the same keywords so that only the thing measured differs.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Pooled"/> is SafeSql's normalized string (the policy adds an Application Name), so raw SqlClient and SafeSql open
/// from the same SqlClient pool with the same login; <see cref="Unpooled"/> is the same string with <c>Pooling=false</c>.
/// The server runs in the benchmark's own process, so its CPU counts in every measurement: on a 2-core machine a round trip
/// costs client + server time, and both sides of every comparison pay it.
/// </para>
/// </remarks>
internal sealed class LoopbackBenchmarkEnvironment : IDisposable
{
    private readonly List<SafeSqlDataSource> _factories = [];

    private LoopbackBenchmarkEnvironment(LoopbackSqlServer server, string applicationName)
    {
        Server = server;
        Raw = new SqlConnectionStringBuilder(server.ConnectionString) { ApplicationName = applicationName }.ConnectionString;
        Pooled = SqlConnectionStringNormalizer.Normalize(new SafeSqlOptions { ConnectionString = Raw });
        Unpooled = new SqlConnectionStringBuilder(Pooled) { Pooling = false }.ConnectionString;
    }

    /// <summary>Gets the loopback server (in this process).</summary>
    public LoopbackSqlServer Server { get; }

    /// <summary>Gets the connection string given to SafeSql (the server's, with the benchmark's Application Name).</summary>
    public string Raw { get; }

    /// <summary>Gets the string SafeSql opens with (normalized by the policy); raw SqlClient baselines use it too.</summary>
    public string Pooled { get; }

    /// <summary>Gets <see cref="Pooled"/> with <c>Pooling=false</c>: one TCP connection and one login per open.</summary>
    public string Unpooled { get; }

    /// <summary>Starts a loopback server; <paramref name="applicationName"/> keeps each benchmark class in its own SqlClient pool.</summary>
    /// <param name="applicationName">The Application Name of the benchmark's connection strings.</param>
    /// <param name="encryption">What the server offers: TLS as SQL Server 2022 out of the box (the default; every new
    /// physical connection pays a TLS handshake) or no encryption (<c>Encrypt=False</c>, the figures before TLS).</param>
    public static LoopbackBenchmarkEnvironment Start(string applicationName, LoopbackEncryption encryption = LoopbackEncryption.Supported)
    {
        var server = LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { ListenBacklog = 1024, Encryption = encryption }).GetAwaiter().GetResult();
        return new LoopbackBenchmarkEnvironment(server, applicationName);
    }

    /// <summary>Creates a root SafeSql factory on <see cref="Raw"/>, as <c>AddSafeSql</c> would (no logger output, no meter listener).</summary>
    /// <remarks>Each mode gets a pool of its own (its own Application Name): data sources on one SqlClient pool share one
    /// lease tracker, whose leak options are the first data source's.</remarks>
    public SafeSqlDataSource CreateFactory(SqlConnectionStackCaptureMode stackCapture = SqlConnectionStackCaptureMode.CallSite)
    {
        var raw = new SqlConnectionStringBuilder(Raw);
        raw.ApplicationName += "." + stackCapture;
        var options = new SafeSqlOptions { ConnectionString = raw.ConnectionString };
        options.Leaks.StackCapture = stackCapture;
        var factory = new SafeSqlDataSource($"bench-{stackCapture}", options, NullLoggerFactory.Instance, new SafeSqlMetrics(null), TimeProvider.System);
        _factories.Add(factory);
        return factory;
    }

    /// <summary>Opens and closes one pooled connection so the pool exists before the first measured open.</summary>
    public void WarmPool()
    {
        using var connection = new SqlConnection(Pooled);
        connection.Open();
    }

    public void Dispose()
    {
        foreach (var factory in _factories)
        {
            factory.Dispose();
        }

        SqlConnection.ClearAllPools();
        Server.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}

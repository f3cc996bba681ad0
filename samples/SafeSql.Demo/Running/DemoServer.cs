using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.Demo.Running;

/// <summary>
/// The SQL Server one run talks to: a fresh loopback server (real TCP on 127.0.0.1, with counters and fault injection), or the
/// real server given with <c>--connection-string</c>.
/// </summary>
internal sealed class DemoServer : IAsyncDisposable
{
    private readonly string _baseConnectionString;

    private DemoServer(string baseConnectionString, LoopbackSqlServer? loopback)
    {
        _baseConnectionString = baseConnectionString;
        Loopback = loopback;
    }

    /// <summary>Gets the loopback server, or <see langword="null"/> against a real server.</summary>
    public LoopbackSqlServer? Loopback { get; }

    /// <summary>Gets a value indicating whether this is the loopback server (faults can be injected, TCP connections counted).</summary>
    public bool IsLoopback => Loopback is not null;

    /// <summary>Gets the <c>Data Source</c>, for the failure classifier (never a password).</summary>
    public string DataSource => new SqlConnectionStringBuilder(_baseConnectionString).DataSource;

    /// <summary>Gets the TCP connections the server accepted so far; <see langword="null"/> for a real server.</summary>
    public long? TcpConnections => Loopback?.Counters.TcpConnectionsAccepted;

    /// <summary>Starts a fresh loopback server, or wraps the real server's connection string.</summary>
    public static async Task<DemoServer> StartAsync(string? realConnectionString, int port = 0) =>
        realConnectionString is not null
            ? new DemoServer(realConnectionString, null)
            : await StartLoopbackAsync(port);

    /// <summary>Starts a fresh loopback server on <paramref name="port"/> (0: any free port).</summary>
    public static async Task<DemoServer> StartLoopbackAsync(int port = 0)
    {
        var loopback = await LoopbackSqlServer.StartAsync(new LoopbackSqlServerOptions { Port = port });
        return new DemoServer(loopback.ConnectionString, loopback);
    }

    /// <summary>
    /// The server's connection string with the scenario's settings on top, e.g. <c>"Max Pool Size=10;Connect Timeout=2"</c>.
    /// Each run gets its own <c>Application Name</c>, so its connections live in their own pool.
    /// </summary>
    public string ConnectionString(string applicationName, string settings = "")
    {
        var builder = new SqlConnectionStringBuilder(_baseConnectionString) { ApplicationName = applicationName };
        foreach (var (keyword, value) in ParseSettings(settings))
        {
            builder[keyword] = value;
        }

        return builder.ConnectionString;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Loopback is not null)
        {
            await Loopback.DisposeAsync();
        }
    }

    private static IEnumerable<(string Keyword, string Value)> ParseSettings(string settings) =>
        settings.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(static pair => pair.Split('=', 2, StringSplitOptions.TrimEntries))
            .Select(static parts => (parts[0], parts[1]));
}

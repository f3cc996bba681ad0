using BenchmarkDotNet.Attributes;
using Microsoft.Data.SqlClient;
using SafeSql.Testing;

namespace SafeSql.Benchmarks;

/// <summary>
/// Round trips per second against the loopback TDS server: "SELECT 1" on already-open connections, 1 and 16 concurrent
/// connections sharing <see cref="RoundTripsPerInvoke"/> round trips per invocation. The baseline is a minimal raw TDS
/// client (no SqlClient), so it measures what the server alone sustains; the SqlClient rows show the real client's cost on
/// top. Mean is per round trip (OperationsPerInvoke), so round trips/s = 1 / Mean whatever the connection count; Allocated includes the in-process server.
/// </summary>
public class LoopbackServerBenchmark
{
    private const int RoundTripsPerInvoke = 3200;

    private LoopbackSqlServer _server = null!;
    private LoopbackServerRawClient[] _raw = [];
    private SqlConnection[] _connections = [];
    private SqlCommand[] _commands = [];
    private Task[] _tasks = [];

    [Params(1, 16)]
    public int Connections { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _server = await LoopbackSqlServer.StartAsync();
        _raw = new LoopbackServerRawClient[Connections];
        _connections = new SqlConnection[Connections];
        _commands = new SqlCommand[Connections];
        _tasks = new Task[Connections];
        var connectionString = new SqlConnectionStringBuilder(_server.ConnectionString) { MaxPoolSize = Math.Max(100, Connections) }.ConnectionString;
        for (var i = 0; i < Connections; i++)
        {
            _raw[i] = await LoopbackServerRawClient.ConnectAsync(_server.EndPoint, LoopbackSqlServerOptions.DefaultUserName, LoopbackSqlServerOptions.DefaultPassword);
            _connections[i] = new SqlConnection(connectionString);
            await _connections[i].OpenAsync();
            _commands[i] = new SqlCommand("SELECT 1", _connections[i]);
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var raw in _raw)
        {
            await raw.DisposeAsync();
        }

        foreach (var connection in _connections)
        {
            await connection.DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = RoundTripsPerInvoke)]
    public Task RawTds_SelectOne()
    {
        for (var i = 0; i < Connections; i++)
        {
            _tasks[i] = RawLoopAsync(_raw[i], RoundTripsPerInvoke / Connections);
        }

        return Task.WhenAll(_tasks);
    }

    [Benchmark(OperationsPerInvoke = RoundTripsPerInvoke)]
    public Task SqlClient_ExecuteScalarAsync()
    {
        for (var i = 0; i < Connections; i++)
        {
            _tasks[i] = SqlClientLoopAsync(_commands[i], RoundTripsPerInvoke / Connections);
        }

        return Task.WhenAll(_tasks);
    }

    private static async Task RawLoopAsync(LoopbackServerRawClient client, int roundTrips)
    {
        for (var n = 0; n < roundTrips; n++)
        {
            await client.SelectOneAsync();
        }
    }

    private static async Task SqlClientLoopAsync(SqlCommand command, int roundTrips)
    {
        for (var n = 0; n < roundTrips; n++)
        {
            await command.ExecuteScalarAsync();
        }
    }
}

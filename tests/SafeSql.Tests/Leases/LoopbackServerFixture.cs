using Microsoft.Data.SqlClient;

using SafeSql.Testing;

namespace SafeSql.Tests.Leases;

/// <summary>One loopback TDS server per test class; each test gets its own SqlClient pool (a unique Application Name).</summary>
public sealed class LoopbackServerFixture : IAsyncLifetime
{
    private LoopbackSqlServer? _server;

    public LoopbackSqlServer Server => _server ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _server = await LoopbackSqlServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A connection string with a pool of its own (SqlClient pools by exact connection string).</summary>
    public string ConnectionString(int? maxPoolSize = null, int? connectTimeout = null)
    {
        var builder = new SqlConnectionStringBuilder(Server.ConnectionString)
        {
            ApplicationName = $"SafeSql.Tests.{Guid.NewGuid():N}",
        };
        if (maxPoolSize is { } max)
        {
            builder.MaxPoolSize = max;
        }

        if (connectTimeout is { } timeout)
        {
            builder.ConnectTimeout = timeout;
        }

        return builder.ConnectionString;
    }
}

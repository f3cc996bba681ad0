using System.Globalization;

using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;

namespace SafeSql;

/// <summary>
/// What OpenTelemetry's attributes say about one pool, read from its connection string's <c>Data Source</c> and
/// <c>Initial Catalog</c> only (never a credential): <c>server.address</c>, <c>server.port</c>, <c>db.namespace</c> and
/// <c>db.client.connection.pool.name</c>.
/// </summary>
/// <remarks>
/// Sources: the database client conventions (semantic-conventions <c>model/db/registry.yaml</c>,
/// <c>db.client.connection.pool.name</c>: "unique within the instrumented application"; without a pool name,
/// "<c>server.address:server.port/db.namespace</c>") and the SQL Server conventions (<c>docs/db/sql-server.md</c>:
/// <c>db.namespace</c> is the database, or <c>{instance_name}|{database_name}</c> for a named instance).
/// </remarks>
internal sealed class PoolTelemetryAttributes
{
    private PoolTelemetryAttributes(string poolName, string? serverAddress, int? serverPort, string? dbNamespace)
    {
        PoolName = poolName;
        ServerAddress = serverAddress;
        ServerPort = serverPort;
        Namespace = dbNamespace;
    }

    /// <summary>Gets the value of <c>db.client.connection.pool.name</c>: the instance name, else the endpoint fallback; never empty.</summary>
    internal string PoolName { get; }

    /// <summary>Gets <c>server.address</c>: the host of <c>Data Source</c> (<see langword="null"/> when it has none).</summary>
    internal string? ServerAddress { get; }

    /// <summary>Gets <c>server.port</c>: the port of <c>Data Source</c>, 1433 when it names none; <see langword="null"/> for a named
    /// instance without a port (SQL Browser picks it) and for named pipes or shared memory.</summary>
    internal int? ServerPort { get; }

    /// <summary>Gets <c>db.namespace</c>: <c>Initial Catalog</c>, prefixed <c>{instance}|</c> for a named instance;
    /// <see langword="null"/> when the string names no database (the login's default database is not known here).</summary>
    internal string? Namespace { get; }

    /// <summary>Reads the attributes of the pool of <paramref name="connectionString"/> for the instance registered as <paramref name="name"/>.</summary>
    /// <param name="name">The instance name (empty for the default instance).</param>
    /// <param name="connectionString">The connection string; only <c>Data Source</c> and <c>Initial Catalog</c> are read.</param>
    internal static PoolTelemetryAttributes Create(string? name, SqlConnectionStringBuilder connectionString)
    {
        var dataSource = connectionString.DataSource;
        string? address = null;
        int? port = null;
        string? instance = null;
        if (SqlServerAddress.TryParse(dataSource, out var parsed))
        {
            address = parsed.Host;
            port = parsed.IsTcp && parsed.Port > 0 ? parsed.Port : null;
            instance = InstanceOf(dataSource);
        }

        var database = string.IsNullOrEmpty(connectionString.InitialCatalog) ? null : connectionString.InitialCatalog;
        var dbNamespace = database is null ? null : instance is null ? database : $"{instance}|{database}";
        var poolName = string.IsNullOrEmpty(name) ? Fallback(address, port, instance, dbNamespace) : name;
        return new PoolTelemetryAttributes(poolName, address, port, dbNamespace);
    }

    /// <summary><c>server.address:server.port/db.namespace</c>, with the parts that are known.</summary>
    private static string Fallback(string? address, int? port, string? instance, string? dbNamespace)
    {
        var text = address ?? "(unknown server)";
        if (port is { } value)
        {
            text += ":" + value.ToString(CultureInfo.InvariantCulture);
        }
        else if (instance is not null)
        {
            text += "\\" + instance;
        }

        return dbNamespace is null ? text : text + "/" + dbNamespace;
    }

    /// <summary>The instance of <c>host\instance[,port]</c>, or <see langword="null"/>.</summary>
    private static string? InstanceOf(string dataSource)
    {
        var backslash = dataSource.IndexOf('\\', StringComparison.Ordinal);
        if (backslash < 0)
        {
            return null;
        }

        var rest = dataSource[(backslash + 1)..];
        var comma = rest.IndexOf(',', StringComparison.Ordinal);
        var instance = (comma >= 0 ? rest[..comma] : rest).Trim();
        return instance.Length == 0 ? null : instance;
    }
}

using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;

namespace SafeSql;

/// <summary>Skeleton root factory: opens real connections from the normalized string. The leases issue owns this file.</summary>
internal sealed partial class SqlConnectionFactory : ISqlConnectionFactory
{
    private readonly string _connectionString;

    public SqlConnectionFactory(string name, SafeSqlOptions options)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        _connectionString = SqlConnectionStringNormalizer.Normalize(options);
    }

    public string Name { get; }

    public SqlConnection Open(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
    {
        var connection = new SqlConnection(_connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public async ValueTask<SqlConnection> OpenAsync(
        CancellationToken cancellationToken = default,
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0)
    {
        var connection = new SqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ISqlConnectionScope CreateScope() => throw new NotSupportedException("Scopes arrive with the leases issue.");
}

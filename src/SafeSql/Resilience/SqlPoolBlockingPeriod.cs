using System.Diagnostics.CodeAnalysis;

using Microsoft.Data.SqlClient;

using SafeSql.ConnectionStrings;
using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// SqlClient's pool blocking period: after a pooled open fails, the pool rethrows (a copy of) that error to every open,
/// without trying, for 5 s, doubling after each further failure up to 60 s (dotnet/SqlClient v6.1.x
/// src/Microsoft.Data.SqlClient/netcore/src/Microsoft/Data/ProviderBase/DbConnectionPool.cs: <c>ERROR_WAIT_DEFAULT</c>,
/// <c>CreateObject</c>, <c>TryCloneCachedException</c>; DbConnectionPool.NetCoreApp.cs: <c>IsBlockingPeriodEnabled</c>).
/// Part of the integration API (<c>SAFESQLEXP002</c>): <c>safesql doctor</c> reports it.
/// </summary>
[Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
public static class SqlPoolBlockingPeriod
{
    // ADP.AzureSqlServerEndpoints (SqlClient Strings.resx AZURESQL_*, unchanged from 2.1 through 7.1): PoolBlockingPeriod.Auto does not block for these.
    private static readonly string[] s_azureEndpointSuffixes =
    [
        ".database.windows.net",
        ".database.cloudapi.de",
        ".database.usgovcloudapi.net",
        ".database.chinacloudapi.cn",
    ];

    /// <summary>
    /// Determines whether a failed open of this connection string starts a blocking period: pooling on, and
    /// <c>Pool Blocking Period</c> <c>AlwaysBlock</c>, or <c>Auto</c> (the default) towards a server that is not an Azure SQL endpoint.
    /// Without a connection string SqlClient's defaults are assumed (pooling on, Auto, not Azure): blocking.
    /// </summary>
    /// <param name="builder">The connection string as SqlClient reads it, or <see langword="null"/> for SqlClient's defaults.</param>
    /// <returns>Whether a failed open starts the blocking period.</returns>
    public static bool IsActive(SqlConnectionStringBuilder? builder)
    {
        if (builder is null)
        {
            return true;
        }

        if (!builder.Pooling)
        {
            return false;
        }

        return builder.PoolBlockingPeriod switch
        {
            PoolBlockingPeriod.AlwaysBlock => true,
            PoolBlockingPeriod.NeverBlock => false,
            _ => !IsAzureSqlEndpoint(builder.DataSource),
        };
    }

    /// <summary>The blocking period after the failure of attempt <paramref name="attemptNumber"/> (0-based): 5 s, 10 s, 20 s, 40 s, then 60 s.</summary>
    /// <param name="attemptNumber">The 0-based number of consecutive failed opens before this one.</param>
    /// <returns>How long the pool replays the error.</returns>
    public static TimeSpan After(int attemptNumber)
    {
        var seconds = RetryDefaults.PoolBlockingPeriodInitialSeconds;
        for (var i = 0; i < attemptNumber && seconds < RetryDefaults.PoolBlockingPeriodMaxSeconds; i++)
        {
            // SqlClient: "if (30000 < _errorWait) _errorWait = 60000; else _errorWait *= 2;"
            seconds = seconds > RetryDefaults.PoolBlockingPeriodMaxSeconds / 2 ? RetryDefaults.PoolBlockingPeriodMaxSeconds : seconds * 2;
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static bool IsAzureSqlEndpoint(string? dataSource)
    {
        if (!SqlServerAddress.TryParse(dataSource, out var source))
        {
            return false;
        }

        foreach (var suffix in s_azureEndpointSuffixes)
        {
            if (source.Host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

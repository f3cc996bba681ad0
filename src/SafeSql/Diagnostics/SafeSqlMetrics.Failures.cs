using System.Diagnostics.Metrics;
using System.Globalization;

using SafeSql.Classification;

namespace SafeSql.Diagnostics;

/// <summary>The failure instruments of the "SafeSql" meter: failed open attempts by <see cref="SqlFailureKind"/>.</summary>
internal sealed partial class SafeSqlMetrics
{
    /// <summary>The counter of classified failures: <c>db.client.connection.safesql.failures</c>.</summary>
    internal const string FailuresInstrumentName = "db.client.connection.safesql.failures";

    /// <summary>SafeSql attribute of the failure counter: the <see cref="SqlFailureKind"/> in snake case.</summary>
    internal const string FailureKindTag = "safesql.failure.kind";

    /// <summary>OpenTelemetry's <c>error.type</c>: the SQL error number, or the exception's type name when there is none.</summary>
    internal const string ErrorTypeTag = "error.type";

    private readonly object _failuresGate = new();
    private Counter<long>? _failures;

    /// <summary>
    /// Counts one failed attempt, tagged with the pool name (<see cref="PoolNameTag"/>, as the lease instruments), the kind and
    /// the error type.
    /// </summary>
    internal void RecordFailure(string poolName, SqlFailure failure)
    {
        var counter = _failures ?? CreateFailuresCounter();
        if (!counter.Enabled)
        {
            return;
        }

        var errorType = failure.SqlErrorNumber is { } number
            ? number.ToString(CultureInfo.InvariantCulture)
            : failure.Exception?.GetType().FullName ?? "unknown";
        counter.Add(
            1,
            new KeyValuePair<string, object?>(PoolNameTag, poolName),
            new KeyValuePair<string, object?>(FailureKindTag, ToTagValue(failure.Kind)),
            new KeyValuePair<string, object?>(ErrorTypeTag, errorType));
    }

    internal static string ToTagValue(SqlFailureKind kind) => kind switch
    {
        SqlFailureKind.PoolTimeout => "pool_timeout",
        SqlFailureKind.SocketExhaustion => "socket_exhaustion",
        SqlFailureKind.ConnectionRefused => "connection_refused",
        SqlFailureKind.ConnectTimeout => "connect_timeout",
        SqlFailureKind.CommandTimeout => "command_timeout",
        SqlFailureKind.ConnectionBroken => "connection_broken",
        SqlFailureKind.TransientServerError => "transient_server_error",
        SqlFailureKind.AuthenticationFailure => "authentication_failure",
        SqlFailureKind.NetworkUnreachable => "network_unreachable",
        SqlFailureKind.Permanent => "permanent",
        SqlFailureKind.EncryptionFailure => "encryption_failure",
        _ => "unknown",
    };

    private Counter<long> CreateFailuresCounter()
    {
        lock (_failuresGate)
        {
            return _failures ??= _meter.CreateCounter<long>(
                FailuresInstrumentName,
                unit: "{failure}",
                description: "The number of failed attempts to open a connection, by SafeSql's failure kind (pool_timeout, socket_exhaustion, connection_refused, connect_timeout, ...).");
        }
    }
}

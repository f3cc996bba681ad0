using System.Globalization;

namespace SafeSql;

/// <summary>
/// The values of the metric tags that describe a classified failure: <c>safesql.failure.kind</c> (the
/// <see cref="SqlFailureKind"/> in snake case) and OpenTelemetry's <c>error.type</c> (the SQL error number, or the
/// exception's type name when there is none).
/// </summary>
internal static class FailureKindTagValue
{
    internal static string Of(SqlFailureKind kind) => kind switch
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
        SqlFailureKind.ListenBacklogOverflow => "listen_backlog_overflow",
        _ => "unknown",
    };

    internal static string ErrorTypeOf(SqlFailure failure) =>
        failure.SqlErrorNumber is { } number
            ? number.ToString(CultureInfo.InvariantCulture)
            : failure.Exception?.GetType().FullName ?? "unknown";
}

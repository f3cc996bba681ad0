using System.Globalization;

namespace SafeSql.Tool.Doctor;

internal sealed partial class DoctorRunner
{
    /// <summary>SQL Server's largest user connection limit (sp_configure 'user connections', 0 = this maximum).</summary>
    private const int SqlServerMaxUserConnections = 32767;

    /// <summary>The pool settings against the server: Max Pool Size against its connection limit, Connect Timeout against the blocking period.</summary>
    private void CheckPool()
    {
        var builder = _builder!;
        if (!builder.Pooling)
        {
            Add("pool", "max-pool-size", DoctorStatus.Ok, "Pooling=false: no pool; see SAFESQL004 above.", "Without a pool every open is a new connection and a new login.", null, new() { ["pooling"] = false });
        }
        else
        {
            var limit = _serverMaxConnections ?? SqlServerMaxUserConnections;
            var source = _serverMaxConnections is null
                ? $"the server did not report @@MAX_CONNECTIONS ({_serverMaxConnectionsUnknown ?? "no login"}); SQL Server allows at most {SqlServerMaxUserConnections}"
                : $"the server's @@MAX_CONNECTIONS is {limit}";
            var status = builder.MaxPoolSize > limit ? DoctorStatus.Problem : DoctorStatus.Ok;
            Add(
                "pool",
                "max-pool-size",
                status,
                $"Max Pool Size={builder.MaxPoolSize} per application instance (Min Pool Size={builder.MinPoolSize}); {source}.",
                "Every instance of the application may hold Max Pool Size connections; past the server's limit logins fail with error 17809.",
                status == DoctorStatus.Ok ? null : "Lower Max Pool Size below the server's limit divided by the number of instances.",
                new() { ["maxPoolSize"] = builder.MaxPoolSize, ["minPoolSize"] = builder.MinPoolSize, ["serverMaxConnections"] = _serverMaxConnections });
        }

        var active = SqlPoolBlockingPeriod.IsActive(builder);
        var first = SqlPoolBlockingPeriod.After(0).TotalSeconds;
        var longest = SqlPoolBlockingPeriod.After(10).TotalSeconds;
        var connectTimeout = builder.ConnectTimeout;
        var shortTimeout = active && connectTimeout > 0 && connectTimeout < first;
        Add(
            "pool",
            "pool-blocking-period",
            shortTimeout ? DoctorStatus.Warning : DoctorStatus.Ok,
            active
                ? string.Create(CultureInfo.InvariantCulture, $"PoolBlockingPeriod={builder.PoolBlockingPeriod}: after a failed open, every open of this pool fails at once with the same error for {first:0} s, doubling up to {longest:0} s; Connect Timeout={connectTimeout} s.")
                : string.Create(CultureInfo.InvariantCulture, $"PoolBlockingPeriod={builder.PoolBlockingPeriod}: no blocking period for this server (Azure SQL under Auto, NeverBlock, or no pool); Connect Timeout={connectTimeout} s."),
            "SqlClient's blocking period (docs: SQL Server connection pooling, 'Pool blocking period') repeats a failed open's error without trying the server; a retry sooner than the period sees the cached error.",
            shortTimeout ? $"With Connect Timeout below {first:0} s, retry after at least {first:0} s (SafeSql's open retry does), or set PoolBlockingPeriod=NeverBlock." : null,
            new() { ["active"] = active, ["blockingSecondsFirst"] = first, ["blockingSecondsLongest"] = longest, ["connectTimeoutSeconds"] = connectTimeout });
    }
}

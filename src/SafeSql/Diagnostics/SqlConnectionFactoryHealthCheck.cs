using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Diagnostics.HealthChecks;

using SafeSql.Leases;

namespace SafeSql.Diagnostics;

/// <summary>
/// Health of one SafeSql pool: Healthy; Degraded under pool pressure (leased ≥ 80 % of Max Pool Size) or after a leak
/// in the last 5 minutes; the registration's failure status (Unhealthy by default) when opening fails.
/// </summary>
/// <remarks>
/// The probe opens a connection through the root factory and runs <c>SELECT 1</c> (a pooled open alone does not reach
/// the server). It is skipped when every pooled connection is leased: it would only wait Connect Timeout for the pool,
/// and the failed opens of the application already tell (the last open failure is remembered). The data carries the
/// pool snapshot, never the connection string.
/// </remarks>
internal sealed class SqlConnectionFactoryHealthCheck : IHealthCheck
{
    private readonly SqlConnectionFactory _factory;

    internal SqlConnectionFactoryHealthCheck(SqlConnectionFactory factory)
    {
        _factory = factory;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failureStatus = context.Registration.FailureStatus;
        var tracker = _factory.Tracker;
        var snapshot = tracker.GetSnapshot();
        if (snapshot.Pooling && snapshot.LeasedCount < snapshot.MaxPoolSize)
        {
            try
            {
                var connection = await _factory.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    using var command = new SqlCommand("SELECT 1", connection);
                    await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(failureStatus, $"SafeSql pool '{snapshot.PoolName}': opening a connection failed: {ex.Message}", ex, ToData(tracker.GetSnapshot()));
            }

            snapshot = tracker.GetSnapshot();
        }
        else if (_factory.LastOpenFailure is { } failure)
        {
            return new HealthCheckResult(failureStatus, $"SafeSql pool '{snapshot.PoolName}': the last open failed: {failure.Message}", failure, ToData(snapshot));
        }

        var data = ToData(snapshot);
        if (snapshot.Pooling && snapshot.LeasedCount >= snapshot.MaxPoolSize * SafeSqlDefaults.LeasePoolPressureRatio)
        {
            return HealthCheckResult.Degraded(
                $"SafeSql pool '{snapshot.PoolName}' is under pressure: {snapshot.LeasedCount} of Max Pool Size={snapshot.MaxPoolSize} leased; oldest {snapshot.OldestLease}.",
                data: data);
        }

        if (snapshot.LastLeakDetectedAt is { } lastLeak && snapshot.Timestamp - lastLeak <= TimeSpan.FromMinutes(SafeSqlDefaults.LeaseRecentLeakWindowMinutes))
        {
            return HealthCheckResult.Degraded(
                $"SafeSql pool '{snapshot.PoolName}' reported a connection leak in the last {SafeSqlDefaults.LeaseRecentLeakWindowMinutes} minutes ({snapshot.LeaksDetected} since start); see the logs with event ids 2001-2003.",
                data: data);
        }

        return HealthCheckResult.Healthy($"SafeSql pool '{snapshot.PoolName}': {snapshot.LeasedCount} of Max Pool Size={snapshot.MaxPoolSize} leased.", data);
    }

    internal static Dictionary<string, object> ToData(SqlConnectionPoolSnapshot snapshot)
    {
        var data = new Dictionary<string, object>
        {
            ["poolName"] = snapshot.PoolName,
            ["leased"] = snapshot.LeasedCount,
            ["maxPoolSize"] = snapshot.MaxPoolSize,
            ["leaksDetected"] = snapshot.LeaksDetected,
            ["poolTimeouts"] = snapshot.PoolTimeouts,
        };
        if (snapshot.OldestLease is { } oldest)
        {
            data["oldestLeaseSeconds"] = Math.Round(oldest.HeldFor.TotalSeconds, 3);
            data["oldestLeaseCallSite"] = oldest.CallSite?.ToString() ?? LeakMessages.UnknownCallSite;
        }

        if (snapshot.LastLeakDetectedAt is { } lastLeak)
        {
            data["lastLeakDetectedAt"] = lastLeak;
        }

        if (snapshot.TopCallSitesByCount.Count > 0)
        {
            data["topCallSites"] = snapshot.TopCallSitesByCount.Select(static u => u.ToString()).ToArray();
        }

        return data;
    }
}

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Diagnostics.HealthChecks;

using Polly.CircuitBreaker;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// Health of one SafeSql pool: Healthy; Degraded under pool pressure (leased ≥ 80 % of Max Pool Size), after a leak in the
/// last 5 minutes, or while the circuit breaker is half-open; the registration's failure status (Unhealthy by default) when
/// opening fails or while the circuit breaker is open.
/// </summary>
/// <remarks>
/// The probe is a plain <see cref="SqlConnection"/> on the factory's normalized connection string, opened once and running
/// <c>SELECT 1</c> (a pooled open alone does not reach the server): no retry pipeline (a down server would otherwise cost the
/// check every retry delay, and each check would log and count the failures again, events 3000-3003), no lease. It is
/// bounded by the registration's timeout when one is set, else by the connection's Connect Timeout. It is skipped when
/// pooling is on and every pooled connection is leased: it would only wait for the pool, and the failed opens of the
/// application already tell (the last open failure is remembered). The data carries the pool snapshot, never the
/// connection string.
/// </remarks>
internal sealed class SafeSqlDataSourceHealthCheck : IHealthCheck
{
    private readonly SafeSqlDataSource _factory;
    private readonly TimeSpan _connectTimeout;

    internal SafeSqlDataSourceHealthCheck(SafeSqlDataSource factory)
    {
        _factory = factory;
        var connectTimeout = new SqlConnectionStringBuilder(factory.ConnectionStringWithPassword).ConnectTimeout;
        _connectTimeout = connectTimeout > 0 ? TimeSpan.FromSeconds(connectTimeout) : Timeout.InfiniteTimeSpan;
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var failureStatus = context.Registration.FailureStatus;
        var tracker = _factory.Tracker;
        var snapshot = tracker.GetSnapshot();
        var poolName = PoolDisplayName.Of(snapshot.PoolName);
        switch (_factory.CircuitState)
        {
            case CircuitState.Open or CircuitState.Isolated:
                // No open while the server is known to be down: the health check answers at once, like the data source.
                return new HealthCheckResult(
                    failureStatus,
                    $"SafeSql pool '{poolName}': the circuit breaker is open: the server has been unavailable since {_factory.UnavailableSince:HH:mm:ss} UTC; opens fail at once until a probe sees it answer again.",
                    _factory.LastOpenFailure,
                    ToData(snapshot));
            case CircuitState.HalfOpen:
                return HealthCheckResult.Degraded(
                    $"SafeSql pool '{poolName}': the circuit breaker is half-open: the server was unavailable; one trial open is deciding whether it is back.",
                    _factory.LastOpenFailure,
                    ToData(snapshot));
        }

        if (!snapshot.Pooling || snapshot.LeasedCount < snapshot.MaxPoolSize)
        {
            var timeout = context.Registration.Timeout > TimeSpan.Zero ? context.Registration.Timeout : _connectTimeout;
            using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeoutSource.CancelAfter(timeout);
            try
            {
                await SelectOneAsync(timeoutSource.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested && timeoutSource.IsCancellationRequested)
            {
                return new HealthCheckResult(
                    failureStatus,
                    $"SafeSql pool '{poolName}': opening a connection and running SELECT 1 did not complete within {timeout.TotalSeconds:0.###} s (the health check registration's timeout, else Connect Timeout).",
                    ex,
                    ToData(tracker.GetSnapshot()));
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(failureStatus, $"SafeSql pool '{poolName}': opening a connection failed: {ex.Message}", ex, ToData(tracker.GetSnapshot()));
            }

            snapshot = tracker.GetSnapshot();
        }
        else if (_factory.LastOpenFailure is { } failure)
        {
            return new HealthCheckResult(failureStatus, $"SafeSql pool '{poolName}': the last open failed: {failure.Message}", failure, ToData(snapshot));
        }

        var data = ToData(snapshot);
        if (snapshot.Pooling && snapshot.LeasedCount >= snapshot.MaxPoolSize * LeaseDefaults.LeasePoolPressureRatio)
        {
            return HealthCheckResult.Degraded(
                $"SafeSql pool '{poolName}' is under pressure: {snapshot.LeasedCount} of Max Pool Size={snapshot.MaxPoolSize} leased; oldest {snapshot.OldestLease}.",
                data: data);
        }

        if (snapshot.LastLeakDetectedAt is { } lastLeak && snapshot.Timestamp - lastLeak <= TimeSpan.FromMinutes(LeaseDefaults.LeaseRecentLeakWindowMinutes))
        {
            return HealthCheckResult.Degraded(
                $"SafeSql pool '{poolName}' reported a connection leak in the last {LeaseDefaults.LeaseRecentLeakWindowMinutes} minutes ({snapshot.LeaksDetected} since start); see the logs with event ids {SafeSqlEventId.LeakNotDisposedBeforeScopeEnd}-{SafeSqlEventId.LeakReportFailed}.",
                data: data);
        }

        return HealthCheckResult.Healthy($"SafeSql pool '{poolName}': {snapshot.LeasedCount} of Max Pool Size={snapshot.MaxPoolSize} leased.", data);
    }

    /// <summary>
    /// Opens a connection of the pool (not a lease, no retry) and runs <c>SELECT 1</c>. An open still waiting on an endpoint that
    /// the data source's probe finds refusing fails at once (<see cref="SqlServerUnavailableException"/>), as the data source's
    /// own opens do; the connection is then left to SqlClient, which disposes it when it gives up.
    /// </summary>
    private async Task SelectOneAsync(CancellationToken cancellationToken)
    {
        var connection = new SqlConnection(_factory.ConnectionStringWithPassword);
        try
        {
            await _factory.AwaitAttemptAsync(connection, connection.OpenAsync(cancellationToken), _factory.TimeProvider.GetTimestamp()).ConfigureAwait(false);
        }
        catch (SqlServerUnavailableException)
        {
            throw;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        await using (connection.ConfigureAwait(false))
        {
            using var command = new SqlCommand("SELECT 1", connection);
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    internal static Dictionary<string, object> ToData(SqlConnectionPoolSnapshot snapshot)
    {
        var data = new Dictionary<string, object>
        {
            ["poolName"] = PoolDisplayName.Of(snapshot.PoolName),
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

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace SafeSql.AspNetCore;

/// <summary>
/// The health of each pool, from the application's SafeSql health checks, run at most once per
/// <see cref="SafeSqlDiagnosticsOptions.HealthCacheDuration"/> (single flight) because SafeSql's check opens a connection.
/// </summary>
internal sealed class DiagnosticsHealth
{
    /// <summary>How long a request waits for a fresh result before it shows the previous one.</summary>
    private static readonly TimeSpan s_requestWait = TimeSpan.FromSeconds(2);

    private readonly HealthCheckService? _healthChecks;
    private readonly SafeSqlDiagnosticsOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly Func<HealthCheckRegistration, bool> _predicate;
    private readonly Lock _gate = new();
    private IReadOnlyDictionary<string, HealthDocument> _last = new Dictionary<string, HealthDocument>();
    private DateTimeOffset? _lastRunAt;
    private Task<IReadOnlyDictionary<string, HealthDocument>>? _running;

    public DiagnosticsHealth(IServiceProvider services, SafeSqlDiagnosticsCollector collector)
    {
        _healthChecks = services.GetService<HealthCheckService>();
        _options = collector.Options;
        _timeProvider = collector.TimeProvider;
        _predicate = _options.HealthCheckPredicate ?? (static registration => registration.Name.StartsWith("safesql", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Gets the latest health by pool display name; empty when the application registered no health checks.</summary>
    internal async Task<IReadOnlyDictionary<string, HealthDocument>> GetAsync(CancellationToken cancellationToken)
    {
        if (_healthChecks is null)
        {
            return _last;
        }

        Task<IReadOnlyDictionary<string, HealthDocument>> running;
        lock (_gate)
        {
            var now = _timeProvider.GetUtcNow();
            if (_running is null && (_lastRunAt is null || now - _lastRunAt >= _options.HealthCacheDuration))
            {
                _lastRunAt = now;
                _running = RunAsync(_healthChecks);
            }

            if (_running is null)
            {
                return _last;
            }

            running = _running;
        }

        try
        {
            return await running.WaitAsync(s_requestWait, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return _last;
        }
    }

    private async Task<IReadOnlyDictionary<string, HealthDocument>> RunAsync(HealthCheckService healthChecks)
    {
        try
        {
            var report = await healthChecks.CheckHealthAsync(_predicate, CancellationToken.None).ConfigureAwait(false);
            var checkedAt = _timeProvider.GetUtcNow();
            var byPool = new Dictionary<string, HealthDocument>(StringComparer.Ordinal);
            foreach (var (name, entry) in report.Entries)
            {
                if (entry.Data.TryGetValue("poolName", out var pool) && pool is string poolName)
                {
                    byPool[poolName] = new HealthDocument(name, entry.Status.ToString(), entry.Description, checkedAt);
                }
            }

            lock (_gate)
            {
                _last = byPool;
            }

            return byPool;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // HealthCheckService reports a failing check as an entry; what escapes is a broken registration. The page then
            // shows the previous result (or none) rather than fail the whole diagnostics.
            return _last;
        }
        finally
        {
            lock (_gate)
            {
                _running = null;
            }
        }
    }
}

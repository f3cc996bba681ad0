using System.Collections.Concurrent;

using Microsoft.Data.SqlClient;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Time.Testing;

using SafeSql.Diagnostics;
using SafeSql.Testing;
using SafeSql.Tests.Leases;

namespace SafeSql.Tests.Diagnostics;

/// <summary>No password in any log, metric, report, snapshot, exception or health result produced by lease tracking.</summary>
public sealed class SafeSqlPasswordTests(LoopbackServerFixture fixture) : IClassFixture<LoopbackServerFixture>
{
    [Fact]
    public async Task LeaseDiagnostics_EveryLeakKindAndPoolTimeout_NeverContainThePassword()
    {
        // Arrange
        const string Password = LoopbackSqlServerOptions.DefaultPassword;
        var connectionString = fixture.ConnectionString(maxPoolSize: 2, connectTimeout: 3);
        Assert.True(connectionString.Contains(Password, StringComparison.Ordinal), "The loopback connection string must carry the password the test looks for (not shown).");
        var time = new FakeTimeProvider();
        var texts = new ConcurrentQueue<string>();
        await using var harness = new FactoryHarness(connectionString, o => { o.LeakDetectionThreshold = TimeSpan.FromSeconds(2); o.StackCapture = SqlConnectionStackCaptureMode.Full; }, time);

        // Act: scope leak, held too long and its return, pool timeout, snapshot, health check.
        await using (var scope = harness.Factory.CreateScope())
        {
            scope.OpenConnection();
        }

        var first = harness.Factory.OpenConnection();
        var second = harness.Factory.OpenConnection();
        time.Advance(TimeSpan.FromSeconds(3));
        var exhausted = Assert.Throws<SqlConnectionPoolExhaustedException>(() => harness.Factory.OpenConnection());
        texts.Enqueue(exhausted.ToString());
        texts.Enqueue(exhausted.InnerException!.ToString());
        var snapshot = harness.Factory.GetPoolSnapshot();
        texts.Enqueue(snapshot.OldestLease!.ToString());
        texts.Enqueue(string.Join(";", snapshot.TopCallSitesByCount.Select(u => u.ToString())));
        var check = new SafeSqlDataSourceHealthCheck(harness.Factory);
        var health = await check.CheckHealthAsync(new HealthCheckContext { Registration = new HealthCheckRegistration("safesql", check, null, null) });
        texts.Enqueue(health.Description ?? string.Empty);
        foreach (var value in health.Data.Values)
        {
            texts.Enqueue(value is string[] array ? string.Join(";", array) : Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
        }

        first.Dispose();
        second.Dispose();
        harness.RecordObservableInstruments();

        // Assert
        Assert.Equal(
            [SqlConnectionLeakKind.NotDisposedBeforeScopeEnd, SqlConnectionLeakKind.HeldTooLong, SqlConnectionLeakKind.HeldTooLong, SqlConnectionLeakKind.ReturnedAfterHeldTooLong, SqlConnectionLeakKind.ReturnedAfterHeldTooLong],
            harness.Reports.Select(r => r.Kind));
        foreach (var report in harness.Reports)
        {
            texts.Enqueue(report.Message);
            texts.Enqueue(report.Lease.ToString());
            texts.Enqueue(report.Lease.StackTrace ?? string.Empty);
        }

        foreach (var log in harness.Logs.GetSnapshot())
        {
            texts.Enqueue(log.Message);
            texts.Enqueue(log.Exception?.ToString() ?? string.Empty);
            texts.Enqueue(string.Join(";", (log.StructuredState ?? []).Select(kv => $"{kv.Key}={kv.Value}")));
        }

        foreach (var tags in harness.AllMeasurementTags())
        {
            texts.Enqueue(string.Join(";", tags.Select(kv => $"{kv.Key}={kv.Value}")));
        }

        Assert.True(texts.Count > 30);
        Assert.All(texts, text => Assert.DoesNotContain(Password, text, StringComparison.OrdinalIgnoreCase));
        Assert.All(texts, text => Assert.DoesNotContain("Password=", text, StringComparison.OrdinalIgnoreCase));
    }
}

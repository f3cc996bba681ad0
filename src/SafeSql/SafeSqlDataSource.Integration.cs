using System.Diagnostics.CodeAnalysis;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>What SafeSql's own packages report through the data source: the integration API (<c>SAFESQLEXP002</c>).</summary>
public sealed partial class SafeSqlDataSource
{
    /// <summary>Gets the name of the data source as every text shows it: <see cref="Name"/>, or "(default)" for the default instance.</summary>
    [Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
    public string DisplayName => PoolDisplayName.Of(Name);

    /// <summary>
    /// Gets the value of the OpenTelemetry attribute <c>db.client.connection.pool.name</c> on this data source's measurements
    /// and spans: <see cref="Name"/>, or for the default instance <c>server.address:server.port/db.namespace</c> (never empty,
    /// never a credential; docs/telemetry.md). SafeSql.AspNetCore's diagnostics page matches the meter's measurements to data
    /// sources with it.
    /// </summary>
    [Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
    public string MetricPoolName => Telemetry.PoolName;

    /// <summary>
    /// Counts a classified failure of an operation on this data source's connections on the "SafeSql" meter
    /// (<c>db.client.connection.safesql.failures</c>, tagged with the pool, the kind and <c>error.type</c>), as the data source
    /// counts the failures of its opens. SafeSql.EntityFrameworkCore's execution strategy counts the failures of EF's operations
    /// with it.
    /// </summary>
    /// <param name="failure">The classified failure (<see cref="SqlFailureClassifier"/>).</param>
    /// <exception cref="ArgumentNullException"><paramref name="failure"/> is <see langword="null"/>.</exception>
    [Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
    public void RecordFailure(SqlFailure failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        Metrics.RecordFailure(Telemetry.PoolName, FailureKindTagValue.Of(failure.Kind), FailureKindTagValue.ErrorTypeOf(failure));
    }
}

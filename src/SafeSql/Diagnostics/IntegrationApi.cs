namespace SafeSql.Diagnostics;

/// <summary>
/// The diagnostic id under which the data source's integration API is <see cref="System.Diagnostics.CodeAnalysis.ExperimentalAttribute"/>:
/// what SafeSql's own packages (SafeSql.EntityFrameworkCore) build on instead of the core's internals
/// (the data source's <c>CreateHolderConnection</c>, <c>LoggerFactory</c>, <c>RecordFailure</c> and <c>DisplayName</c>, and
/// <c>SqlServerAddress</c>, <c>SqlConnectionStringParser</c>, <c>SqlPoolBlockingPeriod</c> for the tool). It may change in a minor
/// version while SafeSql is 0.x; a project that uses it suppresses the id, as Npgsql's plugin APIs ask.
/// </summary>
internal static class IntegrationApi
{
    /// <summary>The diagnostic id; docs/architecture.md, "Integration API", lists what it covers.</summary>
    internal const string ExperimentalId = "SAFESQLEXP002";

    /// <summary>Where the diagnostic points.</summary>
    internal const string ExperimentalUrl = "https://github.com/safesql/safesql/blob/main/docs/architecture.md#integration-api";
}

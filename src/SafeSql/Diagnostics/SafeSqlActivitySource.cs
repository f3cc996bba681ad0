using System.Diagnostics;

namespace SafeSql.Diagnostics;

/// <summary>
/// The "SafeSql" activity source and the names of its span, attributes and event. The span covers one logical open through a
/// data source, every retry included, as the database span conventions ask of a logical operation with retries
/// (semantic-conventions <c>docs/db/database-spans.md</c>); no convention defines a span for a connection open, so its name
/// and its <c>safesql.*</c> attributes are SafeSql's.
/// </summary>
internal static class SafeSqlActivitySource
{
    /// <summary>The operation name of the open span; its display name is <c>OPEN {db.namespace}</c> (or the server address).</summary>
    internal const string OpenOperationName = "SafeSql.Open";

    /// <summary>The event added for each failed attempt of an open.</summary>
    internal const string AttemptFailedEventName = "safesql.open.attempt_failed";

    /// <summary>Attribute of the span: <c>server.address</c>.</summary>
    internal const string ServerAddressTag = "server.address";

    /// <summary>Attribute of the span: <c>server.port</c>.</summary>
    internal const string ServerPortTag = "server.port";

    /// <summary>Attribute of the span: <c>db.namespace</c>.</summary>
    internal const string NamespaceTag = "db.namespace";

    /// <summary>Attribute of an attempt event: the SQL Server error number as a string (<c>db.response.status_code</c>, as the
    /// SQL Server conventions give it).</summary>
    internal const string ResponseStatusCodeTag = "db.response.status_code";

    /// <summary>Attribute of an attempt event: the attempt's number, 1 for the first.</summary>
    internal const string AttemptTag = "safesql.open.attempt";

    /// <summary>Attribute of an attempt event: the delay before the retry, in seconds; absent when the attempt is not retried.</summary>
    internal const string RetryDelayTag = "safesql.retry.delay";

    /// <summary>Attribute of the span: whether the open made a new physical connection (a login) rather than reuse a pooled one.</summary>
    internal const string NewConnectionTag = "safesql.open.new_connection";

    /// <summary>The source. Its <see cref="ActivitySource.HasListeners"/> is checked before any activity is created.</summary>
    internal static readonly ActivitySource Source = new(SafeSqlTelemetry.ActivitySourceName, typeof(SafeSqlActivitySource).Assembly.GetName().Version?.ToString(3));
}

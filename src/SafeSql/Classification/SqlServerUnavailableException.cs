using System.Data.Common;
using System.Globalization;

namespace SafeSql;

/// <summary>
/// An open that SafeSql failed at once because the server is known to be unavailable, instead of holding the caller inside
/// SqlClient: the data source's circuit breaker is open (<see cref="SqlFailureKind.CircuitOpen"/>), or a probe found nothing
/// listening at the server's endpoint while this open waited (<see cref="SqlFailureKind.ConnectionRefused"/>; on Linux
/// SqlClient 6.1+ would otherwise wait about 90 % of <c>Connect Timeout</c> for a refused connect, measured on 6.1.8 and 7.1.1), or
/// SqlClient did not finish the open within the open's time budget (<see cref="SqlFailureKind.ConnectTimeout"/>).
/// </summary>
/// <remarks>
/// <see cref="SqlFailureClassifier"/> classifies it by its <see cref="Kind"/> (transient; a circuit-open failure is never
/// retried by SafeSql). <see cref="Exception.InnerException"/> is the real failure that opened the breaker, when there was
/// one. The message names the server, never the password.
/// </remarks>
public sealed class SqlServerUnavailableException : DbException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind"><see cref="SqlFailureKind.CircuitOpen"/> or <see cref="SqlFailureKind.ConnectionRefused"/>.</param>
    /// <param name="dataSource">The server (the connection string's <c>Data Source</c>).</param>
    /// <param name="unavailableSince">When the server was first seen unavailable, if known.</param>
    /// <param name="retryAfter">When a later open may succeed (the next probe), if known.</param>
    /// <param name="innerException">The real failure behind it, if any.</param>
    internal SqlServerUnavailableException(SqlFailureKind kind, string dataSource, DateTimeOffset? unavailableSince, TimeSpan? retryAfter, Exception? innerException)
        : base(CreateMessage(kind, dataSource, unavailableSince, retryAfter, innerException), innerException)
    {
        Kind = kind;
        DataSource = dataSource;
        UnavailableSince = unavailableSince;
        RetryAfter = retryAfter;
    }

    /// <summary>Gets why the open failed at once.</summary>
    /// <value><see cref="SqlFailureKind.CircuitOpen"/> (the breaker is open), <see cref="SqlFailureKind.ConnectionRefused"/> (a probe
    /// was refused) or <see cref="SqlFailureKind.ConnectTimeout"/> (SqlClient did not finish within the open's time budget).</value>
    public SqlFailureKind Kind { get; }

    /// <summary>Gets the server, as the connection string's <c>Data Source</c> names it.</summary>
    public string DataSource { get; }

    /// <summary>Gets when the server was first seen unavailable (UTC, from the data source's <see cref="TimeProvider"/>).</summary>
    /// <value><see langword="null"/> when not known (a refused probe outside an outage the breaker saw).</value>
    public DateTimeOffset? UnavailableSince { get; }

    /// <summary>Gets how long until a later open may succeed: the time to the next probe, or to the breaker's half-open trial.</summary>
    /// <value><see langword="null"/> when not known.</value>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Gets a value indicating that a later open of the same data source may succeed (always <see langword="true"/>).</summary>
    public override bool IsTransient => true;

    private static string CreateMessage(SqlFailureKind kind, string dataSource, DateTimeOffset? since, TimeSpan? retryAfter, Exception? inner)
    {
        var sinceText = since is { } s ? string.Create(CultureInfo.InvariantCulture, $" since {s:HH:mm:ss.fff} UTC") : string.Empty;
        var next = retryAfter is { } r
            ? string.Create(CultureInfo.InvariantCulture, $" The next check of the server runs in {Math.Max(0, r.TotalMilliseconds):0} ms.")
            : string.Empty;
        var cause = inner is null ? string.Empty : $" Last failure: {inner.GetType().Name}: {FirstLine(inner.Message)}";
        return kind switch
        {
            SqlFailureKind.CircuitOpen => $"SQL Server '{dataSource}' is unavailable{sinceText}: SafeSql's circuit breaker for this data source is open, so the open failed at once instead of waiting for retries that cannot succeed now.{next} It closes as soon as a probe (TCP connect and PRELOGIN) is answered; a later call then succeeds. If this persists, check that the server is running and reachable.{cause}",
            SqlFailureKind.ConnectTimeout => string.Create(CultureInfo.InvariantCulture, $"Opening a connection to SQL Server '{dataSource}' did not complete within the open's time budget of {retryAfter?.TotalMilliseconds ?? 0:0} ms (SafeSqlOptions.OpenTimeout, else Connect Timeout), so SafeSql stopped waiting; SqlClient finishes the attempt on its own. In a storm against a server that does not answer, SqlClient's pool serves queued opens one after another, each with a connect of its own. Check the server; a longer OpenTimeout only holds callers longer.{cause}"),
            _ => $"Nothing listens at SQL Server '{dataSource}': a diagnostic connect was refused while this open waited inside SqlClient (which on Linux waits most of Connect Timeout for a refused connect), so SafeSql ended the attempt at once. The server is down or restarting, or the port is wrong.{cause}",
        };
    }

    private static string FirstLine(string text)
    {
        var end = text.AsSpan().IndexOfAny('\r', '\n');
        return end < 0 ? text : text[..end];
    }
}

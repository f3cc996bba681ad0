using System.Data;
using System.Diagnostics.CodeAnalysis;

using Microsoft.Data.SqlClient;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// A connection of a holder that opens and closes it itself and is not a line of code (an EF Core <c>DbContext</c>), from
/// <see cref="SafeSqlDataSource.CreateHolderConnection"/>: tracked on every open like <see cref="SafeSqlDataSource.CreateConnection"/>,
/// its leases naming the holder, and opened as the data source opens its own (open retry within the open's budget, circuit
/// breaker). Part of the integration API (<c>SAFESQLEXP002</c>).
/// </summary>
[Experimental(IntegrationApi.ExperimentalId, UrlFormat = IntegrationApi.ExperimentalUrl)]
public sealed class SafeSqlHolderConnection
{
    private readonly SafeSqlDataSource _dataSource;
    private readonly PerOpenLeaseSentinel _sentinel;

    internal SafeSqlHolderConnection(SafeSqlDataSource dataSource, SqlConnection connection, PerOpenLeaseSentinel sentinel)
    {
        _dataSource = dataSource;
        Connection = connection;
        _sentinel = sentinel;
    }

    /// <summary>Gets the connection, unopened at first; the holder owns it (opens, closes and disposes it).</summary>
    public SqlConnection Connection { get; }

    /// <summary>
    /// Opens <see cref="Connection"/> as the data source opens its own: the open retry (<see cref="SafeSqlOptions.OpenRetry"/>)
    /// within the open's budget (<see cref="SafeSqlOptions.OpenTimeout"/>), the circuit breaker. A synchronous attempt cannot
    /// be cut short.
    /// </summary>
    /// <exception cref="SqlServerUnavailableException">The circuit breaker is open: the server is known to be down.</exception>
    /// <exception cref="SqlConnectionPoolExhaustedException">SqlClient's pool timed out with every connection leased (a leak); the message names the holders.</exception>
    /// <exception cref="SqlException">The last attempt's failure when the retries or the budget are spent.</exception>
    public void Open() => _dataSource.OpenHolderConnection(Connection);

    /// <summary>
    /// The asynchronous <see cref="Open"/>; an attempt still waiting inside SqlClient when the data source's probe finds the
    /// endpoint refusing, or at the end of the budget, is canceled (SqlClient honours the token: the connection is closed again)
    /// and the open fails with <see cref="SqlServerUnavailableException"/>.
    /// </summary>
    /// <param name="cancellationToken">Ends the open at any point.</param>
    /// <returns>A task that completes when the connection is open.</returns>
    /// <exception cref="SqlServerUnavailableException">The circuit breaker is open, or the attempt was cut (a refusal, the budget).</exception>
    /// <exception cref="SqlConnectionPoolExhaustedException">SqlClient's pool timed out with every connection leased (a leak).</exception>
    /// <exception cref="SqlException">The last attempt's failure when the retries or the budget are spent.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public Task OpenAsync(CancellationToken cancellationToken = default) => _dataSource.OpenHolderConnectionAsync(Connection, cancellationToken);

    /// <summary>
    /// The holder's scope ends (the context is disposed or returned to its pool): when <see cref="Connection"/> is still open, its
    /// lease ends and a leak is reported (<see cref="SqlConnectionLeakKind.NotDisposedBeforeScopeEnd"/>, event 2001) naming the
    /// holder and how long it was held. The holder closes the connection afterwards.
    /// </summary>
    /// <returns><see langword="true"/> when a leak was reported.</returns>
    public bool ReportIfLeftOpen()
    {
        if (Connection.State == ConnectionState.Closed || _sentinel.TryEndAtScopeEnd(Connection, out var heldFor) is not { } record)
        {
            return false;
        }

        _sentinel.ReportScopeLeak(record, heldFor);
        return true;
    }
}

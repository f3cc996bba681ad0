using System.Data;
using System.Data.Common;

using Microsoft.Data.SqlClient;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.SqlServer.Storage.Internal;
using Microsoft.EntityFrameworkCore.Storage;

namespace SafeSql.EntityFrameworkCore;

#pragma warning disable EF1001 // SqlServerConnection is EF's provider type; deriving from it is the one place where creating the
// connection, EF's own opens and closes, and the end of the context (ResetState: dispose, or return to the context pool)
// can all be seen. EF's public interceptors see the first two, but EF closes the connection in ResetState without them.

/// <summary>
/// EF Core's SQL Server connection of a context configured with <c>UseSafeSql</c>: its <see cref="DbConnection"/> comes from
/// the data source (a lease per open, naming the context type and the line that configured it), and one that the
/// application opened by hand (<c>GetDbConnection().Open()</c>) and left open when the context ends is reported as
/// <see cref="SqlConnectionLeakKind.NotDisposedBeforeScopeEnd"/>. <c>Database.OpenConnection()</c> is EF's own open and is not
/// reported: EF documents that the context closes it.
/// </summary>
internal sealed class SafeSqlServerConnection(RelationalConnectionDependencies dependencies) : SqlServerConnection(dependencies)
{
    private SafeSqlDataSource? _dataSource;
    private SqlConnection? _connection;
    private PerOpenLeaseSentinel? _sentinel;
    private bool _openedByEf;

    public override bool Open(bool errorsExpected = false)
    {
        var opened = base.Open(errorsExpected);
        _openedByEf |= opened;
        return opened;
    }

    public override async Task<bool> OpenAsync(CancellationToken cancellationToken, bool errorsExpected = false)
    {
        var opened = await base.OpenAsync(cancellationToken, errorsExpected).ConfigureAwait(false);
        _openedByEf |= opened;
        return opened;
    }

    /// <summary>
    /// EF's open of the connection, as the data source opens its own (open retry within the open's budget, circuit breaker):
    /// a restart of a few seconds is ridden through, and while the server is known to be down the open fails at once with
    /// <see cref="SqlServerUnavailableException"/>, which the execution strategy does not replay. EF's opens that expect errors
    /// (database creation and existence checks) go to SqlClient directly.
    /// </summary>
    protected override void OpenDbConnection(bool errorsExpected)
    {
        if (errorsExpected || _dataSource is null || _connection is null || !ReferenceEquals(DbConnection, _connection))
        {
            base.OpenDbConnection(errorsExpected);
            return;
        }

        try
        {
            _dataSource.OpenHolderConnection(_connection);
        }
        catch (Exception) when (OnDataSourceOpenFailed())
        {
            throw;
        }
    }

    /// <inheritdoc cref="OpenDbConnection"/>
    protected override async Task OpenDbConnectionAsync(bool errorsExpected, CancellationToken cancellationToken)
    {
        if (errorsExpected || _dataSource is null || _connection is null || !ReferenceEquals(DbConnection, _connection))
        {
            await base.OpenDbConnectionAsync(errorsExpected, cancellationToken).ConfigureAwait(false);
            return;
        }

        try
        {
            await _dataSource.OpenHolderConnectionAsync(_connection, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (OnDataSourceOpenFailed())
        {
            throw;
        }
    }

    /// <summary>
    /// Exception filter: tells the execution strategy that the data source's open path, which retries opens within the open's
    /// budget, gave up on this one, so the strategy does not replay it (a replay would hold the caller for another budget); always
    /// <see langword="false"/>.
    /// </summary>
    private bool OnDataSourceOpenFailed()
    {
        ReplayTracker.Of(Dependencies.CurrentContext.Context).OnDataSourceOpenFailed();
        return false;
    }

    public override bool Close()
    {
        var closed = base.Close();
        _openedByEf &= !closed;
        return closed;
    }

    public override async Task<bool> CloseAsync()
    {
        var closed = await base.CloseAsync().ConfigureAwait(false);
        _openedByEf &= !closed;
        return closed;
    }

    protected override DbConnection CreateDbConnection()
    {
        var options = Dependencies.ContextOptions.FindExtension<SafeSqlDbContextOptionsExtension>()
            ?? throw new InvalidOperationException("SafeSqlServerConnection is only used by contexts configured with UseSafeSql.");

        // The context type is the holder: EF opens the connection, so no line of the application's own is on the stack.
        var holder = Dependencies.CurrentContext.Context.GetType().Name;
        _dataSource = options.DataSource;
        _connection = options.DataSource.CreateHolderConnection(holder, options.FilePath, options.LineNumber, out _sentinel);
        return _connection;
    }

    protected override void ResetState(bool disposeDbConnection)
    {
        ReportOpenedByHand();
        base.ResetState(disposeDbConnection);
        Forget(disposeDbConnection);
    }

    protected override async ValueTask ResetStateAsync(bool disposeDbConnection)
    {
        ReportOpenedByHand();
        await base.ResetStateAsync(disposeDbConnection).ConfigureAwait(false);
        Forget(disposeDbConnection);
    }

    /// <summary>The context ends: a connection still open that EF did not open was opened by hand and never closed.</summary>
    private void ReportOpenedByHand()
    {
        if (_connection is { State: not ConnectionState.Closed } connection
            && !_openedByEf
            && _sentinel?.TryEndAtScopeEnd(connection, out var heldFor) is { } record)
        {
            // EF closes it right after this (back to SqlClient's pool), as the report says.
            _sentinel.ReportScopeLeak(record, heldFor);
        }

        _openedByEf = false;
    }

    private void Forget(bool disposed)
    {
        if (disposed)
        {
            _connection = null;
            _sentinel = null;
        }
    }
}

using System.Runtime.CompilerServices;

using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// Opens real, pooled <see cref="SqlConnection"/> instances from one validated, normalized connection string,
/// and tracks each one with a lease until it is closed or disposed.
/// </summary>
/// <remarks>
/// <para>
/// The connection handed out is the real <see cref="SqlConnection"/> (not a wrapper), so Dapper, SqlBulkCopy and
/// existing ADO.NET code keep working. Dispose it (<c>await using</c>) to return it to the connection pool.
/// </para>
/// <para>
/// Resolved from dependency injection, the factory is scoped: connections still open when the DI scope (for example
/// an ASP.NET Core request) ends are returned to the pool and reported as leaks. Use <see cref="CreateScope"/> to get
/// the same guarantee outside a DI scope.
/// </para>
/// </remarks>
public interface ISqlConnectionFactory
{
    /// <summary>Gets the name of this factory (the options name; <see cref="Microsoft.Extensions.Options.Options.DefaultName"/> for the default instance).</summary>
    /// <value>The options name; it is also the <c>db.client.connection.pool.name</c> tag of every metric and, shown as <c>(default)</c> for the default instance (the empty string), the pool name in leak reports and logs.</value>
    string Name { get; }

    /// <summary>Opens a connection synchronously and starts its lease.</summary>
    /// <param name="callerMemberName">Filled in by the compiler: the calling member, recorded in the lease.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling source file, recorded in the lease.</param>
    /// <param name="callerLineNumber">Filled in by the compiler: the calling line, recorded in the lease.</param>
    /// <returns>An open <see cref="SqlConnection"/>. The caller owns it and must dispose it.</returns>
    /// <exception cref="SqlException">The server could not be reached or refused the login, after the open retry pipeline gave up; the original exception is rethrown untouched.</exception>
    /// <exception cref="SafeSql.SqlConnectionPoolExhaustedException">SqlClient's pool timed out: no pooled connection became free within <c>Connect Timeout</c> (<c>DbConnectionPool.TryGetConnection</c>); the message names the call sites holding the leases, and SqlClient's <see cref="InvalidOperationException"/> is the inner exception. It derives from <see cref="InvalidOperationException"/>, so <c>catch (InvalidOperationException)</c> still catches it.</exception>
    /// <exception cref="SafeSql.SqlServerUnavailableException">The data source's circuit breaker is open: the server is known to be unavailable, so the open failed at once (<c>SafeSqlOptions.CircuitBreaker</c>); or, asynchronously, a probe found nothing listening while the open waited inside SqlClient.</exception>
    /// <exception cref="ObjectDisposedException">The factory or scope has been disposed.</exception>
    SqlConnection OpenConnection(
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0);

    /// <summary>Opens a connection asynchronously and starts its lease.</summary>
    /// <param name="cancellationToken">Cancels the open, including retry delays.</param>
    /// <param name="callerMemberName">Filled in by the compiler: the calling member, recorded in the lease.</param>
    /// <param name="callerFilePath">Filled in by the compiler: the calling source file, recorded in the lease.</param>
    /// <param name="callerLineNumber">Filled in by the compiler: the calling line, recorded in the lease.</param>
    /// <returns>An open <see cref="SqlConnection"/>. The caller owns it and must dispose it.</returns>
    /// <exception cref="SqlException">The server could not be reached or refused the login, after the open retry pipeline gave up; the original exception is rethrown untouched.</exception>
    /// <exception cref="SafeSql.SqlConnectionPoolExhaustedException">SqlClient's pool timed out: no pooled connection became free within <c>Connect Timeout</c> (<c>DbConnectionPool.TryGetConnection</c>); the message names the call sites holding the leases, and SqlClient's <see cref="InvalidOperationException"/> is the inner exception. It derives from <see cref="InvalidOperationException"/>, so <c>catch (InvalidOperationException)</c> still catches it.</exception>
    /// <exception cref="SafeSql.SqlServerUnavailableException">The data source's circuit breaker is open: the server is known to be unavailable, so the open failed at once (<c>SafeSqlOptions.CircuitBreaker</c>); or, asynchronously, a probe found nothing listening while the open waited inside SqlClient.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    /// <exception cref="ObjectDisposedException">The factory or scope has been disposed.</exception>
    ValueTask<SqlConnection> OpenConnectionAsync(
        CancellationToken cancellationToken = default,
        [CallerMemberName] string callerMemberName = "",
        [CallerFilePath] string callerFilePath = "",
        [CallerLineNumber] int callerLineNumber = 0);

    /// <summary>Creates a scope that owns every connection opened through it.</summary>
    /// <returns>A new scope. When it is disposed, connections opened through it and still open are disposed (returned to the pool) and reported as leaks.</returns>
    /// <exception cref="ObjectDisposedException">The factory or scope has been disposed.</exception>
    ISqlConnectionScope CreateScope();
}

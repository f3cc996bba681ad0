using System.Collections.ObjectModel;

namespace SafeSql.Classification;

/// <summary>
/// The SQL Server error numbers SafeSql treats as transient, each with the server's message and the list it comes from.
/// </summary>
/// <remarks>
/// <para>Sources, cited per number:</para>
/// <list type="bullet">
/// <item><description>[SqlClient retry] <c>SqlConfigurableRetryFactory.BaselineTransientErrors</c> (dotnet/SqlClient, Reliability/SqlConfigurableRetryFactory.cs, 20 numbers).</description></item>
/// <item><description>[SqlClient open] the numbers SqlClient itself retries while opening (<c>s_transientErrors</c> in Connection/SqlConnectionInternal.cs; 40020 and 40166 on .NET Framework only).</description></item>
/// <item><description>[EF Core] <c>SqlServerTransientExceptionDetector</c> (dotnet/efcore, src/EFCore.SqlServer/Storage/Internal/SqlServerTransientExceptionDetector.cs).
/// EF Core's current list has 176 numbers; SafeSql includes those whose meaning it could document here.</description></item>
/// </list>
/// <para>
/// Deliberately absent: -2 (a timeout; "can be thrown even if the operation completed successfully", EF Core), and the
/// Winsock numbers 10048, 10049, 10055 and 10061, which <see cref="SqlFailureClassifier"/> reports as
/// <see cref="SqlFailureKind.SocketExhaustion"/> or <see cref="SqlFailureKind.ConnectionRefused"/> instead.
/// Also absent: 20, which EF Core lists ("The instance of SQL Server you attempted to connect to does not support
/// encryption"): it means <c>Encrypt=True</c> against a server without TLS, a configuration mismatch that retrying cannot fix.
/// The network numbers below (64, 121, 233, 997, 10053, 10054, 10060) are classified as
/// <see cref="SqlFailureKind.ConnectionBroken"/> or <see cref="SqlFailureKind.ConnectTimeout"/>; the others as
/// <see cref="SqlFailureKind.TransientServerError"/>.
/// </para>
/// </remarks>
public static class TransientSqlErrors
{
    private static readonly ReadOnlyCollection<int> s_numbers = new(
    [
        64, 121, 233, 997, 1204, 1205, 1222, 3960, 4060, 4221, 8628, 8645, 8651, 10053, 10054, 10060, 10928, 10929,
        17197, 18401, 40020, 40143, 40166, 40197, 40501, 40540, 40613, 41301, 41302, 41305, 41325, 41839, 42108, 42109,
        49918, 49919, 49920,
    ]);

    /// <summary>Gets every transient error number, in ascending order.</summary>
    /// <value>A read-only list of 37 numbers.</value>
    public static IReadOnlyList<int> Numbers => s_numbers;

    /// <summary>Determines whether a SQL error number is transient.</summary>
    /// <param name="number">A <c>SqlError.Number</c> or <c>SqlException.Number</c>.</param>
    /// <returns><see langword="true"/> when <paramref name="number"/> is in <see cref="Numbers"/>.</returns>
    public static bool Contains(int number) => GetDescription(number) is not null;

    /// <summary>Gets the meaning of a transient error number and the list it comes from.</summary>
    /// <param name="number">A <c>SqlError.Number</c>.</param>
    /// <returns>The server's message (shortened) followed by the source in brackets; <see langword="null"/> when the number is not transient.</returns>
    public static string? GetDescription(int number) => number switch
    {
        // Network and login-handshake failures (Windows native SNI reports the Winsock or Win32 code in Number).
        64 => "A connection was successfully established with the server, but then an error occurred during the login process: the specified network name is no longer available. [EF Core]",
        121 => "The semaphore timeout period has expired. [EF Core]",
        233 => "A connection was successfully established with the server, but then an error occurred during the login process (no process is on the other end of the pipe). [SqlClient retry] [EF Core]",
        997 => "A connection was successfully established with the server, but then an error occurred during the login process (Named Pipes: overlapped I/O operation is in progress). [SqlClient retry]",
        10053 => "A transport-level error has occurred: an established connection was aborted by the software in your host machine (WSAECONNABORTED). [EF Core]",
        10054 => "A transport-level error has occurred: an existing connection was forcibly closed by the remote host (WSAECONNRESET). [EF Core]",
        10060 => "A connection attempt failed because the connected party did not properly respond after a period of time (WSAETIMEDOUT). [SqlClient retry] [EF Core]",

        // Locking and concurrency.
        1204 => "The instance of the SQL Server Database Engine cannot obtain a LOCK resource at this time. Rerun your statement when there are fewer active users. [SqlClient retry]",
        1205 => "Transaction (Process ID) was deadlocked on resources with another process and has been chosen as the deadlock victim. Rerun the transaction. [SqlClient retry] [EF Core]",
        1222 => "Lock request time out period exceeded. [SqlClient retry]",
        3960 => "Snapshot isolation transaction aborted due to update conflict. Retry the transaction. [EF Core]",
        41301 => "Dependency failure: a dependency was taken on another transaction that later failed to commit (In-Memory OLTP). [EF Core]",
        41302 => "The current transaction attempted to update a record that has been updated since the transaction started (In-Memory OLTP). [EF Core]",
        41305 => "The current transaction failed to commit due to a repeatable read validation failure (In-Memory OLTP). [EF Core]",
        41325 => "The current transaction failed to commit due to a serializable validation failure (In-Memory OLTP). [EF Core]",
        41839 => "Transaction exceeded the maximum number of commit dependencies (In-Memory OLTP). [EF Core]",

        // Memory and optimizer waits.
        8628 => "A time out occurred while waiting to optimize the query. Rerun the query. [EF Core]",
        8645 => "A timeout occurred while waiting for memory resources to execute the query. Rerun the query. [EF Core]",
        8651 => "Could not perform the operation because the requested memory grant was not available. [EF Core]",

        // Login-time availability.
        4060 => "Cannot open database requested by the login. The login failed (the database is not available yet). [SqlClient retry] [SqlClient open]",
        4221 => "Login to read-secondary failed due to long wait on 'HADR_DATABASE_WAIT_FOR_TRANSITION_TO_VERSIONING'. [SqlClient retry]",
        17197 => "Login failed due to timeout; the connection has been closed. This error may indicate heavy server load. [EF Core]",
        18401 => "Login failed for user. Reason: Server is in script upgrade mode. Only administrator can connect at this time. [EF Core]",

        // Azure SQL Database, Synapse: throttling, failover, reconfiguration.
        10928 => "Resource ID: %d. The %s limit for the database is %d and has been reached (Azure SQL resource governance). [SqlClient retry] [SqlClient open] [EF Core]",
        10929 => "Resource ID: %d. The %s minimum guarantee is %d ... However, the server is currently too busy to support requests greater than %d for this database. [SqlClient retry] [SqlClient open] [EF Core]",
        40020 => "A failover or reconfiguration code, usually embedded in the message of error 40197; SqlClient retries it while opening. [SqlClient open, .NET Framework]",
        40143 => "The service has encountered an error processing your request. Please try again. [SqlClient retry]",
        40166 => "A failover or reconfiguration code, usually embedded in the message of error 40197; SqlClient retries it while opening. [SqlClient open, .NET Framework]",
        40197 => "The service has encountered an error processing your request. Please try again. Error code %d (service upgrade, hardware failure or failover). [SqlClient retry] [SqlClient open] [EF Core]",
        40501 => "The service is currently busy. Retry the request after 10 seconds. [SqlClient retry] [SqlClient open] [EF Core]",
        40540 => "The service has encountered an error processing your request. Please try again. [SqlClient retry]",
        40613 => "Database '%.*ls' on server '%.*ls' is not currently available. Please retry the connection later. [SqlClient retry] [SqlClient open] [EF Core]",
        42108 => "Can not connect to the SQL pool since it is paused. Please resume the SQL pool and try again. [SqlClient retry] [SqlClient open]",
        42109 => "The SQL pool is warming up. Please try again. [SqlClient retry] [SqlClient open]",
        49918 => "Cannot process request. Not enough resources to process request. [SqlClient retry] [EF Core]",
        49919 => "Cannot process create or update request. Too many create or update operations in progress for subscription. [SqlClient retry] [EF Core]",
        49920 => "Cannot process request. Too many operations in progress for subscription. [SqlClient retry] [EF Core]",
        _ => null,
    };
}

using System.Collections.Frozen;
using System.Collections.ObjectModel;

namespace SafeSql;

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
    // The one table: every transient number, its meaning and source, and when it can be raised. Numbers, Contains,
    // GetDescription and the classifier's decisions all read it.
    private static readonly TransientSqlError[] s_table =
    [
        // Network and login-handshake failures (Windows native SNI reports the Winsock or Win32 code in Number).
        new(64, TransientErrorPhase.Network, "A connection was successfully established with the server, but then an error occurred during the login process: the specified network name is no longer available. [EF Core]"),
        new(121, TransientErrorPhase.Network, "The semaphore timeout period has expired. [EF Core]"),
        new(233, TransientErrorPhase.Network, "A connection was successfully established with the server, but then an error occurred during the login process (no process is on the other end of the pipe). [SqlClient retry] [EF Core]"),
        new(997, TransientErrorPhase.Network, "A connection was successfully established with the server, but then an error occurred during the login process (Named Pipes: overlapped I/O operation is in progress). [SqlClient retry]"),
        new(10053, TransientErrorPhase.Network, "A transport-level error has occurred: an established connection was aborted by the software in your host machine (WSAECONNABORTED). [EF Core]"),
        new(10054, TransientErrorPhase.Network, "A transport-level error has occurred: an existing connection was forcibly closed by the remote host (WSAECONNRESET). [EF Core]"),
        new(10060, TransientErrorPhase.Network, "A connection attempt failed because the connected party did not properly respond after a period of time (WSAETIMEDOUT). [SqlClient retry] [EF Core]"),

        // Locking and concurrency.
        new(1204, TransientErrorPhase.ExecuteOnly, "The instance of the SQL Server Database Engine cannot obtain a LOCK resource at this time. Rerun your statement when there are fewer active users. [SqlClient retry]"),
        new(1205, TransientErrorPhase.ExecuteOnly, "Transaction (Process ID) was deadlocked on resources with another process and has been chosen as the deadlock victim. Rerun the transaction. [SqlClient retry] [EF Core]"),
        new(1222, TransientErrorPhase.ExecuteOnly, "Lock request time out period exceeded. [SqlClient retry]"),
        new(3960, TransientErrorPhase.ExecuteOnly, "Snapshot isolation transaction aborted due to update conflict. Retry the transaction. [EF Core]"),
        new(41301, TransientErrorPhase.ExecuteOnly, "Dependency failure: a dependency was taken on another transaction that later failed to commit (In-Memory OLTP). [EF Core]"),
        new(41302, TransientErrorPhase.ExecuteOnly, "The current transaction attempted to update a record that has been updated since the transaction started (In-Memory OLTP). [EF Core]"),
        new(41305, TransientErrorPhase.ExecuteOnly, "The current transaction failed to commit due to a repeatable read validation failure (In-Memory OLTP). [EF Core]"),
        new(41325, TransientErrorPhase.ExecuteOnly, "The current transaction failed to commit due to a serializable validation failure (In-Memory OLTP). [EF Core]"),
        new(41839, TransientErrorPhase.ExecuteOnly, "Transaction exceeded the maximum number of commit dependencies (In-Memory OLTP). [EF Core]"),

        // Memory and optimizer waits.
        new(8628, TransientErrorPhase.ExecuteOnly, "A time out occurred while waiting to optimize the query. Rerun the query. [EF Core]"),
        new(8645, TransientErrorPhase.ExecuteOnly, "A timeout occurred while waiting for memory resources to execute the query. Rerun the query. [EF Core]"),
        new(8651, TransientErrorPhase.ExecuteOnly, "Could not perform the operation because the requested memory grant was not available. [EF Core]"),

        // Login-time availability.
        new(4060, TransientErrorPhase.LoginOnly, "Cannot open database requested by the login. The login failed (the database is not available yet). [SqlClient retry] [SqlClient open]"),
        new(4221, TransientErrorPhase.LoginOnly, "Login to read-secondary failed due to long wait on 'HADR_DATABASE_WAIT_FOR_TRANSITION_TO_VERSIONING'. [SqlClient retry]"),
        new(17197, TransientErrorPhase.LoginOnly, "Login failed due to timeout; the connection has been closed. This error may indicate heavy server load. [EF Core]"),
        new(18401, TransientErrorPhase.LoginOnly, "Login failed for user. Reason: Server is in script upgrade mode. Only administrator can connect at this time. [EF Core]"),

        // Azure SQL Database, Synapse: throttling, failover, reconfiguration.
        new(10928, TransientErrorPhase.Either, "Resource ID: %d. The %s limit for the database is %d and has been reached (Azure SQL resource governance). [SqlClient retry] [SqlClient open] [EF Core]"),
        new(10929, TransientErrorPhase.Either, "Resource ID: %d. The %s minimum guarantee is %d ... However, the server is currently too busy to support requests greater than %d for this database. [SqlClient retry] [SqlClient open] [EF Core]"),
        new(40020, TransientErrorPhase.Either, "A failover or reconfiguration code, usually embedded in the message of error 40197; SqlClient retries it while opening. [SqlClient open, .NET Framework]"),
        new(40143, TransientErrorPhase.Either, "The service has encountered an error processing your request. Please try again. [SqlClient retry]"),
        new(40166, TransientErrorPhase.Either, "A failover or reconfiguration code, usually embedded in the message of error 40197; SqlClient retries it while opening. [SqlClient open, .NET Framework]"),
        new(40197, TransientErrorPhase.Either, "The service has encountered an error processing your request. Please try again. Error code %d (service upgrade, hardware failure or failover). [SqlClient retry] [SqlClient open] [EF Core]"),
        new(40501, TransientErrorPhase.Either, "The service is currently busy. Retry the request after 10 seconds. [SqlClient retry] [SqlClient open] [EF Core]"),
        new(40540, TransientErrorPhase.Either, "The service has encountered an error processing your request. Please try again. [SqlClient retry]"),
        new(40613, TransientErrorPhase.LoginOnly, "Database '%.*ls' on server '%.*ls' is not currently available. Please retry the connection later. [SqlClient retry] [SqlClient open] [EF Core]"),
        new(42108, TransientErrorPhase.LoginOnly, "Can not connect to the SQL pool since it is paused. Please resume the SQL pool and try again. [SqlClient retry] [SqlClient open]"),
        new(42109, TransientErrorPhase.LoginOnly, "The SQL pool is warming up. Please try again. [SqlClient retry] [SqlClient open]"),
        new(49918, TransientErrorPhase.Either, "Cannot process request. Not enough resources to process request. [SqlClient retry] [EF Core]"),
        new(49919, TransientErrorPhase.Either, "Cannot process create or update request. Too many create or update operations in progress for subscription. [SqlClient retry] [EF Core]"),
        new(49920, TransientErrorPhase.Either, "Cannot process request. Too many operations in progress for subscription. [SqlClient retry] [EF Core]"),
    ];

    private static readonly FrozenDictionary<int, TransientSqlError> s_byNumber = s_table.ToFrozenDictionary(e => e.Number);

    private static readonly ReadOnlyCollection<int> s_numbers = new([.. s_table.Select(e => e.Number).Order()]);

    /// <summary>Gets every transient error number, in ascending order.</summary>
    /// <value>A read-only list of 37 numbers.</value>
    public static IReadOnlyList<int> Numbers => s_numbers;

    /// <summary>Determines whether a SQL error number is transient.</summary>
    /// <param name="number">A <c>SqlError.Number</c> or <c>SqlException.Number</c>.</param>
    /// <returns><see langword="true"/> when <paramref name="number"/> is in <see cref="Numbers"/>.</returns>
    public static bool Contains(int number) => s_byNumber.ContainsKey(number);

    /// <summary>Gets the meaning of a transient error number and the list it comes from.</summary>
    /// <param name="number">A <c>SqlError.Number</c>.</param>
    /// <returns>The server's message (shortened) followed by the source in brackets; <see langword="null"/> when the number is not transient.</returns>
    public static string? GetDescription(int number) => s_byNumber.TryGetValue(number, out var entry) ? entry.Description : null;

    /// <summary>Gets when a transient number can be raised; <see langword="null"/> when the number is not transient.</summary>
    internal static TransientErrorPhase? GetPhase(int number) => s_byNumber.TryGetValue(number, out var entry) ? entry.Phase : null;

    private readonly record struct TransientSqlError(int Number, TransientErrorPhase Phase, string Description);
}

/// <summary>When a transient error number can be raised, which decides its kind and whether the request may have executed.</summary>
internal enum TransientErrorPhase
{
    /// <summary>A network or login-handshake failure reported in <c>Number</c> (Windows native SNI): a network kind, not a server error.</summary>
    Network,

    /// <summary>Raised only during login: nothing executed.</summary>
    LoginOnly,

    /// <summary>Raised only while executing (locks, deadlocks, memory grants, In-Memory OLTP validation): the request may have executed.</summary>
    ExecuteOnly,

    /// <summary>Throttling and failover: at login or while executing; the stack frames decide.</summary>
    Either,
}

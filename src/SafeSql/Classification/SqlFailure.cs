using System.Net.Sockets;

using SafeSql.Diagnostics;

namespace SafeSql;

/// <summary>
/// The classification of one failure: what kind it is, whether retrying can help, the evidence (SQL error number,
/// socket error, operating-system socket counts) and a one-paragraph explanation with the fix.
/// </summary>
/// <remarks>Created by <see cref="SqlFailureClassifier"/>. Immutable and safe to log: it never contains a password.</remarks>
public sealed class SqlFailure
{
    internal SqlFailure(
        SqlFailureKind kind,
        bool isTransient,
        bool mayHaveExecuted,
        int? sqlErrorNumber,
        SocketError? socketError,
        string explanation,
        Exception? exception,
        SafeSqlTcpSnapshot? tcpSnapshot = null)
    {
        Kind = kind;
        IsTransient = isTransient;
        MayHaveExecuted = mayHaveExecuted;
        SqlErrorNumber = sqlErrorNumber;
        SocketError = socketError;
        Explanation = explanation;
        Exception = exception;
        TcpSnapshot = tcpSnapshot;
    }

    /// <summary>Gets the kind of failure.</summary>
    /// <value>One of the <see cref="SqlFailureKind"/> values; <see cref="SqlFailureKind.Unknown"/> when nothing was recognized.</value>
    public SqlFailureKind Kind { get; }

    /// <summary>Gets a value indicating whether the same operation can succeed if tried again later.</summary>
    /// <value>
    /// <see langword="true"/> for refusals, connect timeouts, broken connections, socket exhaustion (after a long wait) and the
    /// transient server errors listed in <see cref="TransientSqlErrors"/>; <see langword="false"/> for pool timeouts, command
    /// timeouts, authentication failures, encryption failures and permanent errors. Whether a retry is also <em>safe</em> depends on
    /// <see cref="MayHaveExecuted"/>.
    /// </value>
    public bool IsTransient { get; }

    /// <summary>Gets a value indicating whether the server may have executed (part of) the request before it failed.</summary>
    /// <value>
    /// <see langword="false"/> when the failure happened while opening the connection (nothing was sent); <see langword="true"/>
    /// for command timeouts, connections broken after the request was sent, and server errors raised while executing.
    /// Retrying such a failure is safe only when the operation is idempotent.
    /// </value>
    public bool MayHaveExecuted { get; }

    /// <summary>Gets the SQL error number (<c>SqlException.Number</c>) of the exception that was classified.</summary>
    /// <value>The number, for example 1205, -2 or 0 (a client-side network error on SqlClient 6.x and earlier); <see langword="null"/> when no <c>SqlException</c> was found.</value>
    public int? SqlErrorNumber { get; }

    /// <summary>Gets the socket error behind the failure, when one is known.</summary>
    /// <value>
    /// From an inner <see cref="SocketException"/>, from a Winsock number in <c>SqlException.Number</c> (SqlClient 7.0+ and Windows),
    /// or from SafeSql's diagnostic connect to the same endpoint (SqlClient 6.1+ on Linux loses the socket error of a refused connect);
    /// <see langword="null"/> when none is known.
    /// </value>
    public SocketError? SocketError { get; }

    /// <summary>Gets one paragraph that says what happened, the evidence, and what to do.</summary>
    /// <value>Plain text, safe to log (no connection string, no password).</value>
    public string Explanation { get; }

    /// <summary>Gets the exception (the one passed in, or the inner exception) that decided the classification.</summary>
    /// <value>The deciding exception; <see langword="null"/> only for <see cref="SqlFailureKind.Unknown"/> results built without one.</value>
    public Exception? Exception { get; }

    /// <summary>Gets the operating-system TCP figures read to corroborate (or rule out) socket exhaustion.</summary>
    /// <value>The snapshot taken while classifying; <see langword="null"/> when the failure did not need it.</value>
    public SafeSqlTcpSnapshot? TcpSnapshot { get; }

    /// <summary>Returns the kind followed by the explanation.</summary>
    /// <returns>For example "ConnectionRefused: The server refused the TCP connection...".</returns>
    public override string ToString() => $"{Kind}: {Explanation}";
}

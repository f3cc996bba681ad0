namespace SafeSql.Diagnostics;

/// <summary>Event ids 3000-3999: failure classification and retries.</summary>
public static partial class SafeSqlEventId
{
    /// <summary>
    /// 3000 (Warning): an attempt to open a connection failed and was classified. Logs the pool name, the attempt number, the
    /// <c>SqlFailureKind</c>, the SQL error number, the socket error, whether it will be retried and the
    /// explanation with the fix, with the exception.
    /// </summary>
    public const int OpenAttemptFailed = 3000;

    /// <summary>3001 (Information): a failed open will be retried after a delay (pool name, kind, delay in milliseconds, retry number).</summary>
    public const int OpenRetrying = 3001;

    /// <summary>3002 (Error): opening a connection failed for good; the original exception is rethrown. Logs the kind, the attempts made and why it is not retried.</summary>
    public const int OpenFailed = 3002;

    /// <summary>
    /// 3003 (Error): ephemeral port exhaustion was detected. Logs the endpoint, ports in use, the ephemeral range size and the
    /// TIME_WAIT count read from the operating system.
    /// </summary>
    public const int SocketExhaustionDetected = 3003;

    /// <summary>
    /// 3004 (Warning): the data source's circuit breaker opened: opens of the server were failing because it is unavailable, so
    /// opens now fail at once until a probe sees it again. Logs the server, the failure kind, Polly's break duration and the
    /// explanation of the failure that opened it. Logged once per opening.
    /// </summary>
    public const int CircuitOpened = 3004;

    /// <summary>3005 (Information): the circuit breaker closed: the server answered again (logs how long it was seen unavailable, in milliseconds).</summary>
    public const int CircuitClosed = 3005;
}

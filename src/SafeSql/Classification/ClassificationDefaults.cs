namespace SafeSql;

/// <summary>Bounds of the evidence the classifier gathers, as constants so XML docs can use them.</summary>
internal static class ClassificationDefaults
{
    /// <summary>
    /// The longest the classifier's diagnostic connect (and the DNS lookup that points it at the server) may take: 500 ms. A
    /// refused or port-exhausted connect fails at once; only a silent host uses the whole bound.
    /// </summary>
    internal const int DiagnosticConnectTimeoutMilliseconds = 500;

    /// <summary>
    /// How long a diagnostic connect that was accepted shows the server up: 5 s. A later probe that gets no answer from the same
    /// endpoint is then a full accept queue, not a silent host.
    /// </summary>
    internal const int RecentlyAcceptedSeconds = 5;

    /// <summary>
    /// How long an accepted diagnostic connect is watched for the listener's reset: 100 ms. A full accept queue with
    /// <c>tcp_abort_on_overflow=1</c> resets as soon as the handshake's final ACK arrives (one round trip); a TDS server that is
    /// there sends nothing until the client's PRELOGIN, so the watch ends without a reset.
    /// </summary>
    internal const int ResetWatchMilliseconds = 100;

    /// <summary>
    /// How long an overflow recognised from an unambiguous shape (a dropped SYN or a reset before the pre-login while the server
    /// accepts) explains a later refusal-shaped failure towards the same endpoint whose diagnostic connect is accepted: 5 s.
    /// </summary>
    internal const int RecentOverflowSeconds = 5;
}

namespace SafeSql.Classification;

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
}

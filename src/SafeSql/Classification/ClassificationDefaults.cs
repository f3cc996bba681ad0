namespace SafeSql.Classification;

/// <summary>Bounds of the evidence the classifier gathers, as constants so XML docs can use them.</summary>
internal static class ClassificationDefaults
{
    /// <summary>
    /// The longest the classifier's diagnostic connect (and the DNS lookup that points it at the server) may take: 500 ms. A
    /// refused or port-exhausted connect fails at once; only a silent host uses the whole bound.
    /// </summary>
    internal const int DiagnosticConnectTimeoutMilliseconds = 500;
}

namespace SafeSql;

/// <summary>How many leases one call site holds right now, and the age of its oldest one.</summary>
public sealed class SqlConnectionCallSiteUsage
{
    internal SqlConnectionCallSiteUsage(SqlConnectionCallSite? callSite, int leaseCount, TimeSpan oldestHeldFor)
    {
        CallSite = callSite;
        LeaseCount = leaseCount;
        OldestHeldFor = oldestHeldFor;
    }

    /// <summary>Gets the call site.</summary>
    /// <value><see langword="null"/> for leases opened with <see cref="SqlConnectionStackCaptureMode.None"/> (grouped together).</value>
    public SqlConnectionCallSite? CallSite { get; }

    /// <summary>Gets the number of leases this call site holds.</summary>
    /// <value>At least 1.</value>
    public int LeaseCount { get; }

    /// <summary>Gets how long the oldest of these leases has been held.</summary>
    /// <value>A non-negative duration.</value>
    public TimeSpan OldestHeldFor { get; }

    /// <summary>Describes the usage, e.g. <c>OrderRepository.cs:42 (GetOrders): 97 leases, oldest 31.2 s</c>.</summary>
    /// <returns>Call site, count and oldest age.</returns>
    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{CallSite?.ToString() ?? "unknown call site"}: {LeaseCount} {(LeaseCount == 1 ? "lease" : "leases")}, oldest {OldestHeldFor.TotalSeconds:0.###} s");
}

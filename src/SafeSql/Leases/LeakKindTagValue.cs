namespace SafeSql.Leases;

/// <summary>The value of the <c>safesql.leak.kind</c> metric tag for each <see cref="ConnectionLeakKind"/>: its name in snake case.</summary>
internal static class LeakKindTagValue
{
    internal static string Of(ConnectionLeakKind kind) => kind switch
    {
        ConnectionLeakKind.NotDisposedBeforeScopeEnd => "not_disposed_before_scope_end",
        ConnectionLeakKind.CollectedWithoutDispose => "collected_without_dispose",
        ConnectionLeakKind.HeldTooLong => "held_too_long",
        ConnectionLeakKind.ReturnedAfterHeldTooLong => "returned_after_held_too_long",
        _ => "unknown",
    };
}

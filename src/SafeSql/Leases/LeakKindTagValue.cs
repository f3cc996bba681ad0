namespace SafeSql;

/// <summary>The value of the <c>safesql.leak.kind</c> metric tag for each <see cref="SqlConnectionLeakKind"/>: its name in snake case.</summary>
internal static class LeakKindTagValue
{
    internal static string Of(SqlConnectionLeakKind kind) => kind switch
    {
        SqlConnectionLeakKind.NotDisposedBeforeScopeEnd => "not_disposed_before_scope_end",
        SqlConnectionLeakKind.CollectedWithoutDispose => "collected_without_dispose",
        SqlConnectionLeakKind.HeldTooLong => "held_too_long",
        SqlConnectionLeakKind.ReturnedAfterHeldTooLong => "returned_after_held_too_long",
        _ => "unknown",
    };
}

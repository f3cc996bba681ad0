namespace SafeSql.Testing.Tds;

/// <summary>What the SQL subset can read from the session running it.</summary>
internal sealed class SqlContext
{
    public required int SessionId { get; init; }

    public required string Database { get; init; }

    public required string ServerName { get; init; }

    /// <summary>The session's login name (<c>SUSER_SNAME()</c>).</summary>
    public string LoginName { get; init; } = string.Empty;

    public required string VersionText { get; init; }

    public required TimeProvider TimeProvider { get; init; }

    public IReadOnlyList<LoopbackParameter> Parameters { get; init; } = [];
}

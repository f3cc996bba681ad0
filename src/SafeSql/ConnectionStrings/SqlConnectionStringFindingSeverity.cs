namespace SafeSql.ConnectionStrings;

/// <summary>How serious a <see cref="SqlConnectionStringFinding"/> is.</summary>
public enum SqlConnectionStringFindingSeverity
{
    /// <summary>The setting is reported (logged at startup) but the connection string is accepted.</summary>
    Warning = 1,

    /// <summary>The connection string is refused: <see cref="SqlConnectionStringPolicyResult.IsAccepted"/> is
    /// <see langword="false"/> and a host using it fails to start.</summary>
    Error = 2,
}

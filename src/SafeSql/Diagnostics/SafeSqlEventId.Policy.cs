namespace SafeSql.Diagnostics;

/// <summary>Event ids 4000-4999: the connection-string policy.</summary>
public static partial class SafeSqlEventId
{
    /// <summary>4000 (Debug): the connection string of a SafeSql instance was accepted and normalized. Logs the instance name,
    /// Data Source and Initial Catalog, never the password.</summary>
    public const int ConnectionStringAccepted = 4000;

    /// <summary>4001 (Warning): the connection string was accepted with a warning finding, for example SAFESQL004 when
    /// <c>SqlConnectionStringPolicyOptions.AllowPoolingDisabled</c> is set, or SAFESQL012. Logs the
    /// rule id and the finding's message.</summary>
    public const int ConnectionStringWarning = 4001;

    /// <summary>4002 (Error): the connection string was refused by a rule; startup fails with an
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>. Logs the rule id and the finding's message.</summary>
    public const int ConnectionStringRefused = 4002;
}

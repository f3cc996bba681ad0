namespace SafeSql.ConnectionStrings;

/// <summary>
/// Default values of the connection-string policy's options, as constants so attributes and XML docs can use them.
/// </summary>
internal static class PolicyDefaults
{
    /// <summary>SqlClient's own default Max Pool Size (connections per pool).</summary>
    internal const int SqlClientMaxPoolSize = 100;

    /// <summary>SqlClient's own default Connect Timeout, in seconds.</summary>
    internal const int SqlClientConnectTimeoutSeconds = 15;

    /// <summary>Default of <see cref="ConnectionStrings.SqlConnectionStringPolicyOptions.MaxPoolSizeLimit"/>: 10 times SqlClient's default.</summary>
    internal const int MaxPoolSizeLimit = 1000;

    /// <summary>Upper bound accepted for <see cref="ConnectionStrings.SqlConnectionStringPolicyOptions.MaxPoolSizeLimit"/>: SQL Server's maximum number of user connections.</summary>
    internal const int SqlServerMaxUserConnections = 32767;

    /// <summary>Default of <see cref="ConnectionStrings.SqlConnectionStringPolicyOptions.ConnectTimeoutLimit"/>, in seconds.</summary>
    internal const int ConnectTimeoutLimitSeconds = 120;

    /// <summary>Default of <see cref="ConnectionStrings.SqlConnectionStringPolicyOptions.MinConnectionLifetime"/>, in seconds.</summary>
    internal const int MinConnectionLifetimeSeconds = 60;

    /// <summary>The smallest time span accepted for a policy threshold (1 second, the unit of the connection string's keywords).</summary>
    internal const string PolicyTimeSpanMinimum = "00:00:01";

    /// <summary>The largest time span accepted for a policy threshold (1 day).</summary>
    internal const string PolicyTimeSpanMaximum = "1.00:00:00";

    /// <summary>The longest Application Name SQL Server accepts in LOGIN7 (characters).</summary>
    internal const int ApplicationNameMaxLength = 128;

    /// <summary>The Application Name used when neither the options nor the entry assembly provide one.</summary>
    internal const string FallbackApplicationName = "SafeSql";
}

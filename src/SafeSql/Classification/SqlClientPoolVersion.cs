using System.Reflection;

using Microsoft.Data.SqlClient;

namespace SafeSql;

/// <summary>
/// Which of SqlClient's connection pools this process uses: <c>WaitHandleDbConnectionPool</c> (the default, "v1": one
/// connection created at a time per pool) or, from SqlClient 7.1 with the AppContext switch
/// <c>Switch.Microsoft.Data.SqlClient.UseConnectionPoolV2</c>, <c>ChannelDbConnectionPool</c> ("v2": connections created in
/// parallel up to Max Pool Size, each on the opening thread or, for an asynchronous open, a thread-pool thread). Source:
/// dotnet/SqlClient <c>DbConnectionPoolGroup.GetConnectionPool</c> and <c>ChannelDbConnectionPool.OpenNewInternalConnection</c>;
/// in 6.1 <c>ChannelDbConnectionPool</c> is a stub whose members throw <see cref="NotImplementedException"/>.
/// </summary>
internal static class SqlClientPoolVersion
{
    /// <summary>SqlClient's switch (read once per process by <c>LocalAppContextSwitches.UseConnectionPoolV2</c>).</summary>
    internal const string SwitchName = "Switch.Microsoft.Data.SqlClient.UseConnectionPoolV2";

    /// <summary>Gets whether pooled connections use pool v2: the switch is on and SqlClient is 7.1 or newer. Read once, as SqlClient does.</summary>
    internal static bool IsV2 { get; } = AppContext.TryGetSwitch(SwitchName, out var on) && on && IsSqlClient71OrNewer();

    private static bool IsSqlClient71OrNewer()
    {
        var informational = typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var text = informational?.Split('+', '-')[0];
        return Version.TryParse(text, out var version) && version >= new Version(7, 1);
    }
}

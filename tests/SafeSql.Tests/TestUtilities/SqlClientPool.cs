using System.Runtime.CompilerServices;

namespace SafeSql.Tests.TestUtilities;

/// <summary>
/// Which of SqlClient's connection pools these tests run on: the default (<c>WaitHandleDbConnectionPool</c>, "v1") or, with the
/// environment variable <c>SAFESQL_TEST_POOL_V2=1</c>, SqlClient 7.1's <c>ChannelDbConnectionPool</c> ("v2", AppContext switch
/// <c>Switch.Microsoft.Data.SqlClient.UseConnectionPoolV2</c>). eng/test.sh runs the tests marked <see cref="Trait"/> on both.
/// </summary>
internal static class SqlClientPool
{
    /// <summary>The trait (name, value) of the tests whose outcome depends on the pool: <c>[Trait(SqlClientPool.Trait, SqlClientPool.Sensitive)]</c>.</summary>
    public const string Trait = "SqlClientPool";

    /// <inheritdoc cref="Trait"/>
    public const string Sensitive = "Sensitive";

    /// <summary>The environment variable that turns the switch on for this test run.</summary>
    public const string EnvironmentVariable = "SAFESQL_TEST_POOL_V2";

    /// <summary>Gets whether pooled connections use pool v2 (SafeSql's own reading of the switch and the SqlClient version).</summary>
    public static bool IsV2 => SqlClientPoolVersion.IsV2;

    /// <summary>Sets the switch before any test creates a pool (the module initializer runs when the test assembly loads).</summary>
#pragma warning disable CA2255 // A test assembly, not a library: the switch must be set before SqlClient first reads it.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void SetSwitchFromEnvironment()
    {
        // Only where pool v2 exists (7.1+; in 6.1 it is a stub that throws). SqlClientPoolVersion is not touched here: it reads
        // the switch once, and must read it after this.
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) == "1" && Version.Parse(SqlClientVersion.Current) >= new Version(7, 1))
        {
            AppContext.SetSwitch(SqlClientPoolVersion.SwitchName, true);
        }
    }
}

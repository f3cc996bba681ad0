using System.Reflection;

using Microsoft.Data.SqlClient;

namespace SafeSql.Tests.TestUtilities;

/// <summary>The Microsoft.Data.SqlClient version these tests run on (eng/test.sh runs them on each supported version).</summary>
internal static class SqlClientVersion
{
    /// <summary>The package version, such as <c>6.1.8</c> or <c>7.1.1</c> (the informational version without its commit).</summary>
    public static string Current { get; } =
        typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
}

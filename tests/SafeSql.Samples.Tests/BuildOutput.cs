using System.Reflection;

using Microsoft.Data.SqlClient;

namespace SafeSql.Samples.Tests;

/// <summary>
/// Where the solution's other projects were built, for the same configuration and the same Microsoft.Data.SqlClient as this
/// test assembly. The default build writes to each project's bin/; a build for another SqlClient version mirrors the
/// repository's folders under artifacts/sqlclient-&lt;version&gt;/ (Directory.Build.props), so both are found the same way:
/// from this assembly's folder, &lt;root&gt;/tests/SafeSql.Samples.Tests/bin/&lt;configuration&gt;/&lt;tfm&gt;/.
/// </summary>
internal static class BuildOutput
{
    private static readonly DirectoryInfo s_testOutput = new(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));

    /// <summary>The folder that mirrors the repository for this build: the repository root, or artifacts/sqlclient-&lt;version&gt;.</summary>
    public static string Root { get; } = s_testOutput.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;

    /// <summary>The configuration of this test build (the folder above the target framework).</summary>
    public static string Configuration { get; } = s_testOutput.Parent!.Name;

    /// <summary>The Microsoft.Data.SqlClient version this build runs on, such as <c>6.1.8</c>.</summary>
    public static string SqlClientVersion { get; } =
        typeof(SqlConnection).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    /// <summary>The main assembly of the project in <paramref name="projectDirectory"/> (relative to the repository root).</summary>
    public static string AssemblyOf(string projectDirectory, string assemblyName) =>
        Path.Combine(Root, projectDirectory, "bin", Configuration, s_testOutput.Name, assemblyName + ".dll");
}

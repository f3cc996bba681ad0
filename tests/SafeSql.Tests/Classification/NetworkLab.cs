using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Classification;

/// <summary>Finds SafeSql.NetworkLab.dll, built with the solution.</summary>
internal static class NetworkLab
{
    public static string AssemblyPath { get; } = SiblingProgram.AssemblyPath("SafeSql.NetworkLab");
}

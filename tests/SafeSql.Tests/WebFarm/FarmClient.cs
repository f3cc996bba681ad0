using SafeSql.Tests.TestUtilities;

namespace SafeSql.Tests.Farm;

/// <summary>Finds SafeSql.WebFarm.Client.dll, built with the solution.</summary>
internal static class FarmClient
{
    public static string AssemblyPath { get; } = SiblingProgram.AssemblyPath("SafeSql.WebFarm.Client");
}

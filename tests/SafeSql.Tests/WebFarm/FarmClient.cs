namespace SafeSql.Tests.Farm;

/// <summary>Finds SafeSql.WebFarm.Client.dll, built with the solution (tests/SafeSql.WebFarm.Client/bin/&lt;Configuration&gt;/net10.0).</summary>
internal static class FarmClient
{
    public static string AssemblyPath { get; } = Find();

    private static string Find()
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var testsDirectory = testOutput.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(testsDirectory, "SafeSql.WebFarm.Client", "bin", configuration, framework, "SafeSql.WebFarm.Client.dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"SafeSql.WebFarm.Client is not built at {path}: run 'dotnet build SafeSql.sln -c {configuration}' first.", path);
    }
}

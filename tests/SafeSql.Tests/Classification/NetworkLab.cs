namespace SafeSql.Tests.Classification;

/// <summary>Finds SafeSql.NetworkLab.dll, built with the solution (tests/SafeSql.NetworkLab/bin/&lt;Configuration&gt;/net10.0).</summary>
internal static class NetworkLab
{
    public static string AssemblyPath { get; } = Find();

    private static string Find()
    {
        // The tests run from tests/SafeSql.Tests/bin/<Configuration>/<tfm>/; the lab is built to the same layout.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var testsDirectory = testOutput.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(testsDirectory, "SafeSql.NetworkLab", "bin", configuration, framework, "SafeSql.NetworkLab.dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"SafeSql.NetworkLab is not built at {path}: run 'dotnet build SafeSql.sln -c {configuration}' first.", path);
    }
}

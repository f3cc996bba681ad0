namespace SafeSql.Tests.TestUtilities;

/// <summary>
/// Finds a program of tests/ built with the solution: the tests run from tests/SafeSql.Tests/bin/&lt;Configuration&gt;/&lt;tfm&gt;/,
/// and every program there is built to the same layout.
/// </summary>
internal static class SiblingProgram
{
    /// <summary>The path of tests/<paramref name="name"/>/bin/&lt;Configuration&gt;/&lt;tfm&gt;/<paramref name="name"/>.dll.</summary>
    /// <exception cref="FileNotFoundException">The program is not built.</exception>
    public static string AssemblyPath(string name)
    {
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = testOutput.Name;
        var configuration = testOutput.Parent!.Name;
        var testsDirectory = testOutput.Parent.Parent!.Parent!.Parent!.FullName;
        var path = Path.Combine(testsDirectory, name, "bin", configuration, framework, name + ".dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{name} is not built at {path}: run 'dotnet build SafeSql.sln -c {configuration}' first.", path);
    }
}

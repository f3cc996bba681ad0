namespace SafeSql.Testing.Tests;

/// <summary>A fact that needs Node.js (<c>node</c> on PATH) to run the tedious client in eng/tedious-check; skipped with that
/// reason only when node is absent. A missing tedious install fails the test instead (./eng/test.sh installs it).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        if (Node is null)
        {
            Skip = "Node.js (node) is not on PATH: the tedious interop check needs it (Debian package nodejs).";
        }
    }

    /// <summary>Gets the full path of <c>node</c>, or <see langword="null"/>.</summary>
    internal static string? Node { get; } = ExternalProcess.FindOnPath("node");

    /// <summary>Gets eng/tedious-check in the repository this test assembly was built from.</summary>
    internal static string CheckDirectory
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "SafeSql.sln")))
                {
                    return Path.Combine(directory.FullName, "eng", "tedious-check");
                }
            }

            throw new InvalidOperationException($"No SafeSql.sln above {AppContext.BaseDirectory}.");
        }
    }
}

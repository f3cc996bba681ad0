using System.Runtime.CompilerServices;

namespace SafeSql.Tests.TestUtilities;

/// <summary>The caller's line and file, as the compiler fills them in, for asserting the call sites leak reports name.</summary>
internal static class CallerInfo
{
    public static int CurrentLine([CallerLineNumber] int line = 0) => line;

    public static string ThisFilePath([CallerFilePath] string path = "") => path;
}

using System.Text;

namespace SafeSql.Tests.PublicApi;

/// <summary>A minimal line diff (longest common subsequence) that prints only changed lines, each after the nearest
/// preceding type declaration (a line indented by two spaces) for context.</summary>
internal static class LineDiff
{
    public static string Render(string expected, string actual)
    {
        var a = expected.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var b = actual.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (var i = a.Length - 1; i >= 0; i--)
        {
            for (var j = b.Length - 1; j >= 0; j--)
            {
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            }
        }

        var text = new StringBuilder();
        string? context = null;
        string? printedContext = null;
        int x = 0, y = 0;
        while (x < a.Length || y < b.Length)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y])
            {
                context = IsType(a[x]) ? a[x] : context;
                x++;
                y++;
                continue;
            }

            string line;
            if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y]))
            {
                line = "+ " + b[y];
                context = IsType(b[y]) ? b[y] : context;
                y++;
            }
            else
            {
                line = "- " + a[x];
                context = IsType(a[x]) ? a[x] : context;
                x++;
            }

            if (context is not null && context != printedContext && !IsType(line[2..]))
            {
                text.Append("  ").Append(context).Append('\n');
            }

            printedContext = context;
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }

    private static bool IsType(string line) => line.StartsWith("  ", StringComparison.Ordinal) && !line.StartsWith("    ", StringComparison.Ordinal);
}

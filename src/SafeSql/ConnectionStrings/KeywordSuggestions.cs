namespace SafeSql.ConnectionStrings;

/// <summary>"Did you mean" for SAFESQL002: the closest keyword the loaded SqlClient supports, by edit distance.</summary>
internal static class KeywordSuggestions
{
    /// <summary>The SqlClient keyword closest to <paramref name="unknown"/> (letters and digits only, case-insensitive), or <see langword="null"/> when none is close.</summary>
    internal static string? Suggest(string unknown)
    {
        var squeezed = Squeeze(unknown);
        string? best = null;
        var bestDistance = squeezed.Length switch
        {
            < 6 => 1,
            < 10 => 2,
            _ => 3,
        } + 1;
        foreach (string keyword in SqlClientKeywords.Defaults.Keys)
        {
            var distance = Distance(squeezed, Squeeze(keyword));
            if (distance < bestDistance)
            {
                best = keyword;
                bestDistance = distance;
            }
        }

        return best;

        static string Squeeze(string s) => new(s.Where(char.IsLetterOrDigit).Select(char.ToUpperInvariant).ToArray());
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}

using System.Globalization;

namespace SafeSql.Demo.Reporting;

/// <summary>Small text helpers for the report.</summary>
internal static class Text
{
    /// <summary>Returns the first sentence of <paramref name="text"/> (up to the first ". ").</summary>
    public static string FirstSentence(string text)
    {
        var end = text.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? text : text[..(end + 1)];
    }

    /// <summary>Returns the first <paramref name="count"/> sentences of <paramref name="text"/> (each ending at ". ").</summary>
    public static string FirstSentences(string text, int count)
    {
        var end = -2;
        for (var i = 0; i < count; i++)
        {
            var next = text.IndexOf(". ", end + 2, StringComparison.Ordinal);
            if (next < 0)
            {
                return text;
            }

            end = next;
        }

        return text[..(end + 1)];
    }

    /// <summary>Formats milliseconds as seconds: "4.1 s".</summary>
    public static string Seconds(long milliseconds) => (milliseconds / 1000.0).ToString("0.0 s", CultureInfo.InvariantCulture);

    /// <summary>Formats a duration in milliseconds: "12 ms" below a second, "4.1 s" from there; "-" for <see langword="null"/>.</summary>
    public static string Duration(long? milliseconds) => milliseconds switch
    {
        null => "-",
        < 1000 => milliseconds.Value.ToString("0 ms", CultureInfo.InvariantCulture),
        _ => Seconds(milliseconds.Value),
    };

    /// <summary>Formats a count with thousands separators: "1,000".</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

namespace SafeSql.ConnectionStrings;

/// <summary>
/// One <c>keyword=value</c> entry of a connection string, where the string has it: every entry is kept, in order, with
/// duplicates and empty values, so the password guard judges what SqlClient will read.
/// </summary>
/// <param name="Keyword">The keyword as written, without trailing white space, with a doubled <c>==</c> read as one <c>=</c>
/// (SqlClient's parser lowercases it; this keeps the case for messages).</param>
/// <param name="Value">The value as SqlClient reads it (quotes removed, doubled quotes undone, an unquoted value trimmed);
/// <see langword="null"/> when nothing follows the <c>=</c> (SqlClient then uses its default).</param>
/// <param name="Position">Where the entry starts in the string (0-based).</param>
/// <param name="IsQuoted">Whether the value is enclosed in quotes (then a <c>;</c> inside it does not end the entry).</param>
internal readonly record struct SqlConnectionStringEntry(string Keyword, string? Value, int Position, bool IsQuoted);

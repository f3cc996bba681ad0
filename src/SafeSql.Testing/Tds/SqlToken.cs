namespace SafeSql.Testing.Tds;

internal enum SqlTokenKind
{
    End,
    Word,
    Variable,
    SystemVariable,
    Number,
    String,
    UnicodeString,
    Symbol,
}

/// <summary>A lexical token of the SQL subset.</summary>
internal readonly record struct SqlToken(SqlTokenKind Kind, string Text, int Position, int Line)
{
    public bool IsWord(string word) => Kind == SqlTokenKind.Word && string.Equals(Text, word, StringComparison.OrdinalIgnoreCase);

    public bool IsSymbol(char symbol) => Kind == SqlTokenKind.Symbol && Text.Length == 1 && Text[0] == symbol;
}

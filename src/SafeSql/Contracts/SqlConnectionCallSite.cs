using System.Globalization;

namespace SafeSql;

/// <summary>Where a connection was opened: the caller of <c>OpenConnection</c> or <c>OpenConnectionAsync</c> (of the data source, a factory or a scope).</summary>
/// <remarks>
/// The values come from <see cref="System.Runtime.CompilerServices.CallerFilePathAttribute"/>,
/// <see cref="System.Runtime.CompilerServices.CallerLineNumberAttribute"/> and
/// <see cref="System.Runtime.CompilerServices.CallerMemberNameAttribute"/>: compile-time constants, so recording them is free.
/// </remarks>
public sealed class SqlConnectionCallSite : IEquatable<SqlConnectionCallSite>
{
    /// <summary>Initializes a new instance of the <see cref="SqlConnectionCallSite"/> class.</summary>
    /// <param name="memberName">The calling member (method or property) name.</param>
    /// <param name="filePath">The calling source file, as the compiler saw it.</param>
    /// <param name="lineNumber">The calling line, 1-based.</param>
    /// <exception cref="ArgumentNullException"><paramref name="memberName"/> or <paramref name="filePath"/> is <see langword="null"/>.</exception>
    public SqlConnectionCallSite(string memberName, string filePath, int lineNumber)
    {
        ArgumentNullException.ThrowIfNull(memberName);
        ArgumentNullException.ThrowIfNull(filePath);
        MemberName = memberName;
        FilePath = filePath;
        LineNumber = lineNumber;
    }

    /// <summary>Gets the calling member (method or property) name.</summary>
    /// <value>For example <c>GetOrders</c>.</value>
    public string MemberName { get; }

    /// <summary>Gets the calling source file as the compiler saw it (a full path unless the build maps paths).</summary>
    /// <value>For example <c>/src/Shop/OrderRepository.cs</c>.</value>
    public string FilePath { get; }

    /// <summary>Gets the calling line, 1-based.</summary>
    /// <value>For example 42.</value>
    public int LineNumber { get; }

    /// <summary>Gets the file name part of <see cref="FilePath"/>, whichever directory separator the build used.</summary>
    /// <value>For example <c>OrderRepository.cs</c>.</value>
    public string FileName
    {
        get
        {
            var index = FilePath.AsSpan().LastIndexOfAny('/', '\\');
            return index < 0 ? FilePath : FilePath[(index + 1)..];
        }
    }

    /// <summary>Formats the call site as <c>OrderRepository.cs:42 (GetOrders)</c>.</summary>
    /// <returns>File name, line and member.</returns>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{FileName}:{LineNumber} ({MemberName})");

    /// <inheritdoc/>
    public bool Equals(SqlConnectionCallSite? other) =>
        other is not null
        && LineNumber == other.LineNumber
        && string.Equals(FilePath, other.FilePath, StringComparison.Ordinal)
        && string.Equals(MemberName, other.MemberName, StringComparison.Ordinal);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SqlConnectionCallSite);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(FilePath, LineNumber, MemberName);
}

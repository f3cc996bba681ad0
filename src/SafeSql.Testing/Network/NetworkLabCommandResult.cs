using System.Globalization;

namespace SafeSql.Testing.Network;

/// <summary>How a command run by <see cref="NetworkLabCommand"/> ended.</summary>
/// <param name="ExitCode">The exit code; -1 when the command was killed after its timeout.</param>
/// <param name="Output">Its standard output (empty when it was not redirected).</param>
/// <param name="Error">Its standard error.</param>
/// <param name="KilledAfter">The timeout after which it was killed; <see langword="null"/> when it exited by itself.</param>
internal readonly record struct NetworkLabCommandResult(int ExitCode, string Output, string Error, TimeSpan? KilledAfter)
{
    /// <summary>Gets a value indicating whether the command ran past its timeout and was killed.</summary>
    public bool TimedOut => KilledAfter is not null;

    /// <summary>Gets how the command ended, for a message: <c>exit code 2</c>, or <c>killed after 30 s</c>.</summary>
    public string Ending => KilledAfter is { } timeout
        ? string.Create(CultureInfo.InvariantCulture, $"killed after {timeout.TotalSeconds:0} s")
        : string.Create(CultureInfo.InvariantCulture, $"exit code {ExitCode}");
}

namespace SafeSql.Tool.Doctor;

/// <summary>One line of the doctor's report.</summary>
/// <param name="Area">policy, endpoint, client, server or pool.</param>
/// <param name="Id">The check, for scripts: <c>tcp-connect</c>, <c>ephemeral-ports</c>...</param>
/// <param name="Status">ok, warning or problem.</param>
/// <param name="Summary">What was found, with the figures it rests on.</param>
/// <param name="Why">Why it matters, and the source of the rule.</param>
/// <param name="Fix">What to do; <see langword="null"/> when nothing is to be done.</param>
/// <param name="Figures">The figures, by name (milliseconds, counts, seconds per second), for scripts; never a password.</param>
internal sealed record DoctorCheck(
    string Area,
    string Id,
    DoctorStatus Status,
    string Summary,
    string Why,
    string? Fix,
    IReadOnlyDictionary<string, object?> Figures);

namespace SafeSql.Tool.Doctor;

/// <summary>Every check of one doctor run, in report order.</summary>
/// <param name="DataSource">The connection string's Data Source (never the rest of it).</param>
/// <param name="SqlClientVersion">The Microsoft.Data.SqlClient the tool runs on.</param>
/// <param name="Checks">The checks.</param>
internal sealed record DoctorReport(string? DataSource, string SqlClientVersion, IReadOnlyList<DoctorCheck> Checks)
{
    /// <summary>Gets the worst status of the checks.</summary>
    public DoctorStatus Status => Checks.Count == 0 ? DoctorStatus.Ok : Checks.Max(c => c.Status);

    /// <summary>Gets the process exit code: 0 all ok, 1 warnings, 2 problems.</summary>
    public int ExitCode => (int)Status;
}

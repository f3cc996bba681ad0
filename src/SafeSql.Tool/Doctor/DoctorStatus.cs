namespace SafeSql.Tool.Doctor;

/// <summary>The outcome of one check; the report's exit code is the worst of them (0, 1 or 2).</summary>
internal enum DoctorStatus
{
    /// <summary>Nothing to do.</summary>
    Ok = 0,

    /// <summary>Works now, but fails or degrades under load or later: read the fix.</summary>
    Warning = 1,

    /// <summary>Fails now, or would fail under the load the settings allow.</summary>
    Problem = 2,
}

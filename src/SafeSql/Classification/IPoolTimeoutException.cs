namespace SafeSql.Classification;

/// <summary>
/// Marks an exception that SafeSql throws in place of SqlClient's pool timeout (the higher layer that detects the timeout
/// owns the type). The classifier decides <see cref="SqlFailureKind.PoolTimeout"/> by this marker, not by the localized
/// text of SqlClient's exception inside.
/// </summary>
internal interface IPoolTimeoutException;

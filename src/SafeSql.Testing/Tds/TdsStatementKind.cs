namespace SafeSql.Testing.Tds;

internal enum TdsStatementKind
{
    Select,
    Error,
    WaitFor,
    NoOp,
    Use,
    RowsAffected,
    Disconnect,
    BeginTransaction,
    CommitTransaction,
    RollbackTransaction,
    SaveTransaction,
}

namespace SafeSql.Leases;

/// <summary>How leases are tracked and leaks reported. (Skeleton: filled in by the leases issue.)</summary>
public class SqlConnectionLeakOptions
{
}

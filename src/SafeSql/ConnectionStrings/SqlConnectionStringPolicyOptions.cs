namespace SafeSql.ConnectionStrings;

/// <summary>Thresholds and opt-ins of the connection-string policy. (Skeleton: filled in by the policy issue.)</summary>
public class SqlConnectionStringPolicyOptions
{
}

namespace SafeSql.Classification;

/// <summary>The retry applied when opening a connection. (Skeleton: filled in by the classification issue.)</summary>
public class SqlOpenRetryOptions
{
}

using Polly;

namespace SafeSql;

/// <summary>Skeleton: the classification issue owns this file and builds the open pipeline from <see cref="SafeSqlOptions.OpenRetry"/>.</summary>
internal sealed partial class SqlConnectionFactory
{
    private ResiliencePipeline CreateOpenPipeline() => Name.Length >= 0 ? ResiliencePipeline.Empty : ResiliencePipeline.Empty;
}

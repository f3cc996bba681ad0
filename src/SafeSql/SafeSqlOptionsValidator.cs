using Microsoft.Extensions.Options;

namespace SafeSql;

/// <summary>
/// Validates the data annotations of <see cref="SafeSqlOptions"/> and, through <see cref="ValidateObjectMembersAttribute"/>,
/// of its nested options (connection-string policy, leaks, open retry). Generated at compile time by the options validation
/// source generator: no reflection at startup.
/// </summary>
[OptionsValidator]
internal sealed partial class SafeSqlOptionsValidator : IValidateOptions<SafeSqlOptions>
{
}

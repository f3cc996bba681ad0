using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace SafeSql.Testing.Network;

/// <summary>Validation shared by the options of the network labs that narrow the ephemeral port range.</summary>
internal static class EphemeralPortRange
{
    /// <summary>Validates <paramref name="options"/>' annotations, then that the range holds at least one port.</summary>
    /// <exception cref="ValidationException">A value is outside its documented range, or <paramref name="end"/> is below <paramref name="start"/>.</exception>
    internal static void Validate(object options, int start, int end)
    {
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);
        if (end < start)
        {
            throw new ValidationException(string.Create(
                CultureInfo.InvariantCulture,
                $"EphemeralPortRangeEnd ({end}) is below EphemeralPortRangeStart ({start}); the range must hold at least one port."));
        }
    }
}

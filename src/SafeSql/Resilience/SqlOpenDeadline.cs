using System.Globalization;

namespace SafeSql;

/// <summary>
/// The end of one open's time budget (<c>SafeSqlOptions.OpenTimeout</c>), carried in the pipeline's context: no retry starts
/// once it has passed. An attempt or a wait still running at the deadline is ended by the run's token instead.
/// </summary>
internal sealed class SqlOpenDeadline(TimeProvider timeProvider, long started, TimeSpan budget)
{
    /// <summary>Gets the budget.</summary>
    internal TimeSpan Budget { get; } = budget;

    /// <summary>Gets the time left (zero once the deadline has passed).</summary>
    internal TimeSpan Remaining
    {
        get
        {
            var left = Budget - timeProvider.GetElapsedTime(started);
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <summary>Gets why no retry starts now, or <see langword="null"/> while time is left.</summary>
    internal string? ReasonNotToRetry => Remaining > TimeSpan.Zero ? null : SpentReason;

    /// <summary>Gets the reason an open gave up when its budget was spent (also when the budget's timer fired a hair before <see cref="Remaining"/> reads zero).</summary>
    internal string SpentReason => string.Create(CultureInfo.InvariantCulture, $"the open's time budget of {Budget.TotalMilliseconds:0} ms (OpenTimeout, else Connect Timeout) was spent");
}

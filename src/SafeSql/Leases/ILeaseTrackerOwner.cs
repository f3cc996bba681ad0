namespace SafeSql;

/// <summary>Implemented by SafeSql's root factory and its scopes: gives access to the pool's lease tracker.</summary>
internal interface ILeaseTrackerOwner
{
    /// <summary>Gets the tracker of the pool.</summary>
    LeaseTracker Tracker { get; }
}

namespace SafeSql.Testing.Tds;

/// <summary>One reassembled client message: the type and status of its first packet and the payload of all its packets.</summary>
internal readonly struct TdsMessage
{
    public TdsMessage(byte type, byte firstStatus, ReadOnlyMemory<byte> payload, bool ignored)
    {
        Type = type;
        FirstStatus = firstStatus;
        Payload = payload;
        Ignored = ignored;
    }

    public byte Type { get; }

    public byte FirstStatus { get; }

    /// <summary>Gets the payload; valid only until the next read from the same <see cref="TdsReader"/>.</summary>
    public ReadOnlyMemory<byte> Payload { get; }

    /// <summary>Gets whether the client marked the message with the IGNORE bit (it aborted sending it).</summary>
    public bool Ignored { get; }

    public bool ResetConnection =>
        (FirstStatus & (TdsConstants.StatusResetConnection | TdsConstants.StatusResetConnectionSkipTransaction)) != 0;
}

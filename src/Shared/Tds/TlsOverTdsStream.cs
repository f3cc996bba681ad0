using System.Buffers;

namespace SafeSql.Shared.Tds;

/// <summary>
/// The transport under an <see cref="System.Net.Security.SslStream"/> on a TDS connection, for either side. For TDS 7.x
/// encryption (MS-TDS 2.2.6.5: "this message stream is also used to wrap the SSL handshake payload") it starts by carrying
/// the TLS handshake inside TDS PRELOGIN packets (type 0x12, at most 4,096 bytes, SPID 0, EOM on the last packet of each
/// flight) in both directions, and passes TLS records through unframed after <see cref="FinishHandshake"/>, as SqlClient
/// (ManagedSni SslOverTdsStream) does. For TDS 8.0 it passes everything through from the start.
/// </summary>
internal sealed class TlsOverTdsStream : Stream
{
    private const int MaxPayload = TdsConstants.DefaultPacketSize - TdsConstants.HeaderLength;

    private readonly Stream _inner;
    private bool _wrapping;
    private int _packetRemaining;
    private byte _packetId;

    /// <param name="inner">The socket's stream; it is not disposed with this one.</param>
    /// <param name="wrapInPreLogin"><see langword="true"/> for TDS 7.x (handshake inside PRELOGIN packets), <see langword="false"/>
    /// for TDS 8.0 (TLS first, nothing to frame).</param>
    public TlsOverTdsStream(Stream inner, bool wrapInPreLogin)
    {
        _inner = inner;
        _wrapping = wrapInPreLogin;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Stops framing: from now on TLS records travel raw, as both sides expect once the handshake completed.</summary>
    public void FinishHandshake() => _wrapping = false;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_wrapping)
        {
            return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        while (_packetRemaining == 0)
        {
            var header = ArrayPool<byte>.Shared.Rent(TdsConstants.HeaderLength);
            try
            {
                var read = await _inner.ReadAtLeastAsync(header.AsMemory(0, TdsConstants.HeaderLength), TdsConstants.HeaderLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return 0;
                }

                if (read < TdsConstants.HeaderLength)
                {
                    throw new IOException("The connection closed in the middle of a TDS packet header during the TLS handshake.");
                }

                _packetRemaining = TdsPacketHeader.ReadLength(header) - TdsConstants.HeaderLength;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(header);
            }
        }

        var n = await _inner.ReadAsync(buffer[..Math.Min(buffer.Length, _packetRemaining)], cancellationToken).ConfigureAwait(false);
        _packetRemaining -= n;
        return n;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_wrapping)
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        var packet = ArrayPool<byte>.Shared.Rent(TdsConstants.DefaultPacketSize);
        try
        {
            while (!buffer.IsEmpty)
            {
                var n = Math.Min(MaxPayload, buffer.Length);
                var last = n == buffer.Length;
                var length = n + TdsConstants.HeaderLength;
                TdsPacketHeader.Write(packet, TdsConstants.PacketPreLogin, last ? TdsConstants.StatusEndOfMessage : (byte)0, length, spid: 0, ++_packetId);
                buffer.Span[..n].CopyTo(packet.AsSpan(TdsConstants.HeaderLength));
                await _inner.WriteAsync(packet.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                buffer = buffer[n..];
                if (last)
                {
                    _packetId = 0;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(packet);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // Both sides drive SslStream asynchronously only (AuthenticateAsServerAsync / AuthenticateAsClientAsync, ReadAsync);
    // Stream requires the synchronous members, and a synchronous wait on the asynchronous ones would block a thread-pool thread.
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("TLS records over TDS are read asynchronously only.");

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("TLS records over TDS are written asynchronously only.");

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

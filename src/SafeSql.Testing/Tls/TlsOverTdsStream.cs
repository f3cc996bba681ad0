using System.Buffers;
using System.Buffers.Binary;
using SafeSql.Testing.Tds;

namespace SafeSql.Testing.Tls;

/// <summary>
/// The transport under the server's <see cref="System.Net.Security.SslStream"/>. For TDS 7.x encryption (MS-TDS 2.2.6.5:
/// "this message stream is also used to wrap the SSL handshake payload") it starts by carrying the TLS handshake inside
/// TDS PRELOGIN packets (type 0x12, at most 4,096 bytes, EOM on the last packet of each flight) in both directions, and
/// passes TLS records through unframed after <see cref="FinishHandshake"/>, as SqlClient's client side
/// (ManagedSni SslOverTdsStream) expects. For TDS 8.0 it passes everything through from the start.
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

    /// <summary>Stops framing: from now on TLS records travel raw, as the client expects once its handshake completed.</summary>
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
                if (!await ReadExactlyOrEndAsync(header.AsMemory(0, TdsConstants.HeaderLength), cancellationToken).ConfigureAwait(false))
                {
                    return 0;
                }

                var length = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2));
                if (length < TdsConstants.HeaderLength)
                {
                    throw new InvalidDataException($"Invalid TDS packet length {length} around the TLS handshake (type 0x{header[0]:X2}).");
                }

                _packetRemaining = length - TdsConstants.HeaderLength;
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
                packet[0] = TdsConstants.PacketPreLogin;
                packet[1] = last ? TdsConstants.StatusEndOfMessage : (byte)0;
                BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)(n + TdsConstants.HeaderLength));
                BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 0);
                packet[6] = ++_packetId;
                packet[7] = 0;
                buffer.Span[..n].CopyTo(packet.AsSpan(TdsConstants.HeaderLength));
                await _inner.WriteAsync(packet.AsMemory(0, n + TdsConstants.HeaderLength), cancellationToken).ConfigureAwait(false);
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

    // The server authenticates and reads asynchronously only (AuthenticateAsServerAsync, ReadAsync); Stream requires the
    // synchronous members, and a synchronous wait on the asynchronous ones would block a thread-pool thread.
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The loopback server reads TLS records asynchronously only.");

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The loopback server writes TLS records asynchronously only.");

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private async ValueTask<bool> ReadExactlyOrEndAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _inner.ReadAsync(buffer[read..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                if (read == 0)
                {
                    return false;
                }

                throw new IOException("The client closed the connection in the middle of a TDS packet header during the TLS handshake.");
            }

            read += n;
        }

        return true;
    }
}

namespace SafeSql;

/// <summary>Operating-system TCP facts quoted by both classification explanations and connection-string policy messages.</summary>
internal static class TcpFacts
{
    /// <summary>
    /// How long a closed TCP connection keeps its local port in TIME_WAIT. Sources: Linux <c>TCP_TIMEWAIT_LEN</c>
    /// (include/net/tcp.h, 60 s, fixed in the kernel); Windows <c>TcpTimedWaitDelay</c> (learn.microsoft.com, "TcpTimedWaitDelay":
    /// 0x78 = 120 s by default since Windows Server 2003, 240 s on Windows 2000 and NT).
    /// </summary>
    internal const string TimeWaitDurations = "60 s on Linux, 120 s on Windows (TcpTimedWaitDelay; 240 s before Windows Server 2003)";
}

using System.Diagnostics;
using System.Globalization;
using System.Text;

using CsCheck;

using Microsoft.Data.SqlClient;

using Xunit.Abstractions;

namespace SafeSql.Tests.ConnectionStrings;

/// <summary>
/// Generated connection strings for the fuzz properties (CsCheck generators), and the seeded runner that drives them.
/// </summary>
/// <remarks>
/// <para>
/// Each string is built from entries over every SqlClient keyword and synonym (any case), unknown keywords, valid and invalid
/// values of every kind, single and double quoting (with doubled quotes), repeated keywords, empty values, control characters
/// (NUL included) and long values, plus, in most strings, one password entry carrying <see cref="Marker"/>: quoted, unquoted
/// with <c>;</c> and <c>=</c> and keyword look-alikes inside it, or empty and followed by marker fragments. The marker appears
/// nowhere else, so a property can search every text SafeSql produces for it.
/// </para>
/// <para>
/// Runs: <see cref="FixedSeed"/> (the same cases on every run) for <see cref="Cases"/> cases (10,000 by default;
/// <c>SAFESQL_FUZZ_CASES=1000000</c> for a long local run), and with <c>SAFESQL_FUZZ_RANDOM=1</c> one random seed for a fifth as many,
/// new cases each run. A failure names the
/// property, the run seed, the case and its own seed; <c>SAFESQL_FUZZ_SEED=&lt;case seed&gt;</c> replays that one case. The
/// failing string is printed with the marker replaced by <c>&lt;MARKER&gt;</c>.
/// </para>
/// </remarks>
internal static class ConnectionStringFuzz
{
    /// <summary>The password marker: it never occurs in SafeSql's own texts, nor does any 4-character piece of it.</summary>
    internal const string Marker = "ZqXv7KpWj3";

    internal const ulong FixedSeed = 0x5AFE_5A1F_0018_2026;

    private static readonly string[] s_markerPieces = [.. Enumerable.Range(0, Marker.Length - 3).Select(i => Marker.Substring(i, 4))];

    // Synonyms SqlClient 6.1 and 7.1 accept (SqlConnectionString.GetParseSynonyms), plus retired keywords SqlClient refuses.
    private static readonly string[] s_synonyms =
    [
        "app", "applicationintent", "extended properties", "initial file name", "connection timeout", "timeout", "database",
        "addr", "address", "network address", "server", "connection lifetime", "language", "net", "network", "network library",
        "poolblockingperiod", "trustservercertificate", "multipleactiveresultsets", "multisubnetfailover", "connectretrycount",
        "connectretryinterval", "persistsecurityinfo", "uid", "user", "pwd", "trusted_connection", "wsid", "ipaddresspreference",
        "hostnameincertificate", "servercertificate", "serverspn", "failoverpartnerspn", "commandtimeout", "async",
        "asynchronous processing", "connection reset", "context connection", "transparent network ip resolution",
        "transparentnetworkipresolution", "MaxPoolSize", "Max Pool Sise", "Frobnicate", "a==b", "==", "Data  Source",
    ];

    private static readonly string[] s_values =
    [
        "true", "false", "yes", "no", "True", "NO", "1", "0", "-1", "15", "100", "1000", "40000", "99999999999", "2147483647",
        "  7 ", "abc", "maybe", "Mandatory", "Optional", "Strict", "ReadOnly", "ReadWrite", "AlwaysBlock", "NeverBlock", "Auto",
        "Active Directory Password", "ActiveDirectoryIntegrated", "Sql Password", "Enabled", "Disabled", "HGS", "IPv6First",
        "Latest", "SQL Server 2012", "Implicit Unbind", "db", "tcp:db.example.com,1433", "(local)", "127.0.0.1,1", "OrdersApi",
        "a b", "x=y", "é€", "\t", "\u00a0pad\u00a0",
    ];

    private static readonly string[] s_keywords = BuildKeywords();

    /// <summary>Gets the number of cases per seed: <c>SAFESQL_FUZZ_CASES</c>, else 10,000.</summary>
    internal static int Cases { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("SAFESQL_FUZZ_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out var cases) && cases > 0 ? cases : 10_000;

    /// <summary>Gets the generator of whole connection strings.</summary>
    internal static Gen<string> ConnectionString { get; } = BuildConnectionString();

    /// <summary>Whether <paramref name="text"/> holds the marker or any 4-character piece of it (ignoring case).</summary>
    internal static bool HasMarker(string? text) =>
        text is not null && Array.Exists(s_markerPieces, piece => text.Contains(piece, StringComparison.OrdinalIgnoreCase));

    /// <summary>The string with the marker replaced, for a failure message.</summary>
    internal static string Redact(string text) => text.Replace(Marker, "<MARKER>", StringComparison.Ordinal);

    /// <summary>
    /// Runs <paramref name="property"/> on <see cref="Cases"/> generated strings from the fixed seed (and, with SAFESQL_FUZZ_RANDOM=1, a fifth as many from one random seed),
    /// or on the one case named by <c>SAFESQL_FUZZ_SEED</c>. Throws on the first failing case with everything needed to replay it.
    /// </summary>
    /// <returns>The number of cases run.</returns>
    internal static long Run(string name, ITestOutputHelper output, Action<string> property)
    {
        if (Environment.GetEnvironmentVariable("SAFESQL_FUZZ_SEED") is { Length: > 0 } replay)
        {
            var seed = ulong.Parse(replay, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            RunCase(name, property, runSeed: seed, index: 0, caseSeed: seed);
            return 1;
        }

        var total = 0L;
        // The fixed seed always; new cases from a random seed only when asked (SAFESQL_FUZZ_RANDOM=1), so the test command gives
        // the same answer on every run and exploring stays a deliberate act whose findings are replayed by their case seed.
        (ulong Seed, int Cases)[] runs = Environment.GetEnvironmentVariable("SAFESQL_FUZZ_RANDOM") == "1"
            ? [(FixedSeed, Cases), ((ulong)Random.Shared.NextInt64(), Math.Max(1, Cases / 5))]
            : [(FixedSeed, Cases)];
        foreach (var (runSeed, cases) in runs)
        {
            var stopwatch = Stopwatch.StartNew();
            var master = new PCG(1, runSeed);
            for (var i = 0; i < cases; i++)
            {
                RunCase(name, property, runSeed, i, master.Next64());
            }

            total += cases;
            output.WriteLine($"{name}: {cases} cases from seed {runSeed:X16} in {stopwatch.Elapsed.TotalSeconds:0.0} s, 0 failures.");
        }

        return total;
    }

    private static void RunCase(string name, Action<string> property, ulong runSeed, int index, ulong caseSeed)
    {
        var connectionString = ConnectionString.Generate(new PCG(1, caseSeed), null, out _);
        try
        {
            property(connectionString);
        }
        catch (Exception ex)
        {
            var message = Redact(ex.Message);
            throw new Xunit.Sdk.XunitException(
                $"Property {name} failed on case {index} of run seed {runSeed:X16} (replay with SAFESQL_FUZZ_SEED={caseSeed:X16}). "
                + $"Connection string (marker redacted): {Escape(Redact(connectionString))}{Environment.NewLine}{ex.GetType().Name}: {message}");
        }
    }

    private static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            escaped.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString());
        }

        return escaped.ToString();
    }

    private static string[] BuildKeywords()
    {
        var keywords = new List<string>();
        foreach (string keyword in new SqlConnectionStringBuilder().Keys)
        {
            keywords.Add(keyword);
        }

        keywords.AddRange(s_synonyms);
        return [.. keywords];
    }

    private static Gen<string> BuildConnectionString()
    {
        var keyword = Gen.Frequency(
            (10, Gen.OneOf(s_keywords)),
            (2, Gen.OneOf(s_keywords).Select(Gen.Bool, static (k, upper) => upper ? k.ToUpperInvariant() : k.ToLowerInvariant())),
            (1, Gen.String[Gen.Char["abcdefgh =;'\"\t"], 1, 8]),
            (1, Gen.OneOf(s_keywords).Select(static k => " " + k + " ")));

        var rawValue = Gen.Frequency(
            (10, Gen.OneOf(s_values)),
            (2, Gen.Int[-5, 70000].Select(static i => i.ToString(CultureInfo.InvariantCulture))),
            (2, Gen.String[Gen.Char["abcXYZ019 ;='\"\0\u0001\t\n\\,:-"], 0, 12]),
            (1, Gen.Int[100, 3000].Select(static n => new string('v', n))),
            (1, Gen.Const(string.Empty)));

        var value = Gen.Frequency(
            (8, rawValue),
            (2, rawValue.Select(static v => "\"" + v.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"")),
            (2, rawValue.Select(static v => "'" + v.Replace("'", "''", StringComparison.Ordinal) + "'")),
            (1, Gen.Const(string.Empty)),
            (1, Gen.Const("''")));

        var separator = Gen.Frequency((20, Gen.Const(";")), (2, Gen.Const(";;")), (2, Gen.Const(" ; ")), (1, Gen.Const(" ")), (1, Gen.Const("\0")));
        var entry = Gen.Select(keyword, value, static (k, v) => k + "=" + v);

        // A password piece: the marker, or text that splits the password into look-alike entries.
        var passwordPiece = Gen.Frequency(
            (6, Gen.Const(Marker)),
            (3, Gen.Const(";")),
            (2, Gen.Const("=")),
            (1, Gen.Const("'")),
            (1, Gen.Const("\"")),
            (1, Gen.Const(" ")),
            (1, Gen.Const("\u0001")),
            (2, Gen.OneOf(s_keywords).Select(static k => k + "=")),
            (2, Gen.OneOf(s_values)));
        var passwordText = passwordPiece.Array[1, 8].Select(static pieces => string.Concat(pieces));
        var passwordKeyword = Gen.OneOf("Password", "Pwd", "PWD", "password", " Password ", "pwd");
        var password = Gen.Frequency(
            // Quoted as SqlClient documents: nothing after it can be part of it.
            (3, passwordText.Select(static p => "\"" + p.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"")),
            (2, passwordText.Select(static p => "'" + p.Replace("'", "''", StringComparison.Ordinal) + "'")),
            // Unquoted: starts with the marker (never with a quote, which would make it quoted) and runs on.
            (4, passwordText.Select(static p => Marker + p)),
            // Empty, with the rest of the intended password following it.
            (1, passwordText.Select(static p => ";" + p)));
        var passwordEntry = Gen.Select(passwordKeyword, password, static (k, p) => k + "=" + p);

        // Plausible entries: keywords with values of their own type, so that many strings are accepted and normalized.
        var plausible = Gen.OneOf(
            Gen.OneOf("Data Source=db", "Server=tcp:db.example.com,1433", "Address=(local)", "Data Source=\"a;b\"", "Data Source=' x '"),
            Gen.OneOf("Initial Catalog=Orders", "Database=''", "Application Name=''", "App=\"\"", "Application Name=Orders Api", "Application Name=\"x;y\""),
            Gen.OneOf("User ID=app", "UID=\"a'b\"", "Workstation ID=w", "Current Language=us_english", "Failover Partner="),
            Gen.Int[0, 1200].Select(static i => "Max Pool Size=" + i.ToString(CultureInfo.InvariantCulture)),
            Gen.Int[0, 150].Select(static i => "Connect Timeout=" + i.ToString(CultureInfo.InvariantCulture)),
            Gen.Int[0, 200].Select(static i => "Connection Lifetime=" + i.ToString(CultureInfo.InvariantCulture)),
            Gen.OneOf("Pooling=true", "Pooling=no", "Pooling=", "Encrypt=true", "Encrypt=false", "Encrypt=Strict", "Encrypt=Optional", "Encrypt="),
            Gen.OneOf("Trust Server Certificate=yes", "TrustServerCertificate=False", "Multiple Active Result Sets=true", "Application Intent=ReadOnly"),
            Gen.OneOf("Pool Blocking Period=NeverBlock", "Packet Size=4096", "Command Timeout=0", "Connect Retry Count=0", "Type System Version=Latest"));
        var plausibleString = Gen.Select(plausible.Array[1, 10], Gen.Frequency((3, Gen.Const(true)), (1, Gen.Const(false))), passwordEntry, Gen.Int[0, 10]).Select(static t =>
        {
            var (list, withPassword, pwd, at) = t;
            var parts = new List<string>(list);
            if (withPassword)
            {
                parts.Insert(Math.Min(at, parts.Count), pwd);
            }

            return string.Join(";", parts);
        });

        var entries = Gen.Select(entry.Array[0, 8], separator.Array[9], Gen.Int[0, 8], Gen.Frequency((4, Gen.Const(true)), (1, Gen.Const(false))), passwordEntry);
        var wild = entries.Select(static t =>
        {
            var (list, separators, at, withPassword, pwd) = t;
            var parts = new List<string>(list);
            if (withPassword)
            {
                parts.Insert(Math.Min(at, parts.Count), pwd);
            }

            var text = new StringBuilder();
            for (var i = 0; i < parts.Count; i++)
            {
                if (i > 0)
                {
                    text.Append(separators[i % separators.Length]);
                }

                text.Append(parts[i]);
            }

            return text.ToString();
        });

        return Gen.Frequency((1, wild), (1, plausibleString));
    }
}

namespace SafeSql.Shared.Tds;

/// <summary>One PRELOGIN option a client sends (MS-TDS 2.2.6.5): its token and its data.</summary>
/// <param name="Token">The option token, such as <see cref="PreLoginPayload.OptionEncryption"/>.</param>
/// <param name="Data">The option's data, written after the option table in the order of the options.</param>
internal readonly record struct PreLoginOption(byte Token, byte[] Data);

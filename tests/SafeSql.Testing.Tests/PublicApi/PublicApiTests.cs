using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace SafeSql.Testing.Tests.PublicApi;

/// <summary>Tracks the public surface of SafeSql.Testing (PublicApiAnalyzers does not restore here): the rendered surface must
/// equal the committed SafeSql.Testing.approved.txt; on a change, review SafeSql.Testing.received.txt and copy it over.</summary>
public sealed class PublicApiTests
{
    [Fact]
    public void PublicSurface_MatchesApprovedSnapshot()
    {
        // Arrange
        var approvedPath = Path.Combine(SourceDirectory(), "SafeSql.Testing.approved.txt");
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : string.Empty;

        // Act
        var actual = Render(typeof(LoopbackSqlServer).Assembly);

        // Assert
        if (actual != approved)
        {
            File.WriteAllText(Path.Combine(SourceDirectory(), "SafeSql.Testing.received.txt"), actual);
        }

        Assert.True(actual == approved, $"The public API of SafeSql.Testing changed. Review PublicApi/SafeSql.Testing.received.txt and, if intended, copy it over SafeSql.Testing.approved.txt.");
    }

    private static string Render(Assembly assembly)
    {
        var builder = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            var kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : type.IsAbstract && type.IsSealed ? "static class" : type.IsSealed ? "sealed class" : "class";
            var bases = new[] { type.BaseType }.Where(b => b is not null && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum)).Select(b => b!.Name)
                .Concat(type.GetInterfaces().Select(i => i.Name).Order(StringComparer.Ordinal));
            builder.Append(kind).Append(' ').Append(type.FullName).Append(string.Concat(bases.Select((b, i) => (i == 0 ? " : " : ", ") + b))).Append('\n');
            var members = type.GetMembers(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
                .Where(m => m is not MethodInfo { IsSpecialName: true })
                .Select(Describe)
                .Order(StringComparer.Ordinal);
            foreach (var member in members)
            {
                builder.Append("    ").Append(member).Append('\n');
            }
        }

        return builder.ToString();
    }

    private static string Describe(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"ctor({Parameters(c)})",
        MethodInfo m => $"{(m.IsStatic ? "static " : string.Empty)}{TypeName(m.ReturnType)} {m.Name}({Parameters(m)})",
        PropertyInfo p => $"{(p.GetMethod?.IsStatic == true ? "static " : string.Empty)}{TypeName(p.PropertyType)} {p.Name} {{ {(p.GetMethod?.IsPublic == true ? "get; " : string.Empty)}{(p.SetMethod?.IsPublic == true ? "set; " : string.Empty)}}}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : string.Empty)}{TypeName(f.FieldType)} {f.Name}{(f.IsLiteral ? " = " + f.GetRawConstantValue() : string.Empty)}",
        EventInfo e => $"event {TypeName(e.EventHandlerType!)} {e.Name}",
        _ => member.ToString() ?? member.Name,
    };

    private static string Parameters(MethodBase method) =>
        string.Join(", ", method.GetParameters().Select(p => $"{(p.IsDefined(typeof(ParamArrayAttribute)) ? "params " : string.Empty)}{TypeName(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : string.Empty)}"));

    private static string TypeName(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return TypeName(underlying) + "?";
        }

        if (type.IsArray)
        {
            return TypeName(type.GetElementType()!) + "[]";
        }

        if (!type.IsGenericType)
        {
            return type.Name;
        }

        var name = type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>";
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}

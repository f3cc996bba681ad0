using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace SafeSql.Tests.PublicApi;

/// <summary>
/// Renders the public surface of an assembly (what a consumer can see: public types, their public and protected members) as
/// C#-like text, one declaration per line, sorted, so that a committed snapshot shows every API change as a line diff.
/// PublicApiAnalyzers does not restore here; this is its stand-in.
/// </summary>
internal static class PublicApiRenderer
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<Type, string> s_keywords = new()
    {
        [typeof(void)] = "void",
        [typeof(object)] = "object",
        [typeof(string)] = "string",
        [typeof(bool)] = "bool",
        [typeof(byte)] = "byte",
        [typeof(sbyte)] = "sbyte",
        [typeof(char)] = "char",
        [typeof(short)] = "short",
        [typeof(ushort)] = "ushort",
        [typeof(int)] = "int",
        [typeof(uint)] = "uint",
        [typeof(long)] = "long",
        [typeof(ulong)] = "ulong",
        [typeof(float)] = "float",
        [typeof(double)] = "double",
        [typeof(decimal)] = "decimal",
        [typeof(nint)] = "nint",
        [typeof(nuint)] = "nuint",
    };

    public static string Render(Assembly assembly)
    {
        var text = new StringBuilder();
        var types = assembly.GetExportedTypes()
            .Where(IsVisible)
            .OrderBy(t => t.Namespace ?? string.Empty, StringComparer.Ordinal)
            .ThenBy(TypeDisplayName, StringComparer.Ordinal)
            .GroupBy(t => t.Namespace ?? "(global)");
        foreach (var ns in types)
        {
            text.Append("namespace ").Append(ns.Key).Append('\n');
            foreach (var type in ns)
            {
                text.Append("  ").Append(TypeDeclaration(type)).Append('\n');
                // Constructors first, then by member name, then by signature (overloads).
                var members = Members(type)
                    .OrderBy(m => m.Name == ".ctor" ? 0 : 1)
                    .ThenBy(m => m.Name, StringComparer.Ordinal)
                    .ThenBy(m => m.Line, StringComparer.Ordinal);
                foreach (var (_, line) in members)
                {
                    text.Append("    ").Append(line).Append('\n');
                }
            }
        }

        return text.ToString();
    }

    private static bool IsVisible(Type type)
    {
        for (var t = type; t is not null; t = t.DeclaringType)
        {
            if (!(t.IsPublic || t.IsNestedPublic || ((t.IsNestedFamily || t.IsNestedFamORAssem) && t.DeclaringType is { IsSealed: false })))
            {
                return false;
            }
        }

        return true;
    }

    private static string TypeDisplayName(Type type)
    {
        var name = type.IsNested ? TypeDisplayName(type.DeclaringType!) + "." + type.Name : type.Name;
        var tick = name.LastIndexOf('`');
        if (tick >= 0)
        {
            name = name[..tick];
        }

        var own = type.GetGenericArguments().Skip(type.DeclaringType?.GetGenericArguments().Length ?? 0).ToArray();
        return own.Length == 0 ? name : $"{name}<{string.Join(", ", own.Select(a => a.Name))}>";
    }

    private static string TypeDeclaration(Type type)
    {
        var text = new StringBuilder(Attributes(type));
        text.Append(type.IsNestedFamily ? "protected " : "public ");
        if (typeof(Delegate).IsAssignableFrom(type.BaseType) && type.BaseType == typeof(MulticastDelegate))
        {
            var invoke = type.GetMethod("Invoke")!;
            var nullability = new NullabilityInfoContext();
            return text.Append("delegate ").Append(TypeName(invoke.ReturnType, nullability.Create(invoke.ReturnParameter))).Append(' ')
                .Append(TypeDisplayName(type)).Append('(').Append(Parameters(invoke, nullability)).Append(')').ToString();
        }

        if (type.IsEnum)
        {
            text.Append("enum ").Append(TypeDisplayName(type));
            var underlying = Enum.GetUnderlyingType(type);
            return (underlying == typeof(int) ? text : text.Append(" : ").Append(TypeName(underlying, null))).ToString();
        }

        if (type.IsInterface)
        {
            text.Append("interface ");
        }
        else if (type.IsValueType)
        {
            text.Append(type.IsDefined(typeof(IsReadOnlyAttribute)) ? "readonly struct " : "struct ");
        }
        else
        {
            text.Append(type.IsAbstract && type.IsSealed ? "static " : type.IsAbstract ? "abstract " : type.IsSealed ? "sealed " : string.Empty);
            text.Append(type.GetMethod("<Clone>$", Declared) is not null ? "record " : "class ");
        }

        text.Append(TypeDisplayName(type)).Append(Constraints(type.GetGenericArguments()));
        var bases = new List<string>();
        if (type.BaseType is { } baseType && baseType != typeof(object) && baseType != typeof(ValueType))
        {
            bases.Add(TypeName(baseType, null));
        }

        bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Select(i => TypeName(i, null)).Order(StringComparer.Ordinal));
        return bases.Count == 0 ? text.ToString() : text.Append(" : ").Append(string.Join(", ", bases)).ToString();
    }

    private static IEnumerable<(string Name, string Line)> Members(Type type)
    {
        var nullability = new NullabilityInfoContext();
        if (type.IsEnum)
        {
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                yield return (field.Name, $"{Attributes(field)}{field.Name} = {Convert.ToString(field.GetRawConstantValue(), CultureInfo.InvariantCulture)}");
            }

            yield break;
        }

        if (typeof(Delegate).IsAssignableFrom(type))
        {
            yield break;
        }

        foreach (var member in type.GetMembers(Declared))
        {
            if (member.IsDefined(typeof(CompilerGeneratedAttribute)) || member.Name.Contains('<', StringComparison.Ordinal))
            {
                continue;
            }

            switch (member)
            {
                case ConstructorInfo ctor when IsVisible(ctor, type) && !(type.IsAbstract && type.IsSealed):
                    yield return (".ctor", $"{Attributes(ctor)}{Access(ctor)}{(ctor.IsStatic ? "static " : string.Empty)}{TypeDisplayName(type).Split('<')[0].Split('.')[^1]}({Parameters(ctor, nullability)})");
                    break;
                case MethodInfo method when IsVisible(method, type) && (!method.IsSpecialName || method.Name.StartsWith("op_", StringComparison.Ordinal)):
                    yield return (method.Name, Method(method, type, nullability));
                    break;
                case PropertyInfo property when Accessors(property).Any(a => IsVisible(a, type)):
                    yield return (property.Name, Property(property, type, nullability));
                    break;
                case FieldInfo field when IsVisible(field, type):
                    yield return (field.Name, Field(field, nullability));
                    break;
                case EventInfo @event when @event.AddMethod is { } add && IsVisible(add, type):
                    yield return (@event.Name, $"{Attributes(@event)}{Access(add)}{Modifiers(add, type)}event {TypeName(@event.EventHandlerType!, nullability.Create(@event))} {@event.Name}");
                    break;
                case Type nested when IsVisible(nested):
                    // Nested types are listed as types of their own.
                    break;
            }
        }
    }

    private static string Method(MethodInfo method, Type type, NullabilityInfoContext nullability)
    {
        var generic = method.IsGenericMethodDefinition ? $"<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>" : string.Empty;
        var returns = TypeName(method.ReturnType, nullability.Create(method.ReturnParameter));
        var prefix = type.IsInterface ? (method.IsStatic ? "static " : string.Empty) : Access(method) + Modifiers(method, type);
        return $"{Attributes(method)}{prefix}{returns} {method.Name}{generic}({Parameters(method, nullability)}){Constraints(method.GetGenericArguments())}";
    }

    private static string Property(PropertyInfo property, Type type, NullabilityInfoContext nullability)
    {
        var accessor = Accessors(property).First(a => IsVisible(a, type));
        var prefix = type.IsInterface ? string.Empty : Access(accessor) + Modifiers(accessor, type);
        var indexParameters = property.GetIndexParameters();
        var name = indexParameters.Length == 0
            ? property.Name
            : $"this[{string.Join(", ", indexParameters.Select(p => Parameter(p, nullability)))}]";
        var accessors = new List<string>();
        if (property.GetMethod is { } get && IsVisible(get, type))
        {
            accessors.Add("get;");
        }

        if (property.SetMethod is { } set && IsVisible(set, type))
        {
            var init = set.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit));
            accessors.Add(init ? "init;" : "set;");
        }

        return $"{Attributes(property)}{prefix}{TypeName(property.PropertyType, nullability.Create(property))} {name} {{ {string.Join(" ", accessors)} }}";
    }

    private static string Field(FieldInfo field, NullabilityInfoContext nullability)
    {
        var type = TypeName(field.FieldType, nullability.Create(field));
        if (field.IsLiteral)
        {
            return $"{Attributes(field)}{Access(field)}const {type} {field.Name} = {Literal(field.GetRawConstantValue(), field.FieldType)}";
        }

        var modifiers = (field.IsStatic ? "static " : string.Empty) + (field.IsInitOnly ? "readonly " : string.Empty);
        return $"{Attributes(field)}{Access(field)}{modifiers}{type} {field.Name}";
    }

    private static IEnumerable<MethodInfo> Accessors(PropertyInfo property)
        => new[] { property.GetMethod, property.SetMethod }.OfType<MethodInfo>();

    private static bool IsVisible(MethodBase method, Type type)
        => method.IsPublic || ((method.IsFamily || method.IsFamilyOrAssembly) && !type.IsSealed);

    private static bool IsVisible(FieldInfo field, Type type)
        => field.IsPublic || ((field.IsFamily || field.IsFamilyOrAssembly) && !type.IsSealed);

    private static string Access(MethodBase method) => method.IsPublic ? "public " : "protected ";

    private static string Access(FieldInfo field) => field.IsPublic ? "public " : "protected ";

    private static string Modifiers(MethodInfo method, Type type)
    {
        if (method.IsStatic)
        {
            return "static ";
        }

        if (method.IsAbstract)
        {
            return "abstract ";
        }

        if (!method.IsVirtual || (method.IsFinal && method.GetBaseDefinition() == method))
        {
            // Non-virtual, or an interface implementation that is not overridable.
            return string.Empty;
        }

        var isOverride = method.GetBaseDefinition().DeclaringType != method.DeclaringType;
        return isOverride ? (method.IsFinal ? "sealed override " : "override ") : (type.IsSealed ? string.Empty : "virtual ");
    }

    private static string Parameters(MethodBase method, NullabilityInfoContext nullability)
    {
        var parameters = method.GetParameters().Select(p => Parameter(p, nullability)).ToArray();
        if (parameters.Length > 0 && method.IsDefined(typeof(ExtensionAttribute)))
        {
            parameters[0] = "this " + parameters[0];
        }

        return string.Join(", ", parameters);
    }

    private static string Parameter(ParameterInfo parameter, NullabilityInfoContext nullability)
    {
        var text = new StringBuilder(Attributes(parameter));
        var type = parameter.ParameterType;
        if (type.IsByRef)
        {
            text.Append(parameter.IsOut ? "out " : parameter.IsIn ? "in " : "ref ");
            type = type.GetElementType()!;
        }
        else if (parameter.IsDefined(typeof(ParamArrayAttribute)))
        {
            text.Append("params ");
        }

        text.Append(TypeName(type, nullability.Create(parameter))).Append(' ').Append(parameter.Name);
        if (parameter.HasDefaultValue)
        {
            text.Append(" = ").Append(Literal(parameter.RawDefaultValue, type));
        }

        return text.ToString();
    }

    private static string Literal(object? value, Type type) => value switch
    {
        null => type.IsValueType && Nullable.GetUnderlyingType(type) is null ? "default" : "null",
        string s => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
        bool b => b ? "true" : "false",
        char c => $"'{c}'",
        _ when (Nullable.GetUnderlyingType(type) ?? type).IsEnum => $"({TypeName(Nullable.GetUnderlyingType(type) ?? type, null)}){Convert.ToString(value, CultureInfo.InvariantCulture)}",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static string Constraints(Type[] genericArguments)
    {
        var text = new StringBuilder();
        foreach (var argument in genericArguments.Where(a => a.IsGenericParameter))
        {
            var constraints = new List<string>();
            var attributes = argument.GenericParameterAttributes;
            if (attributes.HasFlag(GenericParameterAttributes.ReferenceTypeConstraint))
            {
                constraints.Add("class");
            }

            if (attributes.HasFlag(GenericParameterAttributes.NotNullableValueTypeConstraint))
            {
                constraints.Add("struct");
            }

            constraints.AddRange(argument.GetGenericParameterConstraints().Where(c => c != typeof(ValueType)).Select(c => TypeName(c, null)));
            if (attributes.HasFlag(GenericParameterAttributes.DefaultConstructorConstraint) && !attributes.HasFlag(GenericParameterAttributes.NotNullableValueTypeConstraint))
            {
                constraints.Add("new()");
            }

            if (constraints.Count > 0)
            {
                text.Append(" where ").Append(argument.Name).Append(" : ").Append(string.Join(", ", constraints));
            }
        }

        return text.ToString();
    }

    private static string TypeName(Type type, NullabilityInfo? nullability)
    {
        if (type.IsGenericParameter)
        {
            return type.Name + NullableMark(nullability);
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return TypeName(underlying, nullability?.GenericTypeArguments.FirstOrDefault()) + "?";
        }

        if (type.IsArray)
        {
            return TypeName(type.GetElementType()!, nullability?.ElementType) + "[" + new string(',', type.GetArrayRank() - 1) + "]" + NullableMark(nullability);
        }

        if (type.IsByRef || type.IsPointer)
        {
            return TypeName(type.GetElementType()!, nullability) + (type.IsPointer ? "*" : string.Empty);
        }

        if (s_keywords.TryGetValue(type, out var keyword))
        {
            return keyword + (type.IsValueType ? string.Empty : NullableMark(nullability));
        }

        var name = type.IsNested ? TypeName(type.DeclaringType!, null).Split('<')[0] + "." + type.Name : $"{type.Namespace}.{type.Name}";
        var tick = name.LastIndexOf('`');
        if (tick >= 0)
        {
            name = name[..tick];
        }

        if (type.IsGenericType)
        {
            var arguments = type.GetGenericArguments();
            var argumentNullability = nullability?.GenericTypeArguments;
            var rendered = arguments.Select((a, i) => TypeName(a, argumentNullability is { Length: > 0 } n && i < n.Length ? n[i] : null));
            name += "<" + string.Join(", ", rendered) + ">";
        }

        return name + (type.IsValueType ? string.Empty : NullableMark(nullability));
    }

    private static string NullableMark(NullabilityInfo? nullability)
        => nullability is { ReadState: NullabilityState.Nullable } or { ReadState: NullabilityState.Unknown, WriteState: NullabilityState.Nullable } ? "?" : string.Empty;

    private static string Attributes(ICustomAttributeProvider provider)
    {
        var text = new StringBuilder();
        foreach (var attribute in provider.GetCustomAttributes(false))
        {
            switch (attribute)
            {
                case ObsoleteAttribute obsolete:
                    text.Append(CultureInfo.InvariantCulture, $"[Obsolete(\"{obsolete.Message}\"{(obsolete.IsError ? ", true" : string.Empty)})] ");
                    break;
                case System.Diagnostics.CodeAnalysis.ExperimentalAttribute experimental:
                    text.Append(CultureInfo.InvariantCulture, $"[Experimental(\"{experimental.DiagnosticId}\")] ");
                    break;
                case FlagsAttribute:
                    text.Append("[Flags] ");
                    break;
                case System.Runtime.CompilerServices.CallerMemberNameAttribute:
                    text.Append("[CallerMemberName] ");
                    break;
                case System.Runtime.CompilerServices.CallerFilePathAttribute:
                    text.Append("[CallerFilePath] ");
                    break;
                case System.Runtime.CompilerServices.CallerLineNumberAttribute:
                    text.Append("[CallerLineNumber] ");
                    break;
            }
        }

        return text.ToString();
    }
}

using System.Globalization;
using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.IL;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using MusicGen.Kernels.Ilgpu;

namespace MusicGen.Tests.Backends;

/// <summary>
/// Every ILGPU kernel through ILGPU's PTX backend for an H100/H200 (sm_90, PTX ISA 7.8, the oldest driver that knows
/// sm_90), as the CUDA accelerator compiles them, without a GPU: what CI can check of the CUDA path short of running it.
/// </summary>
public sealed class IlgpuPtxTests
{
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var method in KernelMethods()) data.Add(Describe(method));
        return data;
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void The_kernel_compiles_to_ptx_for_sm_90(string kernel)
    {
        var method = KernelMethods().Single(m => Describe(m) == kernel);
        using var context = PtxContext();
        using var backend = PtxBackend(context);
        var compiled = Compile(backend, method);
        // ILGPU targets the lowest architecture that has the capabilities the kernels use (sm_80 for all of ours),
        // which the driver compiles for the sm_90 device: PTX runs on every later architecture.
        var target = Regex.Match(compiled.PTXAssembly, @"^\.target sm_(\d+)", RegexOptions.Multiline);
        Assert.True(target.Success && int.Parse(target.Groups[1].Value, CultureInfo.InvariantCulture) <= 90, compiled.PTXAssembly[..Math.Min(200, compiled.PTXAssembly.Length)]);
        Assert.Contains(".entry", compiled.PTXAssembly);
    }

    /// <summary>
    /// What the CUDA accelerator passes is what the PTX reads: every ld.param of every kernel, compiled one after
    /// another in one context as an accelerator compiles them, against the argument buffer ILGPU's launcher fills
    /// (its PTXArgumentMapper). On an H100 the tiled product over float32 weights read its sizes 4 bytes early, so
    /// the decoder's prompt-shaped products wrote nothing: ILGPU had laid the weight struct inside LinearOperands out
    /// without the trailing padding .NET gives it, after compiling other kernels (alone, it laid it out right). The
    /// CPU accelerator passes .NET values as they are and never shows it.
    /// </summary>
    [Fact]
    public void Every_kernel_reads_its_arguments_where_the_cuda_launcher_writes_them()
    {
        var problems = Layouts().SelectMany(layout => layout.Mismatches()).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>
    /// The rule that keeps the layouts above from depending on which kernels ILGPU compiled first: a struct inside a
    /// kernel argument has no padding (each field where the one before ends, nothing after the last), and an
    /// argument that ends in padding is followed by none that the padding could shift (one aligned as finely).
    /// </summary>
    [Fact]
    public void No_struct_inside_a_kernel_argument_has_padding()
    {
        var problems = Layouts().SelectMany(layout => layout.NestedPadding().Concat(layout.PaddingBeforeANarrowerArgument())).Distinct().ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static Context PtxContext() => Context.Create(builder => builder.EnableAlgorithms().Optimize(OptimizationLevel.O1));

    private static PTXBackend PtxBackend(Context context) => new(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_78, nvvmAPI: null!);

    private static PTXCompiledKernel Compile(PTXBackend backend, MethodInfo method)
    {
        bool implicitlyGrouped = method.GetParameters()[0].ParameterType is var first
            && (first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D));
        var entry = implicitlyGrouped ? EntryPointDescription.FromImplicitlyGroupedKernel(method) : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        return (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
    }

    /// <summary>Every kernel compiled in one context, in order, with the argument buffer its CUDA launcher builds.</summary>
    private static List<KernelLayout> Layouts()
    {
        using var context = PtxContext();
        using var backend = PtxBackend(context);
        var entryPointOf = typeof(CompiledKernel).GetProperty("EntryPoint", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new InvalidOperationException("ILGPU's CompiledKernel no longer has an EntryPoint property: update this test");
        var layouts = new List<KernelLayout>();
        foreach (var method in KernelMethods())
        {
            var compiled = Compile(backend, method);
            var launcher = new DynamicMethod("launcher", typeof(void), Type.EmptyTypes);
            var (buffer, _) = backend.ArgumentMapper.Map(new ILEmitter(launcher.GetILGenerator()), (EntryPoint)entryPointOf.GetValue(compiled)!);
            layouts.Add(new KernelLayout(Describe(method), compiled.PTXAssembly, buffer.VariableType));
        }
        return layouts;
    }

    /// <summary>A kernel's PTX and the type of the argument buffer its launcher fills (one field per parameter).</summary>
    private sealed record KernelLayout(string Kernel, string Ptx, Type Buffer)
    {
        /// <summary>Each ld.param whose bytes are not one primitive field of the buffer of the same width.</summary>
        public IEnumerable<string> Mismatches()
        {
            var fields = new Dictionary<int, int>(); // offset in the buffer -> bytes of the primitive there
            Flatten(Buffer, 0, fields);
            int entry = Ptx.IndexOf(".entry", StringComparison.Ordinal);
            string header = Ptx[entry..Ptx.IndexOf('{', entry)];
            // The driver places the parameters one after another, each at a multiple of its alignment.
            var starts = new Dictionary<string, int>();
            int end = 0;
            foreach (Match p in Regex.Matches(header, @"\.param\s+(?:\.align\s+(\d+)\s+)?\.[bsuf](\d+)\s+(\w+)(?:\[(\d+)\])?"))
            {
                int bits = Int(p.Groups[2]), align = p.Groups[1].Success ? Int(p.Groups[1]) : bits / 8;
                end = (end + align - 1) / align * align;
                starts[p.Groups[3].Value] = end;
                end += p.Groups[4].Success ? Int(p.Groups[4]) : bits / 8;
            }
            foreach (Match load in Regex.Matches(Ptx, @"ld\.param\.(?:v(\d)\.)?[bsuf](\d+)\s+[^\[]*\[(\w+)(?:\+(\d+))?\]"))
            {
                int count = load.Groups[1].Success ? Int(load.Groups[1]) : 1, width = Int(load.Groups[2]) / 8;
                int at = starts[load.Groups[3].Value] + (load.Groups[4].Success ? Int(load.Groups[4]) : 0);
                for (int i = 0; i < count; i++)
                    if (!fields.TryGetValue(at + i * width, out int bytes) || bytes != width)
                        yield return $"{Kernel}: `{load.Value.Trim()}` reads {width} bytes at {at + i * width}, where the launcher writes "
                            + (fields.TryGetValue(at + i * width, out bytes) ? $"a {bytes}-byte field" : "no field");
            }
        }

        /// <summary>The structs inside the buffer's parameters whose size is more than their fields'.</summary>
        public IEnumerable<string> NestedPadding() =>
            Buffer.GetFields(BindingFlags.Public | BindingFlags.Instance).SelectMany(parameter =>
                StructFields(parameter.FieldType).SelectMany(field => Padded(field.FieldType, $"{Kernel}: {field.Name}")));

        /// <summary>Arguments that end in padding followed by an argument aligned more finely than they are.</summary>
        public IEnumerable<string> PaddingBeforeANarrowerArgument()
        {
            var arguments = Buffer.GetFields(BindingFlags.Public | BindingFlags.Instance);
            for (int i = 0; i + 1 < arguments.Length; i++)
            {
                var (type, next) = (arguments[i].FieldType, arguments[i + 1].FieldType);
                int fields = IsStruct(type) ? StructFields(type).Sum(f => SizeOf(f.FieldType)) : SizeOf(type);
                if (fields != SizeOf(type) && Alignment(next) < Alignment(type))
                    yield return $"{Kernel}: {arguments[i].Name} ends in {SizeOf(type) - fields} bytes of padding before {arguments[i + 1].Name}, aligned to {Alignment(next)}";
            }
        }

        private static int Alignment(Type type) =>
            IsStruct(type) ? StructFields(type).Select(f => Alignment(f.FieldType)).DefaultIfEmpty(1).Max() : SizeOf(type);

        private static IEnumerable<string> Padded(Type type, string where)
        {
            if (!IsStruct(type)) yield break;
            int fields = StructFields(type).Sum(f => SizeOf(f.FieldType));
            if (SizeOf(type) != fields) yield return $"{where} is {SizeOf(type)} bytes for {fields} bytes of fields";
            foreach (var field in StructFields(type))
                foreach (var problem in Padded(field.FieldType, $"{where}.{field.Name}")) yield return problem;
        }

        private static void Flatten(Type type, int offset, Dictionary<int, int> into)
        {
            foreach (var field in StructFields(type))
            {
                int at = offset + (int)Marshal.OffsetOf(type, field.Name);
                if (IsStruct(field.FieldType)) Flatten(field.FieldType, at, into);
                else into[at] = SizeOf(field.FieldType);
            }
        }

        private static bool IsStruct(Type type) => type.IsValueType && !type.IsPrimitive && !type.IsPointer && !type.IsEnum;

        private static FieldInfo[] StructFields(Type type) =>
            IsStruct(type) ? type.GetFields(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance) : [];

        private static int SizeOf(Type type) =>
            type.IsPointer ? IntPtr.Size : (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(type).Invoke(null, null)!;

        private static int Int(System.Text.RegularExpressions.Group group) => int.Parse(group.Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The public kernels of IlgpuKernels, a generic one once per struct that meets its type parameter's constraints
    /// (the products per operand kind and weight type, attention per cache element type).
    /// </summary>
    private static IEnumerable<MethodInfo> KernelMethods()
    {
        var structs = Structs().ToArray();
        var kernels = typeof(IlgpuBackend).Assembly.GetType("MusicGen.Kernels.Ilgpu.IlgpuKernels")!
            .GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly);
        foreach (var method in kernels)
        {
            if (!method.IsGenericMethodDefinition)
            {
                yield return method;
                continue;
            }
            foreach (var argument in structs.Where(t => Satisfies(t, method.GetGenericArguments()[0])))
                yield return method.MakeGenericMethod(argument);
        }
    }

    /// <summary>
    /// The backend's structs, a generic one (the linear operands over a weight matrix) once per struct that meets its
    /// type parameter's constraints.
    /// </summary>
    private static IEnumerable<Type> Structs()
    {
        var all = typeof(IlgpuBackend).Assembly.GetTypes().Where(t => t.IsValueType && !t.IsEnum).ToArray();
        var closed = all.Where(t => !t.IsGenericTypeDefinition).ToArray();
        foreach (var type in closed) yield return type;
        foreach (var generic in all.Where(t => t.IsGenericTypeDefinition && t.GetGenericArguments().Length == 1))
            foreach (var argument in closed.Where(t => Satisfies(t, generic.GetGenericArguments()[0])))
                yield return generic.MakeGenericType(argument);
    }

    private static bool Satisfies(Type argument, Type parameter) =>
        parameter.GetGenericParameterConstraints().Where(c => c.IsInterface).All(c => c.IsAssignableFrom(argument));

    private static string Describe(MethodInfo method) =>
        method.Name + (method.IsGenericMethod ? $"<{Describe(method.GetGenericArguments()[0])}>" : "");

    private static string Describe(Type type) =>
        type.IsGenericType ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(Describe))}>" : type.Name;
}

using System.Reflection;
using ILGPU;
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
        using var context = Context.Create(builder => builder.EnableAlgorithms().Optimize(OptimizationLevel.O1));
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_78, nvvmAPI: null!);
        bool implicitlyGrouped = method.GetParameters()[0].ParameterType is var first
            && (first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D));
        var entry = implicitlyGrouped ? EntryPointDescription.FromImplicitlyGroupedKernel(method) : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        // ILGPU targets the lowest architecture that has the capabilities the kernels use (sm_80 for all of ours),
        // which the driver compiles for the sm_90 device: PTX runs on every later architecture.
        var target = System.Text.RegularExpressions.Regex.Match(compiled.PTXAssembly, @"^\.target sm_(\d+)", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(target.Success && int.Parse(target.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) <= 90, compiled.PTXAssembly[..Math.Min(200, compiled.PTXAssembly.Length)]);
        Assert.Contains(".entry", compiled.PTXAssembly);
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

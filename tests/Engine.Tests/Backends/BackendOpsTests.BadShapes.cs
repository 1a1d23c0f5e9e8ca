using System.Reflection;
using MusicGen.Engine.Backends;
using MusicGen.Engine.Backends.Cpu;
using MusicGen.Engine.Tensors;
using MusicGen.Kernels.Ilgpu;
using MusicGen.Kernels.OpenCl;
using MusicGen.Loaders.Checkpoints;
using MusicGen.Tests.Support;

namespace MusicGen.Tests.Backends;

/// <summary>
/// Each operation with tensor arguments, given one mis-shaped tensor, is refused by its contract before the backend
/// writes anything: the checking front (<see cref="CheckedBackend"/>) every backend implements the interface through.
/// </summary>
public abstract partial class BackendOpsTests
{
    /// <summary>What an output holds before a refused call, and must still hold after it.</summary>
    private const float Untouched = 7f;

    /// <summary>
    /// One call per operation of <see cref="IBackend"/> with tensor arguments, one of its tensors mis-shaped, and the
    /// contract whose message names the refusal (PaddedConv1d is checked as Conv1d with padding).
    /// </summary>
    internal static readonly Dictionary<string, (string Contract, Action<BadCall> Call)> BadCalls = new()
    {
        ["Upload"] = ("Upload", c => c.Backend.Upload(new float[5], c.Output(2, 3))),
        ["Download"] = ("Download", c => c.Backend.Download(c.Input(2, 3), c.HostOutput(5))),
        ["Linear"] = ("Linear", c => c.Backend.Linear(c.Input(2, 7), c.Input(3, 8), null, c.Output(2, 3))),
        ["LayerNormLinear"] = ("LayerNormLinear (norm)", c => c.Backend.LayerNormLinear(c.Input(2, 8), c.Input(7), null, 1e-5f, c.Input(3, 8), null, c.Output(2, 3))),
        ["Conv1d"] = ("Conv1d", c => c.Backend.Conv1d(c.Input(1, 2, 10), c.Input(3, 2, 3), null, c.Output(1, 3, 9), 1, 1)),
        ["PaddedConv1d"] = ("Conv1d", c => c.Backend.PaddedConv1d(c.Input(1, 2, 10), c.Input(3, 2, 3), null, c.Output(1, 3, 9), 1, 1, 1, 1, PadMode.Zero)),
        ["ConvTranspose1d"] = ("ConvTranspose1d", c => c.Backend.ConvTranspose1d(c.Input(1, 2, 5), c.Input(23), null, c.Output(1, 3, 8), 2, 4, 1)),
        ["Pad1d"] = ("Pad1d", c => c.Backend.Pad1d(c.Input(2, 5), c.Output(2, 8), 1, 1, PadMode.Reflect)),
        ["ResidualUnit"] = ("ResidualUnit", c => c.Backend.ResidualUnit(c.Input(1, 2, 6), c.Input(1, 2, 3), c.Input(1), c.Input(2, 2, 1), c.Input(2),
            c.Output(1, 2, 6), 1, 1, 1, PadMode.Zero)),
        ["LayerNorm"] = ("LayerNorm", c => c.Backend.LayerNorm(c.Input(2, 4), c.Input(5), null, c.Output(2, 4), 1e-5f)),
        ["RmsNorm"] = ("RmsNorm", c => c.Backend.RmsNorm(c.Input(2, 4), c.Input(5), c.Output(2, 4), 1e-5f)),
        ["Softmax"] = ("Softmax", c => c.Backend.Softmax(c.Input(2, 4), c.Output(2, 3))),
        ["Activation"] = ("Activation", c => c.Backend.Activation(c.Input(2, 4), c.Output(9), ActivationKind.Relu)),
        ["Add"] = ("Add", c => c.Backend.Add(c.Input(8), c.Input(7), c.Output(8))),
        ["Multiply"] = ("Multiply", c => c.Backend.Multiply(c.Input(8), c.Input(7), c.Output(8))),
        ["ScaleRows"] = ("ScaleRows", c => c.Backend.ScaleRows(c.Input(2, 4), [1f, 2f, 3f], c.Output(2, 4))),
        ["Gather"] = ("Gather", c => c.Backend.Gather(c.Input(5, 4), [1, 2], c.Output(3, 4))),
        ["Attention"] = ("Attention", c => c.Backend.Attention(c.Input(1, 2, 8), c.Input(1, 3, 8), c.Input(1, 3, 6), c.Output(1, 2, 8),
            new AttentionOptions(2, 1f, 3))),
        ["AppendAndAttend"] = ("AppendAndAttend", c => c.Backend.AppendAndAttend(c.Input(1, 2, 8), c.Input(1, 3, 8), c.Input(1, 2, 8), c.Input(1, 4, 8),
            c.Input(1, 4, 8), c.Output(1, 2, 8), new AttentionOptions(2, 1f, 4, true, 2))),
        ["NearestCodes"] = ("NearestCodes", c => c.Backend.NearestCodes(c.Input(3, 4), c.Input(5, 3), c.Codes(3))),
        ["SampleCodes"] = ("SampleCodes", c => c.Backend.SampleCodes(c.Input(3, 4), 4, new SamplingRule(true, 3f, false, 1f, 0, 1f), [0.5f, 0.5f, 0.5f], c.Codes(3))),
        ["LstmStep"] = ("LstmStep", c => c.Backend.LstmStep(c.Input(1, 2, 8), c.Input(8, 2), c.Output(1, 2), c.Output(1, 2, 3), 0)),
        ["CopyBlocks"] = ("CopyBlocks", c => c.Backend.CopyBlocks(c.Input(8), 0, 4, c.Output(8), 0, 4, 4, 3)),
        ["Transpose"] = ("Transpose", c => c.Backend.Transpose(c.Input(1, 2, 3), c.Output(1, 2, 3))),
    };

    public static TheoryData<string> OperationsWithTensorArguments() => new(BadCalls.Keys);

    [SkippableTheory]
    [MemberData(nameof(OperationsWithTensorArguments))]
    public void A_mis_shaped_tensor_is_refused_by_the_operations_contract_and_leaves_the_output_untouched(string operation)
    {
        SkipUnlessAvailable();
        var (contract, call) = BadCalls[operation];
        using var bad = new BadCall(Backend);
        var refusal = Assert.ThrowsAny<ArgumentException>(() => call(bad));
        Assert.StartsWith(contract, refusal.Message);
        bad.AssertOutputsUntouched();
    }

    [SkippableFact]
    public void A_tensor_over_the_backends_element_limit_is_refused_before_it_is_allocated()
    {
        SkipUnlessAvailable();
        int[] shape = [65536, 65536]; // 2³² elements: more than an array or a 32-bit index reaches
        Assert.True(ShapeCount(shape) > Backend.Capabilities.MaxElements, $"{Backend.Capabilities}");
        var before = Backend.Memory;
        foreach (var allocate in new Func<Tensor>[] { () => Backend.Allocate(shape), () => Backend.AllocateUninitialized(shape),
                     () => Backend.AllocateCache(WeightType.F16, shape) })
            Assert.Contains("exceeds", Assert.Throws<ArgumentException>(allocate).Message);
        Assert.Equal(before, Backend.Memory);
    }

    [SkippableFact]
    public void Attention_refuses_a_head_wider_than_the_backend_accumulates()
    {
        SkipUnlessAvailable();
        int limit = Backend.Capabilities.MaxHeadDimension;
        Skip.If(limit > 4096, $"{Backend.Name} accumulates heads of any width");
        using var bad = new BadCall(Backend);
        var refusal = Assert.Throws<NotSupportedException>(() =>
            Backend.Attention(bad.Input(1, 1, limit + 1), bad.Input(1, 2, limit + 1), bad.Input(1, 2, limit + 1), bad.Output(1, 1, limit + 1),
                new AttentionOptions(1, 1f, 2)));
        Assert.StartsWith("Attention: head dimension", refusal.Message);
        bad.AssertOutputsUntouched();
    }

    private static long ShapeCount(int[] shape) => shape.Aggregate(1L, (count, size) => count * size);

    /// <summary>The tensors of one mis-shaped call, outputs filled with <see cref="Untouched"/>, all disposed after it.</summary>
    internal sealed class BadCall(IBackend backend) : IDisposable
    {
        private readonly List<Tensor> _tensors = [];
        private readonly List<Tensor> _outputs = [];
        private readonly List<float[]> _hostOutputs = [];
        private readonly List<int[]> _codes = [];

        public IBackend Backend => backend;

        public Tensor Input(params int[] shape) => Keep(backend.Upload(RandomData.Uniform(_tensors.Count, (int)ShapeCount(shape)), shape));

        public Tensor Output(params int[] shape)
        {
            var output = Keep(backend.Upload(Enumerable.Repeat(Untouched, (int)ShapeCount(shape)).ToArray(), shape));
            _outputs.Add(output);
            return output;
        }

        public float[] HostOutput(int length)
        {
            var output = Enumerable.Repeat(Untouched, length).ToArray();
            _hostOutputs.Add(output);
            return output;
        }

        public int[] Codes(int length)
        {
            var codes = Enumerable.Repeat((int)Untouched, length).ToArray();
            _codes.Add(codes);
            return codes;
        }

        public void AssertOutputsUntouched()
        {
            Assert.NotEmpty(_outputs.Concat<object>(_hostOutputs).Concat(_codes));
            foreach (var output in _outputs) Assert.All(output.ToArray(), value => Assert.Equal(Untouched, value));
            foreach (var output in _hostOutputs) Assert.All(output, value => Assert.Equal(Untouched, value));
            foreach (var codes in _codes) Assert.All(codes, code => Assert.Equal((int)Untouched, code));
        }

        private Tensor Keep(Tensor tensor)
        {
            _tensors.Add(tensor);
            return tensor;
        }

        public void Dispose()
        {
            foreach (var tensor in _tensors) tensor.Dispose();
        }
    }
}

/// <summary>Every operation reaches the checking front, and every one that takes tensors has a mis-shaped call above.</summary>
public sealed class CheckingFrontTests
{
    [Fact]
    public void Every_operation_with_tensor_arguments_has_a_mis_shaped_call()
    {
        var operations = typeof(IBackend).GetMethods()
            .Where(method => method.GetParameters().Any(parameter => parameter.ParameterType == typeof(Tensor)))
            .Select(method => method.Name).ToHashSet();
        Assert.Equal(operations.Order(), BackendOpsTests.BadCalls.Keys.Order());
    }

    [Fact]
    public void Every_backend_implements_each_operation_through_the_checking_front()
    {
        Type[] backends = [typeof(CpuBackend), typeof(OpenClBackend), typeof(IlgpuBackend)];
        var implementations = backends.Select(type => type.Assembly).Distinct()
            .SelectMany(assembly => assembly.GetTypes())
            .Where(type => typeof(IBackend).IsAssignableFrom(type) && !type.IsAbstract && !type.IsInterface).ToList();
        Assert.Equal(backends.Order(TypeNames), implementations.Order(TypeNames));
        foreach (var type in implementations)
        {
            var map = type.GetInterfaceMap(typeof(IBackend));
            var checkedOperations = Enumerable.Range(0, map.InterfaceMethods.Length).Where(i => CheckedByTheFront(map.InterfaceMethods[i])).ToList();
            Assert.True(checkedOperations.Count > BackendOpsTests.BadCalls.Count, $"{type.Name}: {checkedOperations.Count} checked operations");
            foreach (int i in checkedOperations)
                Assert.True(map.TargetMethods[i].DeclaringType == typeof(CheckedBackend),
                    $"{type.Name} implements IBackend.{map.InterfaceMethods[i].Name} outside {nameof(CheckedBackend)}");
        }
    }

    private static readonly Comparer<Type> TypeNames = Comparer<Type>.Create((a, b) => string.CompareOrdinal(a.FullName, b.FullName));

    /// <summary>Whether <see cref="CheckedBackend"/> checks the interface method (rather than leaving it abstract).</summary>
    private static bool CheckedByTheFront(MethodInfo method) =>
        typeof(CheckedBackend).GetMethod(method.Name, method.GetParameters().Select(p => p.ParameterType).ToArray()) is { IsAbstract: false };
}

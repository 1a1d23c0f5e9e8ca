namespace MusicGen.Engine.Backends;

/// <summary>
/// What a backend can do, asked before an operation instead of learned from its refusal or from the backend's type.
/// Every backend holds f32, f16 and q8 key/value caches (<see cref="IBackend.AllocateCache"/>) and every packed
/// weight type (<see cref="IBackend.UploadPacked"/>).
/// </summary>
/// <param name="OnHost">
/// Tensors live in host memory and operations run on the host: nothing is launched or waited for, and the host's
/// memory bandwidth bounds a decoding step.
/// </param>
/// <param name="IntegerProducts">
/// q8 and q4 weights are multiplied with 8-bit integer dot products, against activations rounded to 8 bits per block
/// of 32, instead of float32 ones: the products differ from the decoded weights' by that rounding.
/// </param>
/// <param name="MaxHeadDimension">The largest head dimension (width / heads) <see cref="IBackend.Attention"/> accumulates.</param>
/// <param name="MaxElements">The most elements one tensor holds.</param>
public sealed record BackendCapabilities(bool OnHost, bool IntegerProducts, int MaxHeadDimension, long MaxElements);

using System.Diagnostics;
using System.Reflection;
using DataAttribute = Xunit.Sdk.DataAttribute;

// Runs every [Fact] and [Theory] row of the named test classes (by default the ILGPU backend's op contract and its
// consistency with the CPU backend), each class with the fixtures its constructor takes, and prints one line per
// failure and the counts. IlgpuFixture opens the device MUSICGEN_ILGPU_DEVICE names; OpenClFixture OpenCL device 0.
string[] classes = args.Length > 0 ? args : ["IlgpuBackendOpsTests", "IlgpuConsistencyTests"];
var fixtures = new Dictionary<Type, object>();
int passed = 0, failed = 0, skipped = 0;
foreach (var type in typeof(Program).Assembly.GetTypes().Where(t => classes.Contains(t.Name)).OrderBy(t => t.Name))
{
    var constructor = type.GetConstructors().Single();
    var arguments = constructor.GetParameters().Select(p => Fixture(p.ParameterType)).ToArray();
    foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance).OrderBy(m => m.Name))
    {
        if (method.GetCustomAttribute<FactAttribute>(inherit: true) is not { } fact) continue;
        var rows = fact is TheoryAttribute
            ? method.GetCustomAttributes<DataAttribute>(inherit: true).SelectMany(data => data.GetData(method)).ToList()
            : [Array.Empty<object>()];
        foreach (var row in rows)
        {
            var clock = Stopwatch.StartNew();
            var instance = constructor.Invoke(arguments);
            try
            {
                method.Invoke(instance, row);
                passed++;
            }
            catch (TargetInvocationException e) when (e.InnerException is SkipException or Xunit.Sdk.SkipException)
            {
                skipped++;
            }
            catch (TargetInvocationException e)
            {
                failed++;
                string message = (e.InnerException ?? e).Message.ReplaceLineEndings(" ");
                Console.WriteLine($"FAIL {type.Name}.{method.Name}({string.Join(", ", row)}) ({clock.Elapsed.TotalSeconds:F1} s): "
                    + message[..Math.Min(message.Length, 600)]);
            }
            finally
            {
                (instance as IDisposable)?.Dispose();
            }
        }
    }
}
foreach (var fixture in fixtures.Values) (fixture as IDisposable)?.Dispose();
Console.WriteLine($"optests: {passed} passed, {failed} failed, {skipped} skipped ({string.Join(", ", classes)})");
return failed == 0 && passed > 0 ? 0 : 1;

object Fixture(Type type)
{
    if (!fixtures.TryGetValue(type, out var fixture)) fixtures[type] = fixture = Activator.CreateInstance(type)!;
    return fixture;
}

using System.IO.Compression;
using System.Xml.Linq;

namespace MusicGen.Tests.Packaging;

/// <summary>The NuGet packages, and the README's C# program built against them and run on a golden checkpoint.</summary>
public sealed class PackageTests(PackedLibraries packed) : IClassFixture<PackedLibraries>
{
    [Fact]
    public void Each_package_has_its_metadata_readme_and_xml_documentation_and_depends_on_packages()
    {
        foreach (string id in PackedLibraries.Ids)
        {
            using var package = ZipFile.OpenRead(packed.Package(id));
            var files = package.Entries.Select(e => e.FullName).ToHashSet();
            Assert.Contains("README.md", files);
            Assert.Contains($"lib/net10.0/{id}.dll", files);
            Assert.Contains($"lib/net10.0/{id}.xml", files);
            // Project references become package dependencies, not assemblies copied in.
            Assert.Single(files, f => f.EndsWith(".dll", StringComparison.Ordinal));

            var nuspec = XDocument.Load(package.GetEntry($"{id}.nuspec")!.Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            string Field(string name) => metadata.Element(ns + name)?.Value ?? "";
            Assert.Equal(id, Field("id"));
            Assert.Equal(packed.Version, Field("version"));
            Assert.True(Field("description").Length > 40, $"{id} has no real description");
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.Contains("musicgen", Field("tags"));
            Assert.Equal("git", metadata.Element(ns + "repository")?.Attribute("type")?.Value);
            var dependencies = metadata.Descendants(ns + "dependency").Select(d => (d.Attribute("id")!.Value, d.Attribute("version")!.Value)).ToArray();
            if (id == "MusicGen.Engine") Assert.Contains(("MusicGen.Loaders", packed.Version), dependencies);
            // Datasets (with Parquet) and verification are the CLI's, not the library user's.
            Assert.DoesNotContain(dependencies, d => d.Item1.StartsWith("Parquet", StringComparison.Ordinal));
            if (id == "MusicGen.Kernels") Assert.Contains(("MusicGen.Engine", packed.Version), dependencies);
            if (id == "MusicGen.Extensions.AI") Assert.Contains(("MusicGen.Kernels", packed.Version), dependencies);
        }

        using var engine = ZipFile.OpenRead(packed.Package("MusicGen.Engine"));
        var documentation = XDocument.Load(engine.GetEntry("lib/net10.0/MusicGen.Engine.xml")!.Open());
        var documented = documentation.Descendants("member").Select(m => m.Attribute("name")!.Value).ToHashSet();
        foreach (string type in new[] { "MusicgenPipeline", "MusicRequest", "MusicResult", "GenerationProgress", "GenerationPlan" })
            Assert.Contains($"T:MusicGen.Engine.{type}", documented);
        Assert.Contains("T:MusicGen.Engine.Audio.AudioBatch", documented);
        Assert.Contains("T:MusicGen.Engine.Codec.CodesBatch", documented);
    }

    [Fact]
    public void The_readme_program_builds_against_the_packages_and_writes_music()
    {
        string project = Path.Combine(packed.Scratch, "readme");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Program.cs"), ReadmeProgram());
        File.WriteAllText(Path.Combine(project, "Readme.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="MusicGen.Kernels" Version="{packed.Version}" />
              </ItemGroup>
            </Project>
            """);
        // The packages come from the fresh feed; the others from the packages the tests themselves were restored with.
        string globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(project, "nuget.config"), $"""
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(packed.Scratch, "packages")}" /></config>
              <packageSources><clear /><add key="packed" value="{packed.Feed}" /><add key="nuget.org" value="https://api.nuget.org/v3/index.json" /></packageSources>
              <fallbackPackageFolders><clear /><add key="tests" value="{globalPackages}" /></fallbackPackageFolders>
            </configuration>
            """);

        Dotnet.Run(project, "build", "-c", "Release", "-p:ImportDirectoryBuildProps=false", "-p:ImportDirectoryBuildTargets=false");
        string output = Dotnet.Run(project, Path.Combine(project, "bin", "Release", "net10.0", "Readme.dll"),
            Path.Combine(TestPaths.Golden("musicgen-mono"), "model"));

        Assert.Contains("seed", output);
        foreach (string song in new[] { "song-1.wav", "song-2.wav" })
        {
            var clip = Engine.Audio.WavFile.Read(Path.Combine(project, song));
            Assert.Equal(5 * 32000, clip.Length);
        }
    }

    /// <summary>The C# code block of the README's "Use it from C#" section.</summary>
    private static string ReadmeProgram()
    {
        string readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md"));
        int section = readme.IndexOf("## Use it from C#", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no \"Use it from C#\" section");
        int start = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        return readme[start..end];
    }
}

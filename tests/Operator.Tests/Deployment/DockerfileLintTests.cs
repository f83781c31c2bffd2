using System.Text.RegularExpressions;

namespace Operator.Tests.Deployment;

/// <summary>
/// Docker cannot run here, so deploy/Dockerfile is linted by reading it for the essentials:
/// pinned base images, no downloads outside the package manager, the capability list, and a
/// runtime stage that either drops root or says why not.
/// </summary>
public sealed partial class DockerfileLintTests
{
    private static readonly string[] Lines = File.ReadAllLines(DeployFiles.Dockerfile);

    [GeneratedRegex(@"^\s*FROM\s+(?:--platform=\S+\s+)?(?<image>\S+)(?:\s+AS\s+(?<stage>\S+))?", RegexOptions.IgnoreCase)]
    private static partial Regex From();

    private static IEnumerable<(string Image, string? Stage, int Line)> Stages() =>
        Lines.Select((line, i) => (Match: From().Match(line), Line: i))
            .Where(x => x.Match.Success)
            .Select(x => (x.Match.Groups["image"].Value, x.Match.Groups["stage"].Success ? x.Match.Groups["stage"].Value : null, x.Line));

    [Fact]
    public void Every_base_image_is_pinned_to_a_version_or_digest()
    {
        var stages = Stages().ToList();
        Assert.True(stages.Count >= 2, "expected a multi-stage build");
        var names = stages.Select(s => s.Stage).OfType<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (image, _, line) in stages)
        {
            if (names.Contains(image))
                continue; // FROM an earlier stage
            Assert.DoesNotContain("$", image); // an ARG default would hide the pin from review
            bool digest = Regex.IsMatch(image, "@sha256:[0-9a-f]{64}$");
            string tag = image.Contains(':') ? image[(image.LastIndexOf(':') + 1)..] : "";
            // A tag that pins: it carries a numbered version (12.11-slim, 10.0.100-noble), not latest or a bare codename.
            bool versionTag = tag.Length > 0 && !tag.Contains('/') && Regex.IsMatch(tag, @"^\d+(\.\d+)+") && !tag.Contains("latest");
            Assert.True(digest || versionTag, $"Dockerfile line {line + 1}: base image {image} is not pinned to a version tag or digest");
        }
    }

    [Fact]
    public void Nothing_is_downloaded_outside_the_package_manager()
    {
        foreach (var (line, i) in Lines.Select((l, i) => (l, i)))
        {
            string code = line.Split('#')[0];
            Assert.False(Regex.IsMatch(code, @"\b(curl|wget)\b"), $"Dockerfile line {i + 1}: {line.Trim()}");
            Assert.False(Regex.IsMatch(code, @"^\s*ADD\s+https?://", RegexOptions.IgnoreCase), $"Dockerfile line {i + 1}: ADD of a URL");
        }
    }

    [Fact]
    public void The_build_runs_the_same_steps_as_build_sh_and_the_runtime_carries_the_artefacts()
    {
        string text = string.Join('\n', Lines);
        Assert.Matches(@"make -C native OUT=", text);
        Assert.Matches(@"dotnet publish src/Agent/Agent\.csproj", text);
        foreach (string package in new[] { "clang", "llvm", "libbpf-dev", "libxdp-dev", "libbpf1", "iproute2" })
            Assert.Matches($@"\b{Regex.Escape(package)}\b", text);
        var runtime = RuntimeStage();
        foreach (string artefact in new[] { "fp_steer.bpf.o", "libfpshim.so", "/out/bin" })
            Assert.Contains(runtime, l => l.TrimStart().StartsWith("COPY --from=", StringComparison.Ordinal) && l.Contains(artefact));
    }

    [Fact]
    public void The_runtime_stage_sets_a_user_or_says_why_root_and_lists_the_capabilities()
    {
        var runtime = RuntimeStage();
        var user = runtime.LastOrDefault(l => l.TrimStart().StartsWith("USER ", StringComparison.Ordinal));
        Assert.NotNull(user);
        bool root = Regex.IsMatch(user!, @"USER\s+(0|root)\b");
        Assert.True(!root || runtime.Any(l => l.TrimStart().StartsWith('#') && l.Contains("Why root")),
            "the runtime stage runs as root without a comment saying why");
        string comments = string.Join('\n', runtime.Where(l => l.TrimStart().StartsWith('#')));
        foreach (string capability in new[] { "CAP_NET_ADMIN", "CAP_BPF", "CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK" })
            Assert.Contains(capability, comments);
    }

    private static List<string> RuntimeStage()
    {
        var last = Stages().Last();
        return Lines.Skip(last.Line).ToList();
    }
}

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>
/// A manifest file that cannot be used: malformed YAML, or a Service/EndpointSlice missing a
/// required field or holding a value of the wrong shape. The message names the file, the
/// document and the path inside it, e.g.
/// <c>services.yaml doc 2: spec.ports[0].port: expected an integer 1-65535, got "http"</c>.
/// Thrown at start-up (it stops the agent); while running it is logged and counted instead.
/// </summary>
public sealed class ManifestException : Exception
{
    public ManifestException(string fileName, int document, string path, string problem, Exception? inner = null)
        : base(Format(fileName, document, path, problem), inner)
    {
        FileName = fileName;
        Document = document;
        Path = path;
        Problem = problem;
    }

    /// <summary>File name without directory (or the directory itself for directory-level errors).</summary>
    public string FileName { get; }

    /// <summary>1-based document number; 0 when the error concerns the whole file or directory.</summary>
    public int Document { get; }

    /// <summary>Path inside the document (<c>spec.ports[0].port</c>); empty when not known.</summary>
    public string Path { get; }

    /// <summary>What was wrong and what was expected, without the location.</summary>
    public string Problem { get; }

    private static string Format(string fileName, int document, string path, string problem)
    {
        string where = document > 0 ? $"{fileName} doc {document}" : fileName;
        return path.Length == 0 ? $"{where}: {problem}" : $"{where}: {path}: {problem}";
    }
}

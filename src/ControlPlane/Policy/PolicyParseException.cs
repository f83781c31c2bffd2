namespace FastPath.ControlPlane.Policy;

/// <summary>
/// A policy document that cannot be used. The message names the file, the document index and the
/// path inside the document, e.g.
/// <c>policy.yaml doc 1: spec.ingress[0].toPorts[0].ports[0].protocol: expected TCP, UDP or ANY, got "ICMP"</c>.
/// The caller keeps its last good policy set.
/// </summary>
public sealed class PolicyParseException : Exception
{
    public string File { get; }
    public int DocumentIndex { get; }

    /// <summary>Path inside the document (e.g. <c>spec.egress[0].toEndpoints</c>); empty for the document itself.</summary>
    public string DocumentPath { get; }

    public PolicyParseException(string file, int documentIndex, string path, string problem, Exception? inner = null)
        : base(path.Length == 0 ? $"{file} doc {documentIndex}: {problem}" : $"{file} doc {documentIndex}: {path}: {problem}", inner)
    {
        File = file;
        DocumentIndex = documentIndex;
        DocumentPath = path;
    }
}

namespace FastPath.ControlPlane.Kubernetes;

/// <summary>
/// Where an object came from: file name (no directory), 1-based document number inside the file
/// (documents are separated by <c>---</c>), and the item path when the document is a
/// <c>kind: List</c> (<c>items[3]</c>; empty otherwise). Errors and listings print it as
/// <c>services.yaml doc 2 items[3]</c>. Objects read from the API server have no file: document 0,
/// and the file name holds the object's API path (<c>apiserver:services/default/web</c>).
/// </summary>
public sealed record ManifestLocation(string FileName, int Document, string ItemPath = "")
{
    public override string ToString() =>
        Document == 0 ? FileName
        : ItemPath.Length == 0 ? $"{FileName} doc {Document}" : $"{FileName} doc {Document} {ItemPath}";
}

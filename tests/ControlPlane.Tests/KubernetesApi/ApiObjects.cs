using System.Text.Json.Nodes;

namespace FastPath.ControlPlane.Tests.KubernetesApi;

/// <summary>
/// API objects in the JSON shapes the API server returns (<c>kubectl get -o json</c>): server-set fields
/// (uid, creationTimestamp, type, ipFamilies, status, ...) included so the decoders see what a cluster sends.
/// </summary>
internal static class ApiObjects
{
    public static JsonObject Service(string ns, string name, string clusterIP, int port = 80, string portName = "http", bool global = false) =>
        JsonNode.Parse($$"""
        {
          "metadata": {
            "name": "{{name}}", "namespace": "{{ns}}", "uid": "{{Guid.NewGuid()}}", "creationTimestamp": "2025-01-01T00:00:00Z",
            "labels": { "app": "{{name}}" },
            "annotations": { {{(global ? "\"service.cilium.io/global\": \"true\"" : "")}} }
          },
          "spec": {
            "ports": [ { "name": "{{portName}}", "protocol": "TCP", "port": {{port}}, "targetPort": 8080 } ],
            "selector": { "app": "{{name}}" },
            "clusterIP": "{{clusterIP}}", "clusterIPs": [ "{{clusterIP}}" ],
            "type": "ClusterIP", "sessionAffinity": "None",
            "ipFamilies": [ "IPv4" ], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"
          },
          "status": { "loadBalancer": {} }
        }
        """)!.AsObject();

    public static JsonObject EndpointSlice(string ns, string name, string service, params string[] addresses)
    {
        var endpoints = new JsonArray();
        foreach (string address in addresses)
            endpoints.Add(JsonNode.Parse($$"""
            {
              "addresses": [ "{{address}}" ],
              "conditions": { "ready": true, "serving": true, "terminating": false },
              "nodeName": "node-1",
              "targetRef": { "kind": "Pod", "namespace": "{{ns}}", "name": "{{service}}-{{address.Replace('.', '-')}}", "uid": "{{Guid.NewGuid()}}" }
            }
            """));
        var slice = JsonNode.Parse($$"""
        {
          "metadata": {
            "name": "{{name}}", "namespace": "{{ns}}", "generateName": "{{service}}-",
            "labels": { "kubernetes.io/service-name": "{{service}}", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
            "ownerReferences": [ { "apiVersion": "v1", "kind": "Service", "name": "{{service}}", "uid": "{{Guid.NewGuid()}}", "controller": true, "blockOwnerDeletion": true } ]
          },
          "addressType": "IPv4",
          "ports": [ { "name": "http", "protocol": "TCP", "port": 8080 } ]
        }
        """)!.AsObject();
        slice["endpoints"] = endpoints;
        return slice;
    }

    public static JsonObject NetworkPolicy(string ns, string name, string app, int port) =>
        JsonNode.Parse($$"""
        {
          "metadata": { "name": "{{name}}", "namespace": "{{ns}}", "generation": 1 },
          "spec": {
            "endpointSelector": { "matchLabels": { "app": "{{app}}" } },
            "ingress": [ {
              "fromEndpoints": [ { "matchLabels": { "app": "client" } } ],
              "toPorts": [ { "ports": [ { "port": "{{port}}", "protocol": "TCP" } ] } ]
            } ]
          }
        }
        """)!.AsObject();

    public static JsonObject ClusterwidePolicy(string name) =>
        JsonNode.Parse($$"""
        {
          "metadata": { "name": "{{name}}", "generation": 1 },
          "spec": {
            "endpointSelector": { "matchLabels": { "app": "web" } },
            "ingress": [ { "fromEndpoints": [ { "matchLabels": { "app": "client" } } ] } ]
          }
        }
        """)!.AsObject();
}

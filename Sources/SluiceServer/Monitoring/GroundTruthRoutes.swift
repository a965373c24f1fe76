import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SluiceCore
import SluiceServing

/// `POST /endpoints/{name}/ground-truth`: the true labels of captured inferences, kept for the model-quality
/// monitor, which joins them with the capture by inference id.
///
/// The body is `{"labels": [{"inferenceId": "…", "label": 151}, …]}` (or the bare list); `inferenceId` is the
/// `x-sluice-inference-id` a serving answer carried, and `label` a number or class, or a list with one per row of a
/// batch request. The key (`x-api-key`) must be valid for the endpoint, as on the serving routes.
@MemberwiseInit
public struct GroundTruthRoutes: ServerRoutes {
    let store: any GroundTruthStoring
    let keyring: APIKeyring
    var clock: any WallClock = SystemWallClock()

    public func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/endpoints/{name}/ground-truth") { request, context in
            await receive(request, endpoint: context.parameters.get("name") ?? "")
        }
    }

    private func receive(_ request: Request, endpoint: String) async -> Response {
        do throws(ServingError) {
            _ = try keyring.authenticate(request.headers[values: .init("x-api-key")!].first, endpoint: endpoint)
            guard (try? store.endpointExists(endpoint)) == true else {
                throw ServingError(
                    .unknownEndpoint, "Endpoint '\(endpoint)' does not exist; list them with `sluice endpoints list`.")
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: RequestLimits.groundTruthBody)
            } catch {
                throw ServingError(
                    .payloadTooLarge,
                    "The ground truth is larger than \(RequestLimits.describe(RequestLimits.groundTruthBody)); send "
                        + "it in several requests.")
            }
            let labels = try Self.labels(Data(body.readableBytesView))
            let kept: Int
            do {
                kept = try store.recordGroundTruth(endpoint: endpoint, labels: labels, now: clock.now)
            } catch {
                throw ServingError(.internalFailure, "The ground truth could not be kept: \(error).")
            }
            let answer = JSONValue.object(["endpoint": .string(endpoint), "accepted": .int(kept)]).canonicalJSON
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: answer)))
        } catch {
            return SluiceServer.errorReply(error).response
        }
    }

    /// The labels of a request body, or an error naming the entry and field at fault.
    static func labels(_ body: Data) throws(ServingError) -> [GroundTruthLabel] {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw ServingError(
                .validation,
                "The body is not JSON; send {\"labels\": [{\"inferenceId\": \"…\", \"label\": 1.5}]} "
                    + "with Content-Type application/json.")
        }
        let entries: [JSONValue]
        if let list = value.array {
            entries = list
        } else if let list = value["labels"]?.array {
            entries = list
        } else {
            throw ServingError(
                .validation,
                "The body has no 'labels' list; send {\"labels\": [{\"inferenceId\": \"…\", \"label\": 1.5}]}.")
        }
        var labels: [GroundTruthLabel] = []
        for (index, entry) in entries.enumerated() {
            guard let id = entry["inferenceId"]?.string, !id.isEmpty else {
                throw ServingError(
                    .validation,
                    "labels[\(index)].inferenceId is missing or not a string; use the x-sluice-inference-id header "
                        + "of the prediction's answer.")
            }
            guard let label = entry["label"], label != .null, label.object == nil else {
                throw ServingError(
                    .validation,
                    "labels[\(index)].label (inference \(id)) is missing or not a value; send a number, a class, or "
                        + "a list with one per row of the request.")
            }
            labels.append(GroundTruthLabel(inferenceId: id, label: label))
        }
        return labels
    }
}

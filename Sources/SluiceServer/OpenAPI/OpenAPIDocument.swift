import Foundation
import SluiceCore
import SluiceServing

/// The OpenAPI 3.1 document of the server's JSON API, served at `GET /openapi.json`: the server's own routes
/// (health, metrics, serving, feature lookups) and the operations of each route group (`ServerRoutes.openAPIPaths`).
///
/// The serving paths are made from `ServingRouteTable`, the table the router and the event-loop handler answer from,
/// so a serving route cannot be added without appearing here. A test runs schemathesis against a live `sluice serve`
/// with this document: every operation is exercised and every answer must match it.
public enum OpenAPIDocument {
    /// The document for a server with `groups` beside its own routes.
    public static func document(groups: [any ServerRoutes]) -> JSONValue {
        var paths = servingPaths()
        for group in groups {
            for (path, item) in group.openAPIPaths {
                paths[path] = OpenAPI.merged(paths[path], item)
            }
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Sluice",
                "version": "1",
                "description": .string(
                    "The JSON API of `sluice serve`: model serving (SageMaker's runtime routes and W1's /stream and "
                        + "/batch), feature lookups, the execution API, approval decisions, health and metrics. "
                        + "Errors answer a JSON body with `ErrorCode` and `Message` naming what was wrong."),
            ],
            "paths": .object(paths),
            "components": [
                "schemas": ["Error": OpenAPI.errorSchema],
                "securitySchemes": [
                    "apiKey": ["type": "apiKey", "in": "header", "name": "x-api-key"]
                ],
            ],
        ]
    }

    /// The server's own paths.
    static func servingPaths() -> [String: JSONValue] {
        var paths: [String: JSONValue] = [
            "/ping": [
                "get": OpenAPI.operation(
                    "ping", "Liveness, as SageMaker's containers answer it.",
                    responses: ["200": OpenAPI.response("The server is up (no body).")])
            ],
            "/health": [
                "get": OpenAPI.operation(
                    "health", "Liveness for load balancers.",
                    responses: ["200": OpenAPI.response("The server is up (no body).")])
            ],
            "/metrics": [
                "get": OpenAPI.operation(
                    "metrics", "Request counts and latencies per endpoint and variant, in Prometheus' text format.",
                    responses: [
                        "200": OpenAPI.response(
                            "Prometheus text exposition format 0.0.4.", content: ["text/plain": OpenAPI.text])
                    ])
            ],
            "/openapi.json": [
                "get": OpenAPI.operation(
                    "openapi", "This document.",
                    responses: [
                        "200": OpenAPI.response(
                            "The OpenAPI 3.1 document.",
                            content: ["application/json": ["type": "object", "required": ["openapi", "paths"]]])
                    ])
            ],
        ]
        for entry in ServingRouteTable.entries {
            paths[entry.path] = ["post": servingOperation(entry)]
        }
        for (suffix, summary, result) in [
            ("predict-by-id", "Predicts from the latest features of the record the body names.", predictionSchema),
            ("features", "The latest feature map of the record the body names.", ["type": "object"]),
        ] as [(String, String, JSONValue)] {
            paths["/endpoints/{name}/{stage}/\(suffix)"] = [
                "post": OpenAPI.operation(
                    "post_endpoints_name_stage_" + suffix.replacingOccurrences(of: "-", with: "_"),
                    summary + " The endpoint must be deployed with `--features GROUP --id-field FIELD`.",
                    parameters: [endpointParameter, stageParameter, targetVariantParameter],
                    body: OpenAPI.body(
                        [
                            "application/json": [
                                "type": "object",
                                "description": "The record id in the deployment's id field, e.g. {\"user_id\": 7}.",
                            ]
                        ],
                        required: true),
                    responses: OpenAPI.errors(servingErrors).merging([
                        "200": OpenAPI.response(
                            "The answer.", content: ["application/json": result], headers: variantHeader)
                    ]) { _, new in new },
                    security: [["apiKey": []]])
            ]
        }
        return paths
    }

    /// The statuses a serving request can be refused with (all with the `Error` body).
    static let servingErrors: [String: String] = [
        "400": "The body cannot be read as the model's rows, or names an unknown variant.",
        "401": "No `x-api-key` where one is required.",
        "403": "The API key is unknown or revoked.",
        "404": "No endpoint or stage has this name, or no feature record has this id.",
        "408": "The body did not arrive within the request timeout.",
        "413": "The body is over the size limit.",
        "415": "The Content-Type is not one the endpoint accepts.",
        "429": "The key's rate limit or quota is used up (see `Retry-After`).",
        "431": "The header fields are over their size or count limit.",
    ]

    static let endpointParameter = OpenAPI.parameter("name", in: "path", "The endpoint.", schema: segment)
    static let stageParameter = OpenAPI.parameter(
        "stage", in: "path", "The stage, e.g. `production` or `staging`.", schema: segment)
    static let targetVariantParameter = OpenAPI.parameter(
        "X-Amzn-SageMaker-Target-Variant", in: "header", "Send the request to this variant instead of a weighted pick.",
        required: false)
    /// A path segment the server routes as one (no `/`).
    static let segment: JSONValue = ["type": "string", "pattern": "^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$"]
    static let variantHeader: [String: JSONValue] = [
        "x-Amzn-Invoked-Production-Variant": [
            "description": "The variant that answered.", "schema": ["type": "string"],
        ]
    ]
    static let predictionSchema: JSONValue = [
        "type": "object", "required": ["result"], "properties": ["result": ["type": "string"]],
    ]

    /// One serving route's operation: rows in (JSON or CSV), predictions out.
    static func servingOperation(_ entry: ServingRouteTable.Entry) -> JSONValue {
        var parameters: [JSONValue] = []
        for segment in entry.segments {
            switch segment {
            case .endpoint: parameters.append(endpointParameter)
            case .stage: parameters.append(stageParameter)
            case .literal: break
            }
        }
        parameters.append(targetVariantParameter)
        let number: JSONValue = ["type": "number"]
        let row: JSONValue = ["type": "array", "items": number]
        let summary: String
        let success: [String: JSONValue]
        var security: JSONValue = [["apiKey": []]]
        switch entry.shape {
        case .invocations:
            summary =
                "SageMaker's InvokeEndpoint: CSV rows in, one prediction per line out; JSON in, "
                + "`{\"predictions\": […]}` out. No key needed unless the server requires one."
            success = [
                "application/json": [
                    "type": "object", "required": ["predictions"],
                    "properties": ["predictions": ["type": "array", "items": ["anyOf": [number, row]]]],
                ],
                "text/csv": OpenAPI.text,
            ]
            security = [["apiKey": []], [:]]
        case .stream:
            summary = "One row in, its prediction out (a number, or a list when the model predicts several)."
            success = ["application/json": ["anyOf": [number, row]]]
        case .batch, .byID:
            summary = "Rows in, one list of predictions per row out."
            success = ["application/json": ["type": "array", "items": row]]
        }
        let stage = entry.namesStage ? "" : " Without a stage in the path: production."
        let endpoint =
            entry.segments.contains { if case .endpoint = $0 { true } else { false } }
            ? "" : " Without an endpoint in the path: the server's default endpoint."
        return OpenAPI.operation(
            "post"
                + entry.path.replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")
                .replacingOccurrences(of: "/", with: "_"),
            summary + endpoint + stage,
            parameters: parameters,
            body: OpenAPI.body(
                [
                    "application/json": [
                        "description": "`{\"x\": [[…], …]}`, `{\"instances\": …}`, `[[…], …]` or one row `[…]`."
                    ],
                    "text/csv": ["description": "One row per line, comma-separated, an optional header line."],
                ], required: false),
            responses: OpenAPI.errors(servingErrors).merging([
                "200": OpenAPI.response("The predictions.", content: success, headers: variantHeader)
            ]) { _, new in new },
            security: security)
    }
}

/// Small builders for OpenAPI objects.
public enum OpenAPI {
    /// A plain-text body.
    public static let text: JSONValue = ["schema": ["type": "string"]]

    /// The body every JSON error answers.
    public static let errorSchema: JSONValue = [
        "type": "object",
        "required": ["ErrorCode", "Message"],
        "properties": [
            "ErrorCode": ["type": "string", "description": "A stable, machine-readable reason."],
            "Message": ["type": "string", "description": "What was wrong and how to fix it."],
        ],
    ]

    /// An operation object.
    public static func operation(
        _ id: String, _ summary: String, parameters: [JSONValue] = [], body: JSONValue? = nil,
        responses: [String: JSONValue], security: JSONValue? = nil
    ) -> JSONValue {
        var operation: [String: JSONValue] = [
            "operationId": .string(id), "summary": .string(summary), "responses": .object(responses),
        ]
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let body { operation["requestBody"] = body }
        if let security { operation["security"] = security }
        return .object(operation)
    }

    /// A parameter object; path parameters are always required.
    public static func parameter(
        _ name: String, in location: String, _ description: String, schema: JSONValue = ["type": "string"],
        required: Bool = true
    ) -> JSONValue {
        [
            "name": .string(name), "in": .string(location), "description": .string(description),
            "required": .bool(location == "path" || required), "schema": schema,
        ]
    }

    /// A request body taking each media type of `content` (media type → schema).
    public static func body(_ content: [String: JSONValue], required: Bool) -> JSONValue {
        ["required": .bool(required), "content": .object(content.mapValues(media))]
    }

    /// A response object; `content` maps media types to schemas.
    public static func response(
        _ description: String, content: [String: JSONValue] = [:], headers: [String: JSONValue] = [:]
    ) -> JSONValue {
        var response: [String: JSONValue] = ["description": .string(description)]
        if !content.isEmpty { response["content"] = .object(content.mapValues(media)) }
        if !headers.isEmpty { response["headers"] = .object(headers) }
        return .object(response)
    }

    /// Responses with the JSON `Error` body, by status.
    public static func errors(_ descriptions: [String: String]) -> [String: JSONValue] {
        descriptions.mapValues { description in
            response(description, content: ["application/json": ["$ref": "#/components/schemas/Error"]])
        }
    }

    /// A media type object: `schema` wrapped, unless it is one already.
    static func media(_ schema: JSONValue) -> JSONValue {
        schema["schema"] != nil ? schema : ["schema": schema]
    }

    /// Two path items in one: the operations of both (the second wins on the same method).
    static func merged(_ first: JSONValue?, _ second: JSONValue) -> JSONValue {
        guard case .object(var item)? = first, case .object(let more) = second else { return second }
        for (method, operation) in more { item[method] = operation }
        return .object(item)
    }
}

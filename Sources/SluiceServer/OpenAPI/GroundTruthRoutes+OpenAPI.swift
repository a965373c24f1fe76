import SluiceCore

extension GroundTruthRoutes {
    public var openAPIPaths: [String: JSONValue] {
        let value: JSONValue = ["anyOf": [["type": "number"], ["type": "string"], ["type": "boolean"]]]
        let label: JSONValue = [
            "type": "object", "required": ["inferenceId", "label"],
            "properties": [
                "inferenceId": [
                    "type": "string", "minLength": 1,
                    "description": "The `x-sluice-inference-id` of the prediction's answer.",
                ],
                "label": [
                    "description": "The true value, or a list with one per row of a batch request.",
                    "anyOf": [value, ["type": "array", "items": value]],
                ],
            ],
        ]
        let labels: JSONValue = ["type": "array", "items": label]
        return [
            "/endpoints/{name}/ground-truth": [
                "post": OpenAPI.operation(
                    "postGroundTruth",
                    "The true labels of captured inferences, joined with the capture by the model-quality monitor. "
                        + "A label sent again for the same inference replaces the earlier one.",
                    parameters: [OpenAPIDocument.endpointParameter],
                    body: OpenAPI.body(
                        [
                            "application/json": [
                                "anyOf": [
                                    ["type": "object", "required": ["labels"], "properties": ["labels": labels]],
                                    labels,
                                ]
                            ]
                        ], required: true),
                    responses: OpenAPI.errors([
                        "400": "The body is not JSON, has no `labels` list, or an entry lacks its id or label.",
                        "401": "No `x-api-key`.",
                        "403": "The API key is unknown, revoked, or not valid for this endpoint.",
                        "404": "No endpoint has this name.",
                        "413": "The body is over 6 MB.",
                    ]).merging([
                        "200": OpenAPI.response(
                            "The labels are kept.",
                            content: [
                                "application/json": [
                                    "type": "object", "required": ["endpoint", "accepted"],
                                    "properties": [
                                        "endpoint": ["type": "string"], "accepted": ["type": "integer"],
                                    ],
                                ]
                            ])
                    ]) { _, new in new },
                    security: [["apiKey": []]])
            ]
        ]
    }
}

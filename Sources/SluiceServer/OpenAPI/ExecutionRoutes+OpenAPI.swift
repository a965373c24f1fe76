import SluiceCore

extension ExecutionRoutes {
    public var openAPIPaths: [String: JSONValue] {
        let errors = OpenAPI.errors([
            "401": "No `x-api-key`, and the server is bound beyond loopback.",
            "403": "The API key is unknown or revoked, or the pipeline lies outside the pipeline root.",
        ])
        let security: JSONValue = keyring == nil ? [[:]] : [["apiKey": []]]
        let submitted = OpenAPI.response(
            "The execution is queued.",
            content: [
                "application/json": [
                    "type": "object", "required": ["id", "status", "url"],
                    "properties": [
                        "id": ["type": "string"], "status": ["const": "queued"], "url": ["type": "string"],
                    ],
                ]
            ],
            headers: ["Location": ["description": "The execution's URL.", "schema": ["type": "string"]]])
        let invalid = OpenAPI.response(
            "The body is not JSON, a field is missing or of the wrong type, or the pipeline does not validate; "
                + "`Diagnostics` lists the pipeline's errors as `file:line:column: message`.",
            content: [
                "application/json": [
                    "allOf": [
                        ["$ref": "#/components/schemas/Error"],
                        ["properties": ["Diagnostics": ["type": "array", "items": ["type": "string"]]]],
                    ]
                ]
            ])
        return [
            "/api/executions": [
                "post": OpenAPI.operation(
                    "submitExecution", "Validates a pipeline file under the pipeline root and starts an execution.",
                    body: OpenAPI.body(
                        [
                            "application/json": [
                                "type": "object", "required": ["pipeline"],
                                "properties": [
                                    "pipeline": [
                                        "type": "string", "minLength": 1,
                                        "description": "The pipeline file, relative to the pipeline root.",
                                    ],
                                    "parameters": [
                                        "type": ["object", "null"],
                                        "description": "Values for the pipeline's parameters, by name.",
                                    ],
                                ],
                            ]
                        ], required: true),
                    responses: errors.merging([
                        "202": submitted, "400": invalid,
                        "413": OpenAPI.errors(["413": "The body is over the size limit."])["413"]!,
                        "415": OpenAPI.errors(["415": "The body is not sent as `application/json`."])["415"]!,
                    ]) { _, new in new },
                    security: security)
            ],
            "/api/executions/{id}": [
                "get": OpenAPI.operation(
                    "getExecution", "An execution's status, parameters and steps with their attempts.",
                    parameters: [OpenAPI.parameter("id", in: "path", "The execution id.")],
                    responses: errors.merging([
                        "200": OpenAPI.response(
                            "The execution.", content: ["application/json": Self.executionSchema]),
                        "404": OpenAPI.errors(["404": "No execution has this id."])["404"]!,
                    ]) { _, new in new },
                    security: security)
            ],
        ]
    }

    static let executionSchema: JSONValue = [
        "type": "object",
        "required": ["id", "pipeline", "status", "parameters", "createdAt", "steps"],
        "properties": [
            "id": ["type": "string"],
            "pipeline": ["type": "string"],
            "pipelineVersion": ["type": "string"],
            "status": ["type": "string"],
            "parameters": ["type": "object"],
            "createdAt": ["type": "string", "format": "date-time"],
            "startedAt": ["type": "string", "format": "date-time"],
            "finishedAt": ["type": "string", "format": "date-time"],
            "error": failureSchema,
            "steps": [
                "type": "array",
                "items": [
                    "type": "object", "required": ["name", "status", "attempt", "cacheHit", "attempts"],
                    "properties": [
                        "name": ["type": "string"], "status": ["type": "string"], "attempt": ["type": "integer"],
                        "cacheHit": ["type": "boolean"], "outputs": ["type": ["object", "null"]],
                        "error": failureSchema,
                        "attempts": [
                            "type": "array",
                            "items": [
                                "type": "object", "required": ["number", "status", "startedAt"],
                                "properties": [
                                    "number": ["type": "integer"], "status": ["type": "string"],
                                    "startedAt": ["type": "string"], "finishedAt": ["type": ["string", "null"]],
                                    "takeover": ["type": ["string", "null"]],
                                ],
                            ],
                        ],
                    ],
                ],
            ],
        ],
    ]

    static let failureSchema: JSONValue = [
        "type": "object", "required": ["error", "cause"],
        "properties": ["error": ["type": "string"], "cause": ["type": "string"]],
    ]
}

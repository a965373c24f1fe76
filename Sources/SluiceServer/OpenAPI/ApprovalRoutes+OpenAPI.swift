import SluiceCore

extension ApprovalRoutes {
    public var openAPIPaths: [String: JSONValue] {
        let token = OpenAPI.parameter("token", in: "path", "The approval's single-use token, from its link.")
        let html = ["text/html": OpenAPI.text]
        func plain(_ description: String) -> JSONValue {
            OpenAPI.response(description, content: ["text/plain": OpenAPI.text])
        }
        let gone = plain("The approval was already decided, or timed out; links work once.")
        let unknown = plain("No approval has this token.")
        return [
            "/approvals/{token}": [
                "get": OpenAPI.operation(
                    "getApproval",
                    "The confirmation page of a waiting Approval step, with its Approve and Reject forms. "
                        + "A GET never decides.",
                    parameters: [token],
                    responses: [
                        "200": OpenAPI.response("The confirmation page.", content: html),
                        "404": unknown, "410": gone,
                    ]),
                "post": OpenAPI.operation(
                    "decideApproval", "Approves or rejects the waiting step, once.",
                    parameters: [token],
                    body: OpenAPI.body(
                        [
                            "application/x-www-form-urlencoded": [
                                "type": "object", "required": ["decision"],
                                "properties": [
                                    "decision": ["type": "string", "enum": ["approve", "reject"]],
                                    "reason": ["type": "string", "description": "Why (shown in the execution)."],
                                ],
                            ]
                        ], required: true),
                    responses: [
                        "200": OpenAPI.response("The decision is recorded.", content: html),
                        "400": plain("Field `decision` is missing or is not approve or reject."),
                        "404": unknown, "410": gone,
                        "413": plain("The form is over 64 KB."),
                    ]),
            ],
            "/respond": [
                "get": OpenAPI.operation(
                    "respondToApproval",
                    "The links of Step Functions-style callback messages: the same confirmation page as "
                        + "/approvals/{token}, with the suggested decision.",
                    parameters: [
                        OpenAPI.parameter("token", in: "query", "The approval's token."),
                        OpenAPI.parameter(
                            "type", in: "query", "The suggested decision.",
                            schema: ["type": "string", "enum": ["success", "fail"]], required: false),
                    ],
                    responses: [
                        "200": OpenAPI.response("The confirmation page.", content: html),
                        "400": plain("The link has no token."),
                        "404": unknown, "410": gone,
                    ])
            ],
        ]
    }
}
